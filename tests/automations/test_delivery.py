"""Events fire automations; runs are delivered to a real local HTTP receiver, signed, retried, throttled."""

import base64
import hashlib
import hmac

import pytest
from django.core.management import call_command
from django.db import transaction

from apps.audit.models import Action, AuditEvent
from apps.automations import services
from apps.automations.models import AutomationRun, EventType, RunStatus
from apps.collections import services as collections


def signature(body: bytes, secret: str = "s3cr3t-signing") -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def version(world, **metadata):
    return world.version(metadata={"accuracy": 0.93, "framework": 'torch "2"', **metadata})


def test_link_delivers_one_signed_request_with_the_event_values(
    world, receiver, make_automation, django_capture_on_commit_callbacks
):
    automation = make_automation(EventType.LINK_ARTIFACT)
    with django_capture_on_commit_callbacks(execute=True):
        link = world.link(version=version(world))

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["X-Wandb-Signature"] == signature(request.body)
    assert request.headers["X-Registry-Signature"] == signature(request.body)
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {
        "event_type": "LINK_ARTIFACT",
        "author": "org_admin",
        "alias": "",
        "version": f"acme/wandb-registry-Golden Models/classifier:v{link.index}",
        "index": link.index,
        "collection": "classifier",
        "accuracy": 0.93,
        "framework": 'torch "2"',
        "entity": "acme",
        "project": "detector",
        "automation": automation.name,
        "token": "tok-123",
        "missing": "",
    }
    run = AutomationRun.objects.get()
    assert run.status == RunStatus.FINISHED
    assert run.attempts == 1
    assert run.response_status == 200
    assert run.response_body == '{"ok": true}'
    assert "tok-123" not in run.payload  # secrets are masked in the stored payload
    assert run.event.action == "collection:link"


def test_matching_alias_fires_once_and_other_aliases_do_not(
    world, receiver, make_automation, django_capture_on_commit_callbacks
):
    make_automation(EventType.ADD_ARTIFACT_ALIAS, alias_regex="^prod")
    link = world.link(version=version(world))
    with django_capture_on_commit_callbacks(execute=True):
        collections.add_alias(actor=world["member"], link=link, alias="staging")
    assert receiver.requests == []
    with django_capture_on_commit_callbacks(execute=True):
        collections.add_alias(actor=world["org_admin"], link=link, alias="production")

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["X-Wandb-Signature"] == signature(request.body)
    assert request.json["event_type"] == "ADD_ARTIFACT_ALIAS"
    assert request.json["alias"] == "production"
    assert request.json["version"] == f"acme/wandb-registry-Golden Models/classifier:v{link.index}"
    assert request.json["accuracy"] == 0.93
    assert AutomationRun.objects.get().status == RunStatus.FINISHED


def test_link_with_aliases_fires_link_and_alias_automations(
    world, receiver, make_automation, django_capture_on_commit_callbacks
):
    make_automation(EventType.LINK_ARTIFACT)
    make_automation(EventType.ADD_ARTIFACT_ALIAS, alias_regex="^candidate$")
    with django_capture_on_commit_callbacks(execute=True):
        world.link(version=version(world), aliases=["candidate"])
    assert sorted(r.json["event_type"] for r in receiver.requests) == ["ADD_ARTIFACT_ALIAS", "LINK_ARTIFACT"]


