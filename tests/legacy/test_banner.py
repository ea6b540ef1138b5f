"""The banner between the new Registry and the legacy Model Registry, both ways, remembered per user."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Exists, F, OuterRef, Subquery
from django.urls import reverse

from apps.legacy import services
from apps.legacy.models import LegacyPreference, RegisteredModel
from apps.legacy.sql import teams_with_legacy_content
from apps.orgs.models import Team

LANDING = reverse("collections:landing", args=["acme"])


@pytest.fixture
def legacy(world):
    return services.link_model_version(
        actor=world["member"], version=world.version(), team=world.team, model_name="resnet"
    )


def test_legacy_page_offers_the_new_registry_and_the_switch_is_remembered(login, world, legacy):
    client = login("member")
    html = client.get(reverse("legacy:model_list", args=["vision"])).content.decode()
    assert "A new Registry is available" in html and "Switch to the new Registry" in html
    response = client.post(reverse("legacy:preference"), {"registry_ui": "new", "next": LANDING})
    assert response.status_code == 302 and response["Location"] == LANDING
    assert LegacyPreference.objects.get(user=world["member"]).registry_ui == "new"


def test_registry_pages_show_the_way_back_while_the_team_has_legacy_content(login, world, legacy):
    client = login("member")
    assert "Use legacy Model Registry" in client.get(LANDING).content.decode()
    response = client.post(
        reverse("legacy:preference"), {"registry_ui": "legacy", "next": reverse("legacy:model_list", args=["vision"])}
    )
    assert response["Location"] == "/vision/registry/model/"
    assert "You chose the legacy Model Registry" in client.get(LANDING).content.decode()
    registry_page = reverse("collections:registry_detail", args=["acme", world.registry.slug])
    assert "Use legacy Model Registry" in client.get(registry_page).content.decode()
    # People outside the team (their teams have no legacy content) see no banner.
    assert "legacy Model Registry" not in login("viewer").get(LANDING).content.decode()


def test_without_the_registry_ui_the_legacy_registry_is_the_only_one(login, world, legacy, settings):
    settings.ENABLE_REGISTRY_UI = False
    client = login("member")
    response = client.get(reverse("legacy:model_list", args=["vision"]))
    assert response.status_code == 200
    assert "A new Registry is available" not in response.content.decode() and "resnet" in response.content.decode()
    assert client.get(LANDING).status_code == 404


def test_after_migration_the_banner_says_so_and_links_the_new_registry(login, world, legacy):
    call_command("migrate_legacy_registry", stdout=StringIO())
    html = login("member").get(LANDING).content.decode()
    assert "was migrated to the registry" in html and "vision-mr-migrated" in html
    assert reverse("collections:registry_detail", args=["acme", "vision-mr-migrated"]) in html


def test_preference_goes_only_to_local_urls(login, world):
    response = login("member").post(
        reverse("legacy:preference"), {"registry_ui": "new", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    assert login("member").post(reverse("legacy:preference"), {"registry_ui": "x"}).status_code == 302
    assert LegacyPreference.objects.get(user=world["member"]).registry_ui == "new"


def test_a_team_with_an_empty_legacy_registry_sees_no_banner(login, world):
    html = login("member").get(reverse("legacy:model_list", args=["vision"])).content.decode()
    assert "A new Registry is available" not in html and "No registered models" in html


def test_with_the_registry_ui_off_the_sidebar_opens_the_legacy_registry(login, world, legacy, settings):
    settings.ENABLE_REGISTRY_UI = False
    html = login("member").get(reverse("api_keys")).content.decode()
    assert 'href="/vision/registry/model/"' in html
    settings.ENABLE_REGISTRY_UI = True
    assert 'href="/vision/registry/model/"' not in login("member").get(reverse("api_keys")).content.decode()


# The ORM query apps/legacy/sql.py replaced (issue 17), kept here to hold the statement to it.
def _orm_teams(user, org_id=None, team_id=None):
    rows = Team.objects.filter(memberships__user=user) if team_id is None else Team.objects.filter(pk=team_id)
    if org_id is not None:
        rows = rows.filter(org_id=org_id)
    return list(
        rows.filter(Exists(RegisteredModel.objects.filter(team=OuterRef("pk"))))
        .annotate(
            migrated_to=F("legacy_migration__registry_name"),
            migrated_registry=F("legacy_migration__registry__slug"),
            preference=Subquery(LegacyPreference.objects.filter(user=user.pk).values("registry_ui")[:1]),
        )
        .select_related("org")
        .order_by("name")
    )


def _seen(teams):
    return [(t.pk, t.name, t.org.slug, t.migrated_to, t.migrated_registry, t.preference) for t in teams]


@pytest.mark.parametrize("migrated", [False, True])
def test_the_banners_statement_answers_what_the_orm_query_did(world, legacy, migrated):
    if migrated:
        call_command("migrate_legacy_registry", stdout=StringIO())
    services.set_registry_ui_preference(actor=world["member"], registry_ui="legacy")
    for persona in ("member", "viewer", "org_admin", "outsider"):
        user = world[persona]
        for org_id, team_id in [(None, None), (world.org.pk, None), (world.other_org.pk, None), (None, world.team.pk)]:
            expected = _orm_teams(user, org_id=org_id, team_id=team_id)
            found = teams_with_legacy_content(user.pk, org_id=org_id, team_id=team_id)
            assert _seen(found) == _seen(expected), (persona, org_id, team_id)
    assert _seen(teams_with_legacy_content(world["member"].pk))  # the member's team has legacy content
