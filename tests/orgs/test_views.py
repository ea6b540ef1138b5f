"""Site-wide pages: home, org switcher, login/logout, error pages and the app shell."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory
from django.urls import reverse

from apps.orgs.models import UserPreference
from apps.orgs.services import set_registry_ui_preference
from apps.orgs.views import shell_context
from tests.factories import UserFactory


def test_home_sends_members_to_their_registry(client, world):
    client.force_login(world["member"])
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("collections:landing", args=["acme"])


def test_home_for_someone_without_an_org(client, db):
    client.force_login(UserFactory(username="loner"))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "not a member of any organization" in response.content.decode()


def test_anonymous_visitors_go_to_login(client, world):
    for url in [reverse("home"), reverse("org_switch") + "?org=acme", reverse("collections:landing", args=["acme"])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize(
    ("persona", "org", "status"), [("member", "acme", 302), ("member", "globex", 404), ("outsider", "globex", 302)]
)
def test_org_switch(client, world, persona, org, status):
    client.force_login(world[persona])
    response = client.get(reverse("org_switch"), {"org": org})
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == reverse("collections:landing", args=[org])


def test_login_page_and_login(client, world):
    world["member"].set_password("pw-for-test")
    world["member"].save()
    page = client.get(reverse("login"))
    assert page.status_code == 200 and 'name="username"' in page.content.decode()
    response = client.post(reverse("login"), {"username": "member", "password": "pw-for-test"})
    assert response.status_code == 302


def test_logout_is_a_post(client, world):
    client.force_login(world["member"])
    html = client.get(reverse("collections:landing", args=["acme"])).content.decode()
    assert f'action="{reverse("logout")}"' in html
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("collections:landing", args=["acme"])).status_code == 302


def test_friendly_404_and_403_pages(client, world):
    client.force_login(world["viewer"])
    missing = client.get("/orgs/acme/registry/no-such-registry/")
    assert missing.status_code == 404 and "Nothing here" in missing.content.decode()
    forbidden = client.post(reverse("registries:registry_settings_description", args=["acme", world.registry.slug]), {})
    assert forbidden.status_code == 403 and "can’t do that" in forbidden.content.decode()


def test_shell_has_org_switcher_and_user_menu(client, world):
    client.force_login(world["member"])
    html = client.get(reverse("collections:landing", args=["acme"])).content.decode()
    assert 'id="org-switcher-select"' in html and "Acme ML" in html
    assert "Log out" in html
    assert 'hx-headers=\'{"x-csrftoken": "' in html
    assert "css/app.css" in html and "css/pages.css" in html and "htmx" in html


def test_shell_context_costs_one_query(world, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = world["member"]
    with django_assert_num_queries(1):
        context = shell_context(request)
    assert [org.slug for org in context["shell_orgs"]] == ["acme"]
    assert context["shell_org"].slug == "acme"
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert "shell_orgs" not in shell_context(request)


# --- set_registry_ui_preference -------------------------------------------------------------------


def test_set_registry_ui_preference_stores_the_choice(world):
    set_registry_ui_preference(actor=world["member"], registry_ui="legacy")
    set_registry_ui_preference(actor=world["member"], registry_ui="new")
    assert UserPreference.objects.get(user=world["member"]).registry_ui == "new"


def test_set_registry_ui_preference_needs_a_user(db):
    with pytest.raises(PermissionDenied):
        set_registry_ui_preference(actor=AnonymousUser(), registry_ui="legacy")
    assert not UserPreference.objects.exists()


def test_set_registry_ui_preference_rejects_unknown_choices(world):
    with pytest.raises(ValidationError):
        set_registry_ui_preference(actor=world["member"], registry_ui="classic")
    assert not UserPreference.objects.exists()
