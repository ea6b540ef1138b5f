"""A version committing while blob garbage collection runs, in both orders, with real threads and connections.

Plain functions, not tests: tests/artifacts/test_cleanup.py runs them in-process on PostgreSQL and in a
subprocess on a SQLite file (an in-memory test database cannot be shared by threads the way a file is).
Each scenario pauses one side at the worst moment, while it holds its locks, and runs the other side then.
"""

import datetime
import io
import threading
import time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from apps.artifacts import services
from apps.artifacts.models import ArtifactVersion, Blob, VersionState
from apps.artifacts.storage import get_store
from apps.orgs.permissions import SYSTEM_ACTOR
from apps.orgs.services import add_team_member, create_team
from apps.registries.services import create_organization

OLD = datetime.timedelta(days=2)


def setup() -> tuple:
    """A team member with a project."""
    actor = get_user_model().objects.create_user("racer", is_staff=True)
    org = create_organization(actor=actor, slug="race", name="Race")
    team = create_team(actor=actor, org=org, name="race-team")
    add_team_member(actor=actor, team=team, user=actor)
    project = services.create_project(actor=actor, team=team, name="p")
    return actor, project


def _old_unreferenced_blob(actor, content: bytes) -> Blob:
    """Bytes an abandoned upload left two days ago, which a new version now names again."""
    blob = services.upload_blob(actor=actor, stream=io.BytesIO(content))
    Blob.objects.filter(pk=blob.pk).update(created_at=timezone.now() - OLD)
    return blob


def _log(actor, project, blob: Blob, name: str, paused: threading.Event | None, release: threading.Event | None):
    """create_version + commit_version in one transaction (log_artifact's shape: entries not yet visible)."""
    try:
        with transaction.atomic():
            version = services.create_version(
                actor=actor,
                project=project,
                name=name,
                type="dataset",
                files=[{"path": "data.bin", "sha256": blob.sha256, "size": blob.size}],
            )
            services.commit_version(actor=actor, version=version)
            if paused is not None:
                paused.set()
                release.wait(30)
        return version
    finally:
        connections.close_all()


def _gc(results: list, errors: list) -> None:
    try:
        results.extend(services.delete_unreferenced_blobs(actor=SYSTEM_ACTOR, older_than=datetime.timedelta(hours=1)))
    except Exception as exc:  # noqa: BLE001 - asserted by the caller
        errors.append(exc)
    finally:
        connections.close_all()


def _no_committed_version_lacks_bytes() -> None:
    store = get_store()
    for version in ArtifactVersion.objects.filter(state=VersionState.COMMITTED):
        for entry in version.entries.all():
            assert Blob.objects.filter(sha256=entry.sha256).exists(), f"{version} lost its blob row"
            assert store.exists(entry.sha256), f"{version} lost its bytes"


def commit_while_gc_runs(actor, project) -> dict:
    """The commit holds its locks (not yet committed) when the collector runs: the blob must survive."""
    blob = _old_unreferenced_blob(actor, b"committed while the collector runs")
    paused, release = threading.Event(), threading.Event()
    committed: list = []
    committer = threading.Thread(target=lambda: committed.append(_log(actor, project, blob, "first", paused, release)))
    committer.start()
    assert paused.wait(30), "the commit did not get to its pause"
    removed, errors = [], []
    collector = threading.Thread(target=_gc, args=(removed, errors))
    collector.start()
    if connection.vendor == "postgresql":
        collector.join(30)  # skips the row the commit has locked, without waiting for it
        assert not collector.is_alive()
        release.set()
    else:
        time.sleep(0.5)  # SQLite: the collector waits for the commit's write lock
        assert collector.is_alive(), "the collector ran while a commit held the database"
        release.set()
        collector.join(30)
    committer.join(30)
    assert errors == [] and removed == [], (errors, removed)
    assert committed and ArtifactVersion.objects.get(pk=committed[0].pk).state == VersionState.COMMITTED
    assert Blob.objects.filter(pk=blob.pk).exists() and get_store().exists(blob.sha256)
    assert services.delete_unreferenced_blobs(actor=SYSTEM_ACTOR, older_than=datetime.timedelta(hours=1)) == []
    _no_committed_version_lacks_bytes()
    return {"removed": removed}


def gc_while_commit_starts(actor, project) -> dict:
    """The collector has locked the blob and is deleting its bytes when a commit needing them starts:
    the commit waits, then finds them gone and refuses, rather than committing a version without bytes."""
    blob = _old_unreferenced_blob(actor, b"collected while a commit starts")
    store = get_store()
    deleting, release = threading.Event(), threading.Event()
    real_delete = store.delete

    def slow_delete(sha256):
        real_delete(sha256)
        deleting.set()
        release.wait(30)

    store.delete = slow_delete
    removed, errors = [], []
    collector = threading.Thread(target=_gc, args=(removed, errors))
    collector.start()
    assert deleting.wait(30), "the collector did not get to its pause"
    outcome: list = []

    def commit():
        try:
            outcome.append(_log(actor, project, blob, "second", None, None))
        except ValidationError as exc:
            outcome.append(exc)

    committer = threading.Thread(target=commit)
    committer.start()
    if connection.vendor == "postgresql":
        _wait_until_blocked()
    else:
        time.sleep(0.5)
    assert committer.is_alive(), "the commit did not wait for the collector"
    release.set()
    collector.join(30)
    committer.join(30)
    store.delete = real_delete
    assert errors == [] and removed == [(blob.sha256, blob.size)], (errors, removed)
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationError), outcome
    assert "not uploaded yet" in str(outcome[0])
    assert not ArtifactVersion.objects.filter(sequence__name="second").exists()  # rolled back whole
    _no_committed_version_lacks_bytes()
    return {"removed": removed, "refused": str(outcome[0])}


def _wait_until_blocked() -> None:
    """Until another PostgreSQL session waits on a row lock (the commit, on the collector's)."""
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the commit never waited on the collector's lock")
