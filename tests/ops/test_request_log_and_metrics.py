"""Every request: an id (the caller's when sane) returned as X-Request-ID and stored on the audit events it
writes, one JSON log line (request id, user, status, duration), and its duration in /metrics."""

import json
import logging

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from apps.audit.models import Action, AuditEvent
from apps.automations.tasks import deliver_run
from apps.ops.services import beat
from apps.orgs.services import create_api_key
from lib.request_log import JsonFormatter

pytestmark = pytest.mark.django_db


def _star(client, world, starred="1", **headers):
    url = reverse("registries:registry_star", args=[world.org.slug, world.registry.slug])
    return client.post(url, {"starred": starred}, headers=headers)


def test_a_request_gets_an_id_returned_as_a_header_and_stored_on_its_audit_event(login, world):
    client = login("member")
    response = _star(client, world)
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert AuditEvent.objects.get(action=Action.REGISTRY_STAR).request_id == request_id
    assert _star(client, world, "0")["X-Request-ID"] != request_id  # one per request


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("3f2c9a6e-1b7d-4c1e-9a8f-2d6b0e4c7a91", True),
        ("lb-1.req:42", True),
        ("has space", False),
        ("new\nline", False),
        ("x" * 129, False),
        ("-starts-with-dash", False),
    ],
)
def test_a_sane_incoming_request_id_is_kept_and_any_other_replaced(client, incoming, kept):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert (response["X-Request-ID"] == incoming) is kept
    assert len(response["X-Request-ID"]) == (len(incoming) if kept else 32)


def test_api_calls_carry_the_request_id_into_the_audit_log(client, world):
    key = create_api_key(actor=world["member"], user=world["member"], name="laptop")[1]
    response = client.post(
        "/api/v1/collections",
        {"registry": f"acme/{world.registry.name}", "name": "from-api", "type": "model"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "X-Request-ID": "ci-run-7"},
    )
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action=Action.COLLECTION_CREATE, target_repr__contains="from-api")
    assert (event.request_id, event.actor_detail) == ("ci-run-7", "api-key:laptop")


def test_one_json_line_per_request_with_id_user_status_and_duration(login, world, caplog):
    client = login("member")
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        response = client.get(reverse("collections:landing", args=["acme"]) + "?q=secret-signature")
    [record] = [r for r in caplog.records if r.name == "registry.requests"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == response["X-Request-ID"]
    assert (line["method"], line["path"], line["status"], line["user"]) == (
        "GET",
        "/orgs/acme/registry/",
        200,
        "member",
    )
    assert line["view"] == "collections:landing"
    assert 0 < line["duration_ms"] < 10_000
    assert line["level"] == "INFO"
    assert "secret-signature" not in json.dumps(line)  # query strings (signed URLs) stay out of the log
    assert "\n" not in JsonFormatter().format(record)


def test_other_log_lines_in_a_request_carry_its_id(client, caplog, monkeypatch):
    seen = []
    monkeypatch.setattr("apps.ops.views._database", lambda: seen.append(JsonFormatter().format(_warning())) or True)
    response = client.get("/readyz")
    assert json.loads(seen[0])["request_id"] == response["X-Request-ID"]


def _warning() -> logging.LogRecord:
    return logging.LogRecord("apps.ops", logging.WARNING, __file__, 1, "inside a request", None, None)


def test_behind_a_proxy_the_client_address_is_the_proxys_last_forwarded_hop(login, world, settings):
    settings.BEHIND_PROXY = True
    client = login("member")
    _star(client, world, **{"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
    assert AuditEvent.objects.get(action=Action.REGISTRY_STAR).actor_ip == "198.51.100.7"
    settings.BEHIND_PROXY = False
    _star(
        client, world, "0", **{"X-Forwarded-For": "203.0.113.9"}
    )  # not behind a proxy: the header is the client's word
    assert AuditEvent.objects.get(action=Action.REGISTRY_UNSTAR).actor_ip == "127.0.0.1"


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_metrics_show_request_latency_queue_depth_failures_and_workers(client, settings, django_assert_max_num_queries):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    for run_id in range(3):
        deliver_run.enqueue(run_id)
    failed = deliver_run.enqueue(99)
    row = DBTaskResult.objects.get(id=failed.id)
    row.claim("w1")
    row.set_failed(RuntimeError("boom"))
    beat(worker_id="w1")
    client.get("/healthz")
    with django_assert_max_num_queries(5):
        response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert (
        'registry_http_request_duration_seconds_bucket{le="0.005",method="GET",status="200",view="ops:healthz"}' in text
    )
    assert 'registry_task_queue_depth{queue="default"} 3.0' in text
    assert 'registry_task_failures_total{task="apps.automations.tasks.deliver_run"} 1.0' in text
    assert "registry_task_workers_alive 1.0" in text
    assert "registry_automation_deliveries_failed_total 0.0" in text
