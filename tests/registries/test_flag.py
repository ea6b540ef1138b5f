"""ENABLE_REGISTRY_UI=false: the Registry App disappears; the rest of the site works."""

import pytest
from django.urls import reverse


@pytest.fixture
def registry_off(settings):
    settings.ENABLE_REGISTRY_UI = False


def registry_urls(world):
    link = world.link()
    org, reg = world.org.slug, world.registry.slug
    return [
        reverse("collections:landing", args=[org]),
        reverse("collections:search", args=[org]) + "?q=x",
        reverse("registries:registry_create", args=[org]),
        reverse("registries:legacy_registry", args=[org]),
        reverse("collections:registry_detail", args=[org, reg]),
        reverse("registries:registry_settings", args=[org, reg]),
        reverse("collections:registry_link", args=[org, reg]),
        reverse("collections:collection_create", args=[org, reg]),
        reverse("collections:registry_deep_link", args=[org, "Golden Models"]),
        reverse("collections:collection_detail", args=[org, reg, link.collection.name]),
        reverse("collections:version_detail", args=[org, reg, link.collection.name, link.index]),
    ]


def test_every_registry_page_and_partial_is_404_when_off(client, world, registry_off):
    client.force_login(world["org_admin"])
    for url in registry_urls(world):
        assert client.get(url).status_code == 404, url
        assert client.get(url, headers={"HX-Request": "true"}).status_code == 404, url


def test_registry_posts_are_404_when_off(client, world, registry_off):
    client.force_login(world["org_admin"])
    org, reg = world.org.slug, world.registry.slug
    for url in [
        reverse("registries:registry_create", args=[org]),
        reverse("registries:registry_star", args=[org, reg]),
        reverse("registries:registry_settings_delete", args=[org, reg]),
        reverse("registries:registry_ui_preference", args=[org]),
    ]:
        assert client.post(url, {}).status_code == 404, url


def test_the_rest_of_the_site_works_when_off(client, world, registry_off):
    assert client.get(reverse("login")).status_code == 200
    client.force_login(world["org_admin"])
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert "The Registry App is turned off" in home.content.decode()
    assert "Applications" not in home.content.decode()
    assert client.get(reverse("admin:index")).status_code == 200


def test_sidebar_has_registry_when_on(client, world):
    client.force_login(world["member"])
    html = client.get(reverse("collections:landing", args=["acme"])).content.decode()
    assert "Applications" in html
    assert f'href="{reverse("collections:landing", args=["acme"])}" aria-current="page"' in html


def test_registry_pages_work_again_when_switched_back_on(client, world, settings):
    client.force_login(world["member"])
    settings.ENABLE_REGISTRY_UI = False
    assert client.get(reverse("collections:landing", args=["acme"])).status_code == 404
    settings.ENABLE_REGISTRY_UI = True
    assert client.get(reverse("collections:landing", args=["acme"])).status_code == 200


def _registry_app_routes():
    """Every (namespace:name, kwargs) route of the Registry App URLconfs, with sample arguments."""
    from django.urls import URLResolver, get_resolver

    samples = {"org_slug": "acme", "reg_slug": "golden-models", "name": "classifier", "index": 0, "pk": 1, "run_pk": 1}
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace in {"registries", "collections", "automations"}:
            for pattern in entry.url_patterns:
                names = pattern.pattern.regex.groupindex
                yield f"{entry.namespace}:{pattern.name}", {k: samples.get(k, 1) for k in names}


def test_every_registry_app_route_is_behind_the_flag(client, world, registry_off):
    client.force_login(world["org_admin"])
    routes = list(_registry_app_routes())
    assert len(routes) > 20
    for name, kwargs in routes:
        url = reverse(name, kwargs=kwargs)
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
