"""Nothing left behind: stale pending versions, unreferenced blobs, orphan bytes and upload temp files are
removed by `manage.py cleanup_storage` (and the worker's hourly task), audited, and never anything in use."""

import datetime
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from apps.artifacts import services
from apps.artifacts.models import ArtifactSequence, ArtifactVersion, Blob, ManifestEntry
from apps.artifacts.storage import STALE_TEMP_AGE, FileSystemStore, get_store
from apps.artifacts.tasks import CLEANUP_EVERY, cleanup_storage_task
from apps.audit.models import Action, AuditEvent
from apps.orgs.permissions import SYSTEM_ACTOR
from tests.artifacts import cleanup_race

DAY = datetime.timedelta(hours=24)


def age(model, pk, by: datetime.timedelta) -> None:
    model.objects.filter(pk=pk).update(created_at=timezone.now() - by)


def age_file(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def pending(world, name: str, content: bytes, upload: bool = True) -> ArtifactVersion:
    """A version created (and its bytes uploaded), never committed: an interrupted upload."""
    if upload:
        services.upload_blob(actor=world["member"], stream=io.BytesIO(content))
    sha = services.hashlib.sha256(content).hexdigest()
    return services.create_version(
        actor=world["member"],
        project=world.project,
        name=name,
        type="dataset",
        files=[{"path": "part.bin", "sha256": sha, "size": len(content)}],
    )


def cleanup(*args: str) -> str:
    out = io.StringIO()
    call_command("cleanup_storage", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Every row the cleanup could touch, to show what else stayed as it was."""
    return {
        "versions": set(ArtifactVersion.objects.values_list("pk", "state", "index")),
        "sequences": set(ArtifactSequence.objects.values_list("pk", "next_index")),
        "entries": set(ManifestEntry.objects.values_list("pk", flat=True)),
        "blobs": set(Blob.objects.values_list("pk", flat=True)),
        "events": set(AuditEvent.objects.values_list("pk", flat=True)),
    }


# --- temp files of interrupted uploads ---------------------------------------------------------


def test_first_use_of_the_store_removes_idle_temp_files_and_keeps_live_ones(settings, tmp_path):
    root = tmp_path / "shared-blobs"
    root.mkdir()
    (root / ".upload-dead").write_bytes(b"x" * 10)
    age_file(root / ".upload-dead", STALE_TEMP_AGE + 60)  # a server died mid-upload an hour ago
    (root / ".upload-live").write_bytes(b"y")  # another process is writing this one now
    (root / ".upload-quiet").write_bytes(b"z")
    age_file(root / ".upload-quiet", STALE_TEMP_AGE - 60)  # quiet for under an hour: still kept
    (root / "keep.txt").write_bytes(b"not ours")
    age_file(root / "keep.txt", 10 * STALE_TEMP_AGE)
    settings.ARTIFACT_STORAGE_URL = f"file://{root}"
    get_store.cache_clear()

    assert isinstance(get_store(), FileSystemStore)

    assert sorted(p.name for p in root.iterdir()) == [".upload-live", ".upload-quiet", "keep.txt"]


def test_cleanup_command_removes_temp_files_by_age_and_audits_a_summary(db):
    store = get_store()
    store.root.mkdir(parents=True)
    old, fresh = store.root / ".upload-old", store.root / ".upload-fresh"
    old.write_bytes(b"a" * 100)
    fresh.write_bytes(b"b")
    age_file(old, 2 * 3600)
    age_file(fresh, 20 * 60)

    out = cleanup("--older-than", "0.5")  # temp files: idle for the shorter of 1 h and --older-than

    assert not old.exists() and fresh.exists()
    assert "Removed temp file .upload-old (100 bytes)" in out
    event = AuditEvent.objects.get(action=Action.STORAGE_CLEANUP)
    assert event.data == {"removed": {"temp file": 1}, "bytes": 100, "names": [".upload-old"]}
    assert (event.actor, event.actor_detail, event.org) == (None, "system:cleanup_storage", None)


# --- pending versions --------------------------------------------------------------------------


def test_pending_versions_older_than_the_threshold_are_removed_with_an_audit_event_each(world):
    committed = world.version(name="kept", content=b"committed bytes")
    stale = pending(world, "abandoned", b"abandoned bytes")
    second = pending(world, "abandoned-too", b"more abandoned bytes", upload=False)
    fresh = pending(world, "in-flight", b"in flight bytes")
    age(ArtifactVersion, stale.pk, DAY + datetime.timedelta(minutes=1))
    age(ArtifactVersion, second.pk, 3 * DAY)
    age(ArtifactVersion, committed.pk, 30 * DAY)  # committed versions are never removed, however old
    before = snapshot()
    abandoned_entries = set(ManifestEntry.objects.filter(version__in=[stale, second]).values_list("pk", flat=True))

    out = cleanup()

    assert "Removed pending version vision/detector/abandoned:pending" in out
    assert not ArtifactVersion.objects.filter(pk__in=[stale.pk, second.pk]).exists()
    assert not ManifestEntry.objects.filter(version__in=[stale.pk, second.pk]).exists()
    events = AuditEvent.objects.exclude(pk__in=before["events"]).order_by("version_pk")
    assert [(e.action, e.version_pk, e.org_id, e.actor_id) for e in events] == [
        (Action.ARTIFACT_DELETE_PENDING, stale.pk, world.org.pk, None),
        (Action.ARTIFACT_DELETE_PENDING, second.pk, world.org.pk, None),
    ]
    assert events[0].target_repr == "vision/detector/abandoned:pending"
    assert events[0].data["files"] == 1 and events[0].data["name"] == "abandoned"
    assert events[0].actor_detail == "system:cleanup_storage"
    assert "abandoned:pending, never committed" in events[0].describe()
    # Nothing else changed: the committed and the fresh version, every sequence, every blob (the
    # abandoned version's blob is fresh, so it waits for a later run).
    after = snapshot()
    assert after["versions"] == before["versions"] - {(stale.pk, "pending", None), (second.pk, "pending", None)}
    assert (fresh.pk, "pending", None) in after["versions"]
    assert after["sequences"] == before["sequences"]
    assert after["blobs"] == before["blobs"]
    assert after["entries"] == before["entries"] - abandoned_entries and len(abandoned_entries) == 2


def test_dry_run_lists_what_would_go_and_changes_nothing(world):
    stale = pending(world, "abandoned", b"abandoned bytes")
    age(ArtifactVersion, stale.pk, 2 * DAY)
    age(Blob, services.hashlib.sha256(b"abandoned bytes").hexdigest(), 2 * DAY)
    before = snapshot()

    out = cleanup("--dry-run")

    assert "Would remove pending version vision/detector/abandoned:pending" in out
    assert snapshot() == before


def test_committing_a_version_the_cleanup_removed_is_refused_clearly(world):
    stale = pending(world, "late", b"late bytes")
    age(ArtifactVersion, stale.pk, 2 * DAY)
    services.delete_pending_versions(actor=SYSTEM_ACTOR)
    with pytest.raises(ValidationError, match="never committed and has been removed"):
        services.commit_version(actor=world["member"], version=stale)


@pytest.mark.parametrize(
    "service",
    ["cleanup_storage", "delete_pending_versions", "delete_unreferenced_blobs", "delete_orphan_bytes",
     "remove_storage_leftovers"],
)  # fmt: skip
def test_only_the_system_runs_the_cleanup(world, service):
    stale = pending(world, "abandoned", b"abandoned bytes")
    age(ArtifactVersion, stale.pk, 2 * DAY)
    before = snapshot()
    for actor in (world["org_admin"], world["outsider"]):
        with pytest.raises(PermissionDenied):
            getattr(services, service)(actor=actor)
    assert snapshot() == before


@pytest.mark.parametrize("value", ["x", "0", "-1", "inf", "nan"])
def test_older_than_must_be_a_positive_number_of_hours(db, value):
    with pytest.raises(CommandError):
        cleanup("--older-than", value)


# --- blobs -------------------------------------------------------------------------------------


def test_blob_garbage_collection_keeps_every_blob_a_version_names(world):
    store = get_store()
    committed = world.version(name="kept", content=b"committed bytes")
    fresh_pending = pending(world, "in-flight", b"pending bytes")
    unreferenced_old = services.upload_blob(actor=world["member"], stream=io.BytesIO(b"nobody names me"))
    unreferenced_new = services.upload_blob(actor=world["member"], stream=io.BytesIO(b"uploaded a minute ago"))
    committed_sha = committed.entries.get().sha256
    pending_sha = fresh_pending.entries.get().sha256
    for sha in (committed_sha, pending_sha, unreferenced_old.sha256):
        age(Blob, sha, 10 * DAY)
    before = set(AuditEvent.objects.values_list("pk", flat=True))

    out = cleanup()

    assert f"Removed blob {unreferenced_old.sha256} (15 bytes)" in out
    assert set(Blob.objects.values_list("sha256", flat=True)) == {
        committed_sha,
        pending_sha,
        unreferenced_new.sha256,
    }
    assert not store.exists(unreferenced_old.sha256)
    assert all(store.exists(sha) for sha in (committed_sha, pending_sha, unreferenced_new.sha256))
    event = AuditEvent.objects.exclude(pk__in=before).get()
    assert (event.action, event.target_type, event.target_id, event.org) == (
        Action.BLOB_DELETE,
        "blob",
        unreferenced_old.sha256,
        None,
    )
    assert event.data["size"] == 15
    # The version's bytes still download.
    with store.open(committed_sha) as handle:
        assert handle.read() == b"committed bytes"


def test_blobs_the_wandb_sdk_uploaded_and_has_not_committed_yet_are_kept(world):
    """The wandb SDK's staged files name blobs before any manifest does (wandb_api registers them)."""
    from apps.wandb_api.models import PendingArtifact, StagedFile

    staged = services.upload_blob(actor=world["member"], stream=io.BytesIO(b"uploaded by the SDK"))
    age(Blob, staged.sha256, 3 * DAY)  # a slow SDK run: uploaded long ago, commits later
    pending_artifact = PendingArtifact.objects.create(
        project=world.project, name="sdk", type="dataset", digest="d", created_by=world["member"]
    )
    StagedFile.objects.create(pending=pending_artifact, name="f.bin", md5=staged.md5, sha256=staged.sha256)

    assert services.delete_unreferenced_blobs(actor=SYSTEM_ACTOR) == []
    assert get_store().exists(staged.sha256)


def test_blobs_only_an_abandoned_version_named_go_in_the_same_run(world):
    stale = pending(world, "abandoned", b"abandoned bytes")
    sha = stale.entries.get().sha256
    age(ArtifactVersion, stale.pk, 2 * DAY)
    age(Blob, sha, 2 * DAY)

    report = services.cleanup_storage(actor=SYSTEM_ACTOR)

    assert report.versions == ["vision/detector/abandoned:pending"]
    assert report.blobs == [(sha, len(b"abandoned bytes"))]
    assert not Blob.objects.filter(pk=sha).exists() and not get_store().exists(sha)


def test_bytes_no_blob_row_names_are_removed_once_old(world):
    store = get_store()
    kept = world.version(name="kept", content=b"committed bytes").entries.get().sha256
    old_orphan, _, _ = store.put(io.BytesIO(b"stored, then the server died"))
    new_orphan, _, _ = store.put(io.BytesIO(b"stored a moment ago, registering now"))
    age_file(store._path(old_orphan), 2 * DAY.total_seconds())
    age_file(store._path(kept), 2 * DAY.total_seconds())

    report = services.cleanup_storage(actor=SYSTEM_ACTOR)

    assert report.orphans == [(old_orphan, 28)]
    assert not store.exists(old_orphan)
    assert store.exists(new_orphan) and store.exists(kept)
    assert not Blob.objects.filter(pk=old_orphan).exists()  # the claim row went with it
    event = AuditEvent.objects.get(action=Action.BLOB_DELETE)
    assert (event.target_id, event.data) == (old_orphan, {"size": 28, "orphan": True})


# --- a version committing while the collector runs ------------------------------------------------


@pytest.fixture
def pg_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("in-process threads need PostgreSQL; the SQLite run is test_race_on_a_sqlite_file")


def test_race_commit_holds_its_blobs_while_the_collector_runs(pg_only):
    actor, project = cleanup_race.setup()
    cleanup_race.commit_while_gc_runs(actor, project)


def test_race_collector_first_makes_the_commit_refuse_not_lose_bytes(pg_only):
    actor, project = cleanup_race.setup()
    cleanup_race.gc_while_commit_starts(actor, project)


SQLITE_RACE = """
import json, os, sys, django
sys.path.insert(0, os.getcwd())
django.setup()
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}  # tables straight from the models
call_command("migrate", run_syncdb=True, verbosity=0)
from tests.artifacts import cleanup_race
actor, project = cleanup_race.setup()
print(json.dumps([cleanup_race.commit_while_gc_runs(actor, project), cleanup_race.gc_while_commit_starts(actor, project)]))
"""


def test_race_on_a_sqlite_file(tmp_path):
    """Both orders on a SQLite file, where separate connections really contend for its write lock."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite run of the race (PostgreSQL runs it in-process)")
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REGISTRY_VAR_DIR": str(tmp_path),
        "ARTIFACT_STORAGE_URL": f"file://{tmp_path / 'blobs'}",
        "DJANGO_SETTINGS_MODULE": "registry_site.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_RACE], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert first["removed"] == []
    assert len(second["removed"]) == 1 and "not uploaded yet" in second["refused"]


# --- the worker ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_cleanup_and_queues_the_next_run_once(world, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    stale = pending(world, "abandoned", b"abandoned bytes")
    age(ArtifactVersion, stale.pk, 2 * DAY)
    queued = DBTaskResult.objects.filter(task_path=cleanup_storage_task.module_path)

    assert "Queued the storage cleanup" in cleanup("--schedule")
    assert "already queued" in cleanup("--schedule")
    assert queued.count() == 1

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)

    assert not ArtifactVersion.objects.filter(pk=stale.pk).exists()
    event = AuditEvent.objects.get(action=Action.ARTIFACT_DELETE_PENDING)
    assert event.actor_detail == "system:worker"
    done = queued.get(status=TaskResultStatus.SUCCESSFUL)
    assert done.return_value["pending versions"] == 1
    following = queued.get(status=TaskResultStatus.READY)  # the next run, an hour on
    expected = done.finished_at + CLEANUP_EVERY
    assert abs((following.run_after - expected).total_seconds()) < 60
    assert "already queued" in cleanup("--schedule")
    assert queued.count() == 2
