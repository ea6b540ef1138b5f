"""Collection.link_count: kept by triggers on collections_link (migration 0006), whatever adds or removes links."""

import pytest
from django.db import connection
from django.db.models import Count, F

from apps.collections import services
from apps.collections.models import Collection, Link


def counts() -> dict[str, tuple[int, int]]:
    """Each collection's kept count beside its links counted now."""
    rows = Collection.objects.annotate(counted=Count("links")).values_list("name", "link_count", "counted")
    return {name: (kept, counted) for name, kept, counted in rows}


def test_link_count_follows_links_unlinks_deletes_and_bulk_writes(world):
    first = world.link(collection="a")
    world.link(collection="a", version=world.version(name="b"))
    other = world.link(collection="other", version=world.version(name="c"))
    assert counts() == {"a": (2, 2), "other": (1, 1)}
    services.unlink_version(actor=world["org_admin"], link=first)
    assert counts() == {"a": (1, 1), "other": (1, 1)}
    services.delete_source_version(actor=world["org_admin"], version=other.version)  # unlinks it everywhere
    assert counts() == {"a": (1, 1), "other": (0, 0)}
    a, empty = Collection.objects.get(name="a"), Collection.objects.get(name="other")
    versions = [world.version(name=f"bulk-{i}") for i in range(3)]
    Link.objects.bulk_create([Link(collection=empty, version=v, index=10 + i) for i, v in enumerate(versions)])
    assert counts() == {"a": (1, 1), "other": (3, 3)}
    # A move between collections (the app never makes one, but the count stays true).
    Link.objects.filter(collection=empty, index__gte=11).update(collection=a, index=F("index") + 100)
    assert counts() == {"a": (3, 3), "other": (1, 1)}
    Link.objects.filter(collection__in=[a, empty]).delete()
    assert counts() == {"a": (0, 0), "other": (0, 0)}


def test_the_link_count_triggers_exist(db):
    # SQLite drops a table's triggers when a migration rebuilds the table: this catches a migration
    # that rebuilt collections_link without creating them again.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'collections_link'::regclass")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'collections_link'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"collections_link_count_insert", "collections_link_count_delete", "collections_link_count_move"} <= names


@pytest.mark.parametrize("persona", ["org_admin", "member"])
def test_pages_show_the_kept_counts(client, world, persona):
    world.link(collection="a")
    world.link(collection="a", version=world.version(name="b"))
    client.force_login(world[persona])
    landing = client.get(world.registry.org.get_absolute_url()).content.decode()
    assert "2 versions" in landing
    page = client.get(world.registry.get_absolute_url()).content.decode()
    assert '<td class="num">2</td>' in page
