"""Global search: registries, collections (name or tag) and versions (alias or tag) the user may see."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.artifacts.models import VersionTag
from apps.collections import services as collections
from apps.registries import services as registries
from apps.registries.models import Visibility
from tests.conftest import assert_status, statuses


def search(client, q, org="acme"):
    return client.get(reverse("collections:search", args=[org]), {"q": q})


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_search_permissions(login, world, persona, status):
    assert_status(search(login(persona), "gold"), persona, status)


def test_search_without_query_invites_typing(login, world):
    html = search(login("member"), "").content.decode()
    assert "Type a word" in html


def test_search_finds_registries_collections_and_versions(login, world):
    link = world.link(aliases=["production"])
    collections.add_collection_tag(actor=world["org_admin"], collection=link.collection, tag="vision")
    VersionTag.objects.create(version=link.version, name="reviewed")
    client = login("restricted_viewer")
    assert "Golden Models" in search(client, "golden").content.decode()
    assert "classifier" in search(client, "vision").content.decode()  # collection tag
    assert "classifier" in search(client, "classi").content.decode()  # collection name
    html = search(client, "product").content.decode()  # alias
    assert "Golden Models / classifier:v0" in html
    assert '<span class="chip chip-protected">production</span>' in html
    assert "vision/detector/model-a:v0" in html
    assert "Golden Models / classifier:v0" in search(client, "reviewed").content.decode()  # version tag


def test_search_shows_only_what_the_user_may_see(login, world):
    hidden = registries.create_registry(
        actor=world["org_admin"], org=world.org, name="Secret golden", visibility=Visibility.RESTRICTED
    )
    world.link(collection="golden-secret", registry=hidden, aliases=["golden-alias"])
    html = search(login("viewer"), "golden").content.decode()
    assert "Golden Models" in html
    assert "Secret golden" not in html and "golden-secret" not in html and "golden-alias" not in html


def test_search_in_another_org_is_404(login, world):
    assert search(login("member"), "x", org="globex").status_code == 404


def test_search_shows_ten_results_per_kind_and_a_more_link(login, world):
    for i in range(12):
        collections.create_collection(
            actor=world["org_admin"], registry=world.registry, name=f"capped-{i}", type="model"
        )
    html = search(login("member"), "capped").content.decode()
    assert html.count(">capped-") == 10
    assert "More collections →" in html


def test_search_no_results(login, world):
    html = search(login("member"), "zzzz").content.decode()
    assert "No results for" in html


@pytest.mark.parametrize("size", [1, 10])
def test_search_query_count_is_constant(client, world, django_assert_num_queries, size):
    for i in range(size):
        link = world.link(version=world.version(name=f"m{i}"), collection=f"find-{i}", aliases=[f"find-{i}"])
        VersionTag.objects.create(version=link.version, name=f"find-{i}")
    client.force_login(world["member"])
    search(client, "find")
    # session, user, org, registries, collections, the links page's keys, those links, aliases and
    # version tags prefetches, protected aliases of the links' registries, shell orgs.
    with django_assert_num_queries(11):
        assert search(client, "find").status_code == 200


def test_search_finds_versions_from_their_aliases_and_tags_not_by_testing_every_link(client, world):
    # Issue 17: each link was tested for a matching alias or tag (a correlated EXISTS per link), which
    # read every link whenever fewer than a page matched. Matches now come from the alias and tag
    # tables, joined to their links: one row per link even when both its alias and its tag match.
    both = world.link(version=world.version(name="both"), collection="both", aliases=["Shiny-release"])
    VersionTag.objects.create(version=both.version, name="shiny")
    tagged = world.link(version=world.version(name="tagged"), collection="tagged")
    VersionTag.objects.create(version=tagged.version, name="SHINY-tag")
    world.link(version=world.version(name="plain"), collection="plain", aliases=["dull"])
    client.force_login(world["member"])
    with CaptureQueriesContext(connection) as queries:
        html = search(client, "shiny").content.decode()
    assert html.count("both:v0</a>") == 1 and html.count("tagged:v0</a>") == 1 and "plain:v0" not in html
    keys = next(q["sql"] for q in queries if q["sql"].startswith('SELECT "collections_link"."id" AS "pk"'))
    assert "UNION" in keys and "EXISTS" not in keys


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's")
@pytest.mark.django_db
def test_alias_and_tag_substring_search_has_trigram_indexes_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('collections_linkalias_alias_trgm', 'artifacts_versiontag_name_trgm') ORDER BY indexname"
        )
        found = cursor.fetchall()
    assert [name for name, _ in found] == ["artifacts_versiontag_name_trgm", "collections_linkalias_alias_trgm"]
    assert all("gin_trgm_ops" in definition and "upper(" in definition for _, definition in found)
