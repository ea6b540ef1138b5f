"""/healthz and /readyz: no login, no HTTPS redirect, nothing revealed but each check's name and result."""

import datetime

import pytest
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from apps.automations.tasks import deliver_run
from apps.ops import views
from apps.ops.models import WorkerHeartbeat
from apps.ops.services import beat, forget_worker, requeue_orphaned_tasks

pytestmark = pytest.mark.django_db
READY = {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "storage": "ok", "worker": "ok"}}


def test_healthz_answers_anyone(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ready_with_a_live_worker(client):
    beat(worker_id="w1")
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, READY)


def test_readyz_fails_without_a_live_worker_unless_none_is_required(client, settings):
    response = client.get("/readyz")
    assert (response.status_code, response.json()["checks"]["worker"]) == (503, "fail")
    # A worker last heard from longer ago than WORKER_STALE_SECONDS is dead.
    WorkerHeartbeat.objects.create(
        worker_id="old", host="h", pid=1, last_seen=timezone.now() - datetime.timedelta(minutes=5)
    )
    assert client.get("/readyz").status_code == 503
    settings.READYZ_REQUIRES_WORKER = False
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_when_the_blob_store_is_missing_and_says_only_that(client, settings, tmp_path):
    beat(worker_id="w1")
    settings.ARTIFACT_STORAGE_URL = f"file://{tmp_path}/unmounted/volume/blobs"  # as when a volume is not mounted
    views.get_store.cache_clear()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {**READY, "status": "fail", "checks": {**READY["checks"], "storage": "fail"}}


def test_readyz_fails_while_a_migration_is_not_applied(client, monkeypatch):
    beat(worker_id="w1")
    monkeypatch.setattr(views, "_migrated", False)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("ops", "0002_next")])
    assert client.get("/readyz").json()["checks"]["migrations"] == "fail"


def test_probes_are_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    beat(worker_id="w1")
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/login/").status_code == 301


def test_probes_answer_head_and_refuse_other_methods(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def _running(worker_id: str, started_ago: float) -> DBTaskResult:
    result = deliver_run.enqueue(1)
    row = DBTaskResult.objects.get(id=result.id)
    row.claim(worker_id)
    DBTaskResult.objects.filter(id=row.id).update(started_at=timezone.now() - datetime.timedelta(seconds=started_ago))
    return row


def test_tasks_held_by_a_silent_worker_go_back_to_the_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    beat(worker_id="alive")
    WorkerHeartbeat.objects.create(
        worker_id="dead", host="h", pid=1, last_seen=timezone.now() - datetime.timedelta(minutes=5)
    )
    orphan = _running("dead", started_ago=120)
    unknown = _running("never-beat", started_ago=120)
    busy = _running("alive", started_ago=120)  # a long task of a live worker
    fresh = _running("dead", started_ago=1)  # claimed a moment ago: its worker may not have beaten yet
    requeued = requeue_orphaned_tasks(stale_after=60)
    assert sorted(requeued) == sorted([str(orphan.id), str(unknown.id)])
    status = dict(DBTaskResult.objects.values_list("id", "status"))
    assert status[orphan.id] == status[unknown.id] == TaskResultStatus.READY
    assert status[busy.id] == status[fresh.id] == TaskResultStatus.RUNNING
    assert requeue_orphaned_tasks(stale_after=60) == []  # nothing twice


def test_a_worker_that_stops_cleanly_forgets_its_heartbeat_and_day_old_ones_are_dropped():
    beat(worker_id="w1")
    beat(worker_id="w1")  # one row per worker, refreshed
    WorkerHeartbeat.objects.create(
        worker_id="gone", host="h", pid=1, last_seen=timezone.now() - datetime.timedelta(days=2)
    )
    assert WorkerHeartbeat.objects.count() == 2
    requeue_orphaned_tasks(stale_after=60)
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["w1"]
    forget_worker(worker_id="w1")
    assert not WorkerHeartbeat.objects.exists()
