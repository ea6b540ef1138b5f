"""Search pages through every kind of result: each kind has its own keyset cursor and "More" link."""

import re

import pytest
from django.urls import reverse

from apps.artifacts.models import VersionTag
from apps.registries import services as registries

MORE = re.compile(r'<a class="btn btn-small" rel="next" href="([^"]+)"[^>]*>More (\w+) →</a>')


def _seed(world, size: int) -> None:
    """`size` matching registries, collections and linked versions (alias and tag)."""
    admin = world["org_admin"]
    for i in range(size):
        registries.create_registry(actor=admin, org=world.org, name=f"find reg {i:02d}")
        link = world.link(version=world.version(name=f"m{i}"), collection=f"find-{i:02d}", aliases=[f"find-{i:02d}"])
        VersionTag.objects.create(version=link.version, name=f"find-{i:02d}")


def _names(html: str, kind: str) -> list[str]:
    section = html[html.index(f'id="search-{kind}"') :]
    section = section[: section.index("</section>")]
    pattern = {
        "registries": r">(find reg \d+)</a>",
        "collections": r">(find-\d+)</a>",
        "versions": r"/ (find-\d+):v0</a>",
    }
    return re.findall(pattern[kind], section)


def test_each_kind_pages_through_every_result_once(client, world):
    _seed(world, 23)
    client.force_login(world["org_admin"])
    url = reverse("collections:search", args=[world.org.slug]) + "?q=find"
    for kind in ("registries", "collections", "versions"):
        seen, next_url, pages = [], url, 0
        while next_url:
            html = client.get(next_url.replace("&amp;", "&")).content.decode()
            seen += _names(html, kind)
            pages += 1
            more = {k: href for href, k in MORE.findall(html)}
            next_url = more.get(kind) and url.split("?")[0] + more[kind]
        assert pages == 3, kind
        assert sorted(seen) == sorted(set(seen)) and len(seen) == 23, kind
    # Registries: core first, then by name; collections by update; versions newest link first.
    assert _names(client.get(url).content.decode(), "registries")[:2] == ["find reg 00", "find reg 01"]
    assert _names(client.get(url).content.decode(), "versions")[0] == "find-22"


def test_more_over_htmx_answers_only_that_kinds_section(client, world):
    _seed(world, 12)
    client.force_login(world["member"])
    url = reverse("collections:search", args=[world.org.slug])
    first = client.get(url, {"q": "find"}).content.decode()
    more = {k: href for href, k in MORE.findall(first)}
    response = client.get(
        url + more["collections"].replace("&amp;", "&"),
        headers={"HX-Request": "true", "HX-Target": "search-collections"},
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="search-collections"' in html and 'id="search-versions"' not in html
    assert _names(html, "collections") == ["find-01", "find-00"]
    assert "← First collections" in html
    assert "HX-Request" in response["Vary"]


def test_a_tampered_cursor_shows_the_first_page(client, world):
    _seed(world, 2)
    client.force_login(world["member"])
    html = client.get(reverse("collections:search", args=[world.org.slug]), {"q": "find", "collections_after": "!!"})
    assert _names(html.content.decode(), "collections") == ["find-01", "find-00"]


@pytest.mark.parametrize("size", [1, 25])
def test_a_search_page_costs_the_same_queries_at_any_size(client, world, django_assert_num_queries, size):
    _seed(world, size)
    client.force_login(world["org_admin"])
    url = reverse("collections:search", args=[world.org.slug])
    cursors = {"registries_after": "", "collections_after": "", "versions_after": ""}
    # session, user, org, then per kind one page query (versions: the page's keys, then those links,
    # + aliases and tags prefetches, protected aliases of the page's registries), shell orgs.
    with django_assert_num_queries(11):
        html = client.get(url, {"q": "find"}).content.decode()
    for href, kind in MORE.findall(html):
        cursors[f"{kind}_after"] = re.search(rf"{kind}_after=([^&]+)", href).group(1)
    # A later page of one kind over htmx: session, user, org, the versions page's keys, its links,
    # their aliases, tags and protected aliases, shell orgs.
    with django_assert_num_queries(9):
        client.get(
            url,
            {"q": "find", "versions_after": cursors["versions_after"]},
            headers={"HX-Request": "true", "HX-Target": "search-versions"},
        )
