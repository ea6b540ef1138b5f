"""Global search: registries, collections (name or tag) and versions (alias or tag) the user may see."""

import pytest
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
    # session, user, org, registries, collections, links, aliases and version tags prefetches,
    # protected aliases of the links' registries, shell orgs.
    with django_assert_num_queries(10):
        assert search(client, "find").status_code == 200