def test_collection_scope_and_disabled_automations_do_not_fire_elsewhere(
    world, receiver, make_automation, django_capture_on_commit_callbacks
):
    world.link(version=version(world), collection="other")
    scoped = make_automation(EventType.LINK_ARTIFACT, name="only other", collection=world.registry.collections.get())
    off = make_automation(EventType.LINK_ARTIFACT, name="off")
    services.set_automation_enabled(actor=world["member"], automation=off, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        world.link(version=version(world, n=1), collection="classifier")
    assert receiver.requests == []
    with django_capture_on_commit_callbacks(execute=True):
        world.link(version=version(world, n=2), collection="other")
    assert len(receiver.requests) == 1
    assert AutomationRun.objects.get().automation == scoped


@pytest.mark.parametrize(
    ("event_type", "action", "expected"),
    [
        (EventType.UNLINK_ARTIFACT, lambda w, link: collections.unlink_version(actor=w["member"], link=link), {}),
        (
            EventType.ADD_ARTIFACT_TAG,
            lambda w, link: collections.add_version_tag(actor=w["member"], link=link, tag="golden"),
            {"missing": "golden"},
        ),
        (
            EventType.ADD_COLLECTION_TAG,
            lambda w, link: collections.add_collection_tag(actor=w["member"], collection=link.collection, tag="golden"),
            {"missing": "golden", "version": "", "index": ""},
        ),
    ],
)
def test_other_events_fire_their_automations(
    world, receiver, make_automation, django_capture_on_commit_callbacks, event_type, action, expected
):
    make_automation(event_type)
    link = world.link(version=version(world))
    with django_capture_on_commit_callbacks(execute=True):
        action(world, link)
    assert len(receiver.requests) == 1
    payload = receiver.requests[0].json
    assert payload["event_type"] == event_type
    assert payload["author"] == "member"
    assert payload["collection"] == "classifier"
    for key, value in expected.items():
        assert payload[key] == value


def test_failing_receiver_is_retried_then_marked_failed(
    world, receiver, make_automation, django_capture_on_commit_callbacks, settings
):
    settings.AUTOMATION_MAX_ATTEMPTS = 3
    receiver.status = 500
    receiver.reply = b"boom"
    make_automation(EventType.LINK_ARTIFACT)
    with django_capture_on_commit_callbacks(execute=True):
        world.link(version=version(world))
    assert len(receiver.requests) == 3
    run = AutomationRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert run.attempts == 3
    assert run.response_status == 500
    assert run.response_body == "boom"
    assert "HTTP 500" in run.error
    assert "failed after 3 attempts" in run.error
    assert run.finished_at is not None


def test_client_errors_are_not_retried(world, receiver, make_automation, django_capture_on_commit_callbacks):
    receiver.status = 404
    make_automation(EventType.LINK_ARTIFACT)
    with django_capture_on_commit_callbacks(execute=True):
        world.link(version=version(world))
    assert len(receiver.requests) == 1
    assert AutomationRun.objects.get().status == RunStatus.FAILED


def test_unreachable_receiver_fails_with_the_network_error(
    world, receiver, make_automation, django_capture_on_commit_callbacks, settings
):
    settings.AUTOMATION_MAX_ATTEMPTS = 2
    automation = make_automation(EventType.LINK_ARTIFACT)
    automation.webhook.url = "http://127.0.0.1:9/closed"  # discard port: connection refused
    automation.webhook.save()
    with django_capture_on_commit_callbacks(execute=True):
        world.link(version=version(world))
    run = AutomationRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert run.attempts == 2
    assert run.response_status is None
    assert "ConnectionRefusedError" in run.error


def test_replay_creates_a_new_run_that_is_delivered(
    world, receiver, make_automation, django_capture_on_commit_callbacks
):
    receiver.status = 500
    make_automation(EventType.LINK_ARTIFACT)
    with django_capture_on_commit_callbacks(execute=True):
        world.link(version=version(world))
    failed = AutomationRun.objects.get()
    assert failed.status == RunStatus.FAILED
    receiver.status = 200
    receiver.requests.clear()
    with django_capture_on_commit_callbacks(execute=True):
        replay = services.replay_run(actor=world["member"], run=failed)
    replay.refresh_from_db()
    assert replay.pk != failed.pk
    assert replay.replay_of == failed
    assert replay.status == RunStatus.FINISHED
    assert replay.event_id == failed.event_id
    assert len(receiver.requests) == 1
    assert receiver.requests[0].json["event_type"] == "LINK_ARTIFACT"
    failed.refresh_from_db()
    assert failed.status == RunStatus.FAILED


def test_rate_limit_skips_runs_beyond_the_limit(world, receiver, make_automation, django_capture_on_commit_callbacks):
    make_automation(EventType.LINK_ARTIFACT, rate_limit_per_minute=2)
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            world.link(version=version(world, n=n))
    statuses = list(AutomationRun.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [RunStatus.FINISHED, RunStatus.FINISHED, RunStatus.SKIPPED]
    assert len(receiver.requests) == 2
    assert "Rate limit" in AutomationRun.objects.order_by("id").last().error


def test_cooldown_skips_runs_soon_after_one_fired(world, receiver, make_automation, django_capture_on_commit_callbacks):
    make_automation(EventType.LINK_ARTIFACT, cooldown_seconds=300)
    for n in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            world.link(version=version(world, n=n))
    statuses = list(AutomationRun.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [RunStatus.FINISHED, RunStatus.SKIPPED]
    assert len(receiver.requests) == 1
    assert "Cooldown" in AutomationRun.objects.order_by("id").last().error


def test_nothing_is_queued_when_the_change_rolls_back(
    world, receiver, make_automation, django_capture_on_commit_callbacks
):
    make_automation(EventType.LINK_ARTIFACT)
    v = version(world)

    def link_then_fail():
        with transaction.atomic():
            world.link(version=v)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        link_then_fail()
    assert AutomationRun.objects.count() == 0
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_db_worker_delivers_queued_runs_and_retries(world, receiver, make_automation, settings):
    """The real path: the database task backend, and `manage.py db_worker` picking the tasks up."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.AUTOMATION_MAX_ATTEMPTS = 2
    make_automation(EventType.LINK_ARTIFACT)
    receiver.status = 503
    world.link(version=version(world))  # commits: the subscriber creates the run and queues a task row
    run = AutomationRun.objects.get()
    assert run.status == RunStatus.PENDING
    assert receiver.requests == []

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.attempts == 2
    assert len(receiver.requests) == 2

    receiver.status = 200
    services.replay_run(actor=world["member"], run=run)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)
    replay = AutomationRun.objects.get(replay_of=run)
    assert replay.status == RunStatus.FINISHED
    assert receiver.requests[-1].headers["X-Wandb-Signature"] == signature(receiver.requests[-1].body)


def test_events_no_automation_listens_to_cost_one_query_and_others_none(world, django_assert_num_queries):
    event = AuditEvent(
        action=Action.COLLECTION_LINK,
        org=world.org,
        registry_pk=world.registry.pk,
        collection_pk=1,
        version_pk=1,
        data={},
    )
    # One query for every scope: the registry's and collection's, the team's (by the version's project), the org's.
    with django_assert_num_queries(1):
        assert services.queue_runs_for_event(event) == []
    event.action = Action.REGISTRY_STAR
    with django_assert_num_queries(0):
        assert services.queue_runs_for_event(event) == []
