"""Audit pages (org-wide, per registry), streamed exports and W&B's `/admin/audit_logs` endpoint."""

import base64
import csv
import io
import json

import pytest
from django.db import connection
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.orgs.services import create_api_key
from apps.registries.services import star_registry, unstar_registry

PERSONAS = ["org_admin", "registry_admin", "member", "team_member", "viewer", "restricted_viewer", "outsider"]


def _get(client, world, persona, url, **kwargs):
    if persona != "anonymous":
        client.force_login(world[persona])
    return client.get(url, **kwargs)


@pytest.mark.parametrize(
    ("persona", "status"),
    [("org_admin", 200), ("registry_admin", 403), ("member", 403), ("team_member", 403), ("viewer", 403),
     ("restricted_viewer", 403), ("outsider", 404), ("anonymous", 302)],
)  # fmt: skip
def test_org_audit_permissions(client, world, persona, status):
    for name in ["org_audit", "org_audit_export"]:
        assert _get(client, world, persona, reverse(name, args=["acme"])).status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [("org_admin", 200), ("registry_admin", 200), ("member", 200), ("team_member", 200), ("viewer", 200),
     ("restricted_viewer", 200), ("outsider", 404), ("anonymous", 302)],
)  # fmt: skip
def test_registry_audit_permissions(client, world, persona, status):
    for name in ["registries:registry_audit", "registries:registry_audit_export"]:
        url = reverse(name, args=["acme", world.registry.slug])
        assert _get(client, world, persona, url).status_code == status


def test_registry_audit_lists_its_events_and_filters(client, world):
    world.link(aliases=["candidate"])
    client.force_login(world["viewer"])
    url = reverse("registries:registry_audit", args=["acme", world.registry.slug])
    body = client.get(url).content.decode()
    assert "collection:link" in body
    assert "alias:add" in body
    assert "role:create" in body
    filtered = client.get(url, {"action": "alias:add"}).content.decode()
    assert "alias:add" in filtered
    assert "<code>collection:link</code>" not in filtered
    fragment = client.get(url, {"action": "collection:"}, headers={"HX-Request": "true"})
    assert 'id="audit-events"' in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert "HX-Request" in fragment["Vary"]


def test_registry_audit_query_count_is_constant(client, world, django_assert_num_queries):
    client.force_login(world["viewer"])
    url = reverse("registries:registry_audit", args=["acme", world.registry.slug])
    client.get(url)  # warm per-process caches (content types, permissions)
    # session, user, registry (with starred flag), the viewer's permissions on it, events page, the shell's
    # organizations
    with django_assert_num_queries(6):
        client.get(url)
    for i in range(10):
        world.link(version=world.version(content=str(i).encode()))
    with django_assert_num_queries(6):
        client.get(url)


def test_audit_page_keyset_pagination(client, world):
    for _ in range(30):
        star_registry(actor=world["viewer"], registry=world.registry)
        unstar_registry(actor=world["viewer"], registry=world.registry)
    client.force_login(world["org_admin"])
    url = reverse("org_audit", args=["acme"])
    first = client.get(url)
    assert len(first.context["audit_events"]) == 50
    second = client.get(url, {"before": first.context["audit_next"]})
    ids = [e.id for e in first.context["audit_events"]] + [e.id for e in second.context["audit_events"]]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == len(ids)


def test_exports_stream_csv_and_ndjson(client, world):
    world.link()
    client.force_login(world["org_admin"])
    url = reverse("org_audit_export", args=["acme"])
    response = client.get(url, {"format": "csv", "action": "collection:link"})
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["action"] for r in rows] == ["collection:link"]
    assert json.loads(rows[0]["data"])["version"] == "v0"
    response = client.get(url, {"format": "ndjson"})
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(lines) == AuditEvent.objects.filter(org=world.org).count()
    assert {"registry:create", "collection:link"} <= {line["action"] for line in lines}


def _basic(key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()}


def test_wandb_audit_logs_endpoint_pages_with_an_api_key(client, world):
    world.link(aliases=["candidate"])
    _, key = create_api_key(actor=world["org_admin"], user=world["org_admin"], name="audit")
    url = reverse("audit_logs")
    response = client.get(url, {"numDays": 1, "limit": 5}, headers=_basic(key))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"audit_logs", "range_start_time", "range_end_time", "count", "next_cursor"}
    assert body["count"] == 5
    entry = body["audit_logs"][0]
    assert {"timestamp", "action", "actor_email", "actor_ip", "entity_name", "artifact_qualified_name"} <= set(entry)
    assert entry["entity_name"] == "acme"
    rest = client.get(url, {"numDays": 1, "limit": 20000, "cursor": body["next_cursor"]}, headers=_basic(key)).json()
    total = AuditEvent.objects.filter(org=world.org).count()
    assert body["count"] + rest["count"] == total
    assert rest["next_cursor"] is None
    anonymous = client.get(url, {"limit": 1, "anonymize": "true"}, headers={"Authorization": f"Bearer {key}"}).json()
    assert anonymous["audit_logs"][0]["actor_email"] is None
    assert anonymous["audit_logs"][0]["actor_ip"] is None


def test_wandb_audit_logs_streams_ndjson_without_limit(client, world):
    client.force_login(world["org_admin"])
    response = client.get(reverse("audit_logs"), {"startDate": "2000-01-01", "endDate": "2100-01-01"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == AuditEvent.objects.filter(org=world.org).count()
    assert json.loads(lines[-1])["action"] == Action.ORG_CREATE


@pytest.mark.parametrize(
    ("params", "status"),
    [({"limit": 20001}, 400), ({"limit": 0}, 400), ({"numDays": "x"}, 400), ({"startDate": "2026-13-01"}, 400),
     ({"startDate": "2026-02-01", "endDate": "2026-01-01"}, 400)],
)  # fmt: skip
def test_wandb_audit_logs_bad_parameters(client, world, params, status):
    client.force_login(world["org_admin"])
    response = client.get(reverse("audit_logs"), params)
    assert response.status_code == status
    assert "detail" in response.json()


def test_wandb_audit_logs_is_for_org_admins_only(client, world):
    url = reverse("audit_logs")
    assert client.get(url).status_code == 401
    assert client.get(url, headers=_basic("reg-" + "x" * 40)).status_code == 401
    _, key = create_api_key(actor=world["member"], user=world["member"])
    assert client.get(url, headers=_basic(key)).status_code == 403
    # The outsider administers globex: they see only globex's events.
    _, key = create_api_key(actor=world["outsider"], user=world["outsider"])
    body = client.get(url, {"limit": 100}, headers=_basic(key)).json()
    assert {entry["entity_name"] for entry in body["audit_logs"]} == {"globex"}


def test_user_menu_links_the_org_audit_log_for_org_admins_only(client, world):
    url = reverse("org_audit", args=["acme"])
    client.force_login(world["org_admin"])
    assert url in client.get(reverse("api_keys")).content.decode()
    client.force_login(world["registry_admin"])
    assert url not in client.get(reverse("api_keys")).content.decode()


@pytest.mark.django_db
def test_a_registry_audit_page_reads_an_index_in_its_order():
    # Issue 17: the page reads a registry's events newest first by id; with only the
    # (registry_pk, created_at) index, the database sorted all of the registry's events per page.

    sql, params = AuditEvent.objects.for_registry(1).order_by("-id")[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "audit_registry_id_idx" in plan and "TEMP B-TREE" not in plan
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'audit_registry_id_idx'")
            # Ascending, read backwards; events about no registry are not in it (audit/0015).
            assert cursor.fetchone()[0].endswith("(registry_pk, id) WHERE (registry_pk IS NOT NULL)")
