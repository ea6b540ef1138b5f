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
