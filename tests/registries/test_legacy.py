"""The switch between the new Registry and the legacy Model Registry, remembered per user."""

import pytest
from django.urls import reverse

from apps.orgs.models import UserPreference
from tests.conftest import assert_status, statuses


def pref_url(org="acme"):
    return reverse("registries:registry_ui_preference", args=[org])


@pytest.mark.parametrize(("persona", "status"), statuses(302))
def test_preference_permissions(login, world, persona, status):
    assert_status(login(persona).post(pref_url(), {"registry_ui": "legacy"}), persona, status)


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_legacy_page_permissions(login, world, persona, status):
    assert_status(login(persona).get(reverse("registries:legacy_registry", args=["acme"])), persona, status)


def test_choosing_legacy_is_remembered(login, world):
    """The banner itself is apps/legacy's (tests/legacy/test_banner.py): a team without legacy content sees none."""
    client = login("member")
    landing = reverse("collections:landing", args=["acme"])
    assert "Use legacy Model Registry" not in client.get(landing).content.decode()
    response = client.post(pref_url(), {"registry_ui": "legacy"})
    assert response["Location"] == reverse("registries:legacy_registry", args=["acme"])
    assert UserPreference.objects.get(user=world["member"]).registry_ui == "legacy"
    legacy = client.get(response["Location"]).content.decode()
    assert "legacy Model Registry is empty" in legacy and "Switch to the new Registry" in legacy


def test_invalid_preference_changes_nothing(login, world):
    response = login("member").post(pref_url(), {"registry_ui": "classic"})
    assert response.status_code == 302
    assert not UserPreference.objects.exists()
