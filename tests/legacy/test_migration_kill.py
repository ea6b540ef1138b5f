"""A migration killed at several points (SIGKILL, in a subprocess) leaves only whole models, and a rerun finishes.

The subprocess works on a SQLite file copied from this test's database (the sqlite3 backup API),
so no second `migrate` is needed: a copy takes milliseconds.
"""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.legacy.test_migration import build_legacy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_copy(transactional_db, world, tmp_path, settings):
    if connection.vendor != "sqlite":
        pytest.skip("copies the SQLite test database; PostgreSQL runs the in-process migration tests")
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    build_legacy(world)
    path = tmp_path / "db.sqlite3"
    target = sqlite3.connect(path)
    connection.ensure_connection()
    connection.connection.backup(target)
    target.close()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{path}",
        "REGISTRY_VAR_DIR": str(tmp_path),
        "ARTIFACT_STORAGE_URL": f"file://{tmp_path / 'blobs'}",
        "DJANGO_SETTINGS_MODULE": "registry_site.settings",
    }
    return env, path


def _migrate(env, hook=""):
    return subprocess.run(
        [sys.executable, "manage.py", "migrate_legacy_registry"],
        cwd=ROOT,
        env={**env, "REGISTRY_LEGACY_MIGRATION_HOOK": hook},
        capture_output=True,
        text=True,
    )


def _state(path):
    """What the copy holds, read with plain sqlite3 (no second Django start-up)."""
    db = sqlite3.connect(path)
    try:
        models = dict(db.execute("SELECT name, migrated_to_id IS NOT NULL FROM legacy_registeredmodel"))
        collections: dict[str, list[int]] = {}
        for name, index in db.execute(
            "SELECT c.name, l.'index' FROM collections_collection c JOIN registries_registry r ON r.id = c.registry_id "
            "JOIN collections_link l ON l.collection_id = c.id WHERE r.name = 'vision-mr-migrated' ORDER BY 1, 2"
        ):
            collections.setdefault(name, []).append(index)
        finished = db.execute("SELECT finished_at IS NOT NULL FROM legacy_legacymigration").fetchone()
        registries = db.execute("SELECT count(*) FROM registries_registry WHERE name = 'vision-mr-migrated'").fetchone()
    finally:
        db.close()
    return {
        "models": {k: bool(v) for k, v in models.items()},
        "collections": collections,
        "finished": bool(finished and finished[0]),
        "registries": registries[0],
    }


def test_kills_leave_whole_models_and_reruns_finish(sqlite_copy):
    env, path = sqlite_copy
    # Killed inside the first model's transaction: the registry exists, no model is half there.
    assert _migrate(env, "die-in:1").returncode == -signal.SIGKILL
    state = _state(path)
    assert state["registries"] == 1 and state["collections"] == {} and not any(state["models"].values())
    # Killed after the first model committed, then inside the second: resnet whole, tiny absent.
    assert _migrate(env, "die-after:1").returncode == -signal.SIGKILL
    assert _migrate(env, "die-in:1").returncode == -signal.SIGKILL  # (the rerun's first copy is tiny)
    state = _state(path)
    assert state["models"] == {"resnet": True, "tiny": False}
    assert state["collections"] == {"resnet": [0, 2, 3, 4]} and not state["finished"]
    # A rerun finishes; another changes nothing and says so.
    done = _migrate(env)
    assert done.returncode == 0 and "resnet: already migrated" in done.stdout and "tiny: was migrated" in done.stdout
    state = _state(path)
    assert state["collections"] == {"resnet": [0, 2, 3, 4], "tiny": [0]} and state["finished"]
