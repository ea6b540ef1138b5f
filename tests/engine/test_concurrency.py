"""Linking under concurrency: indexes unique and gapless, `latest` on the newest link."""

import threading

import pytest
from django.db import connection, connections

from apps.artifacts.services import log_artifact
from apps.collections.models import Collection, Link, LinkAlias
from apps.collections.services import link_version

THREADS = 8
PER_THREAD = 25


@pytest.fixture
def pg_world(transactional_db, world):
    if connection.vendor != "postgresql":
        pytest.skip("the concurrency test runs on PostgreSQL (CI runs the suite on both databases)")
    return world


def test_parallel_linking_gives_gapless_unique_indexes(pg_world):
    world = pg_world
    actor = world["org_admin"]
    versions = [
        log_artifact(actor=actor, project=world.project, name="m", type="model", files={"w": str(i).encode()})
        for i in range(THREADS * PER_THREAD)
    ]
    registry = world.registry
    errors = []
    barrier = threading.Barrier(THREADS)

    def worker(chunk):
        try:
            barrier.wait()
            for version in chunk:
                link_version(actor=actor, version=version, registry=registry, collection_name="busy")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=(versions[i * PER_THREAD : (i + 1) * PER_THREAD],)) for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    collection = Collection.objects.get(registry=registry, name="busy")
    indexes = sorted(Link.objects.filter(collection=collection).values_list("index", flat=True))
    assert indexes == list(range(THREADS * PER_THREAD))
    assert collection.next_index == THREADS * PER_THREAD
    latest = LinkAlias.objects.get(collection=collection, alias="latest")
    assert latest.link.index == THREADS * PER_THREAD - 1


SQLITE_WORKER = """
import os, sys, django
sys.path.insert(0, os.getcwd())
django.setup()
from django.contrib.auth import get_user_model
from apps.artifacts.models import ArtifactVersion
from apps.collections.services import link_version
from apps.registries.models import Registry
actor = get_user_model().objects.get(username="linker")
registry = Registry.objects.get(name="Concurrent")
ids = [int(i) for i in sys.argv[1].split(",")]
for version in ArtifactVersion.objects.filter(pk__in=ids).order_by("pk"):
    link_version(actor=actor, version=version, registry=registry, collection_name="busy")
"""

SQLITE_SETUP = """
import os, sys, django
sys.path.insert(0, os.getcwd())
django.setup()
from django.contrib.auth import get_user_model
from apps.artifacts.services import create_project, log_artifact
from apps.orgs.services import add_team_member, create_team
from apps.registries.services import create_organization
from apps.registries.services import create_registry
actor = get_user_model().objects.create_user("linker", is_staff=True)
org = create_organization(actor=actor, slug="conc", name="Conc")
team = create_team(actor=actor, org=org, name="conc-team")
add_team_member(actor=actor, team=team, user=actor)
project = create_project(actor=actor, team=team, name="p")
create_registry(actor=actor, org=org, name="Concurrent")
ids = [log_artifact(actor=actor, project=project, name="m", type="model", files={"w": str(i).encode()}).pk
       for i in range(int(sys.argv[1]))]
print(",".join(map(str, ids)))
"""


@pytest.fixture
def migrated_sqlite_file(tmp_path, django_db_setup, django_db_blocker):
    """A SQLite file holding the schema `migrate` builds. On SQLite it is a copy of this process's test
    database (migrated by the same migrations, and empty between tests): the sqlite3 backup API takes
    milliseconds where a second `migrate` takes seconds. Elsewhere `migrate` builds it in a subprocess."""
    import sqlite3

    path = tmp_path / "db.sqlite3"
    if connection.vendor != "sqlite":
        return path, True
    with django_db_blocker.unblock():
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
    return path, False


def test_parallel_linking_on_a_sqlite_file_from_several_processes(tmp_path, migrated_sqlite_file):
    """Separate processes (as several gunicorn workers would) on one SQLite file in WAL mode."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path, needs_migrate = migrated_sqlite_file
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{path}",
        "REGISTRY_VAR_DIR": str(tmp_path),
        "ARTIFACT_STORAGE_URL": f"file://{tmp_path / 'blobs'}",
        "DJANGO_SETTINGS_MODULE": "registry_site.settings",
    }
    run = {"cwd": root, "env": env, "check": True, "capture_output": True, "text": True}
    if needs_migrate:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], **run)
    processes, per_process = 4, 25
    ids = subprocess.run([sys.executable, "-c", SQLITE_SETUP, str(processes * per_process)], **run).stdout.strip()
    ids = ids.splitlines()[-1].split(",")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", SQLITE_WORKER, ",".join(ids[i::processes])],
            cwd=root,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    errors = [w.communicate()[1] for w in workers if w.wait() != 0]
    assert errors == []
    check = (
        "import django,json; django.setup();"
        "from apps.collections.models import Link, LinkAlias;"
        "print(json.dumps([sorted(Link.objects.values_list('index', flat=True)),"
        " LinkAlias.objects.get(alias='latest').link.index]))"
    )
    import json

    indexes, latest = json.loads(subprocess.run([sys.executable, "-c", check], **run).stdout)
    assert indexes == list(range(processes * per_process))
    assert latest == processes * per_process - 1
