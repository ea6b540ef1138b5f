"""`make run` runs with DEBUG on: visitors still get the site's own 404 and 403 pages, never Django's URL list."""

import pytest
from django.urls import reverse

TECHNICAL = "Using the URLconf defined in"


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@pytest.mark.usefixtures("debug")
def test_a_registry_the_user_cannot_see_is_the_sites_own_404_in_debug(client, world):
    client.force_login(world["outsider"])
    response = client.get(world.registry.get_absolute_url())
    assert response.status_code == 404
    assert [t.name for t in response.templates][:1] == ["404.html"]
    html = response.content.decode()
    assert TECHNICAL not in html
    assert "Nothing here" in html
    assert "api/v1/" not in html  # no URL pattern listed


@pytest.mark.usefixtures("debug")
def test_an_unknown_address_is_the_sites_own_404_in_debug_even_anonymously(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert TECHNICAL not in response.content.decode()
    assert "Nothing here" in response.content.decode()


@pytest.mark.usefixtures("debug")
def test_a_missing_slash_still_redirects_in_debug(client, world):
    client.force_login(world["org_admin"])
    url = world.registry.get_absolute_url()
    response = client.get(url.rstrip("/"))
    # The registry's deep link answers the slashless path: it redirects to the registry page.
    assert response.status_code in {301, 302}


@pytest.mark.usefixtures("debug")
def test_a_forbidden_page_is_the_sites_own_403_in_debug(client, world):
    client.force_login(world["viewer"])
    response = client.get(reverse("automations:automation_create", args=[world.org.slug, world.registry.slug]))
    assert response.status_code == 403
    assert [t.name for t in response.templates][:1] == ["403.html"]


@pytest.mark.usefixtures("debug")
def test_the_api_keeps_its_json_404_in_debug(client, world):
    client.force_login(world["outsider"])
    response = client.get(f"/api/v1/registries/{world.org.slug}/{world.registry.name}")
    assert response.status_code in {401, 404}
    assert response["Content-Type"].startswith("application/json")
