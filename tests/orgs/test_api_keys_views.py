"""The user's API key page: create (shown once), list own keys only, revoke."""

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.orgs.models import ApiKey
from apps.orgs.services import create_api_key


@pytest.mark.parametrize("persona", ["org_admin", "member", "restricted_viewer", "outsider"])
def test_every_user_manages_their_own_keys(client, world, persona):
    client.force_login(world[persona])
    response = client.post(reverse("api_keys"), {"name": "laptop"})
    assert response.status_code == 200
    secret = response.context["new_secret"]
    assert secret.startswith("reg-")
    assert secret in response.content.decode()
    key = ApiKey.objects.get(user=world[persona])
    assert key.name == "laptop"
    assert key.hashed_key != secret
    assert AuditEvent.objects.filter(action=Action.API_KEY_CREATE, actor=world[persona]).exists()
    # Shown once: the list page never shows the secret again.
    assert secret not in client.get(reverse("api_keys")).content.decode()


def test_anonymous_is_sent_to_login(client):
    assert client.get(reverse("api_keys")).status_code == 302


def test_keys_of_others_are_neither_listed_nor_revocable(client, world):
    other, _ = create_api_key(actor=world["member"], user=world["member"], name="members-key")
    client.force_login(world["viewer"])
    assert "members-key" not in client.get(reverse("api_keys")).content.decode()
    assert client.post(reverse("api_key_revoke", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_revoke_own_key(client, world):
    key, secret = create_api_key(actor=world["member"], user=world["member"], name="old")
    client.force_login(world["member"])
    assert client.post(reverse("api_key_revoke", args=[key.pk])).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert ApiKey.objects.authenticate(secret) is None
    assert AuditEvent.objects.filter(action=Action.API_KEY_REVOKE, target_id=str(key.pk)).exists()
    assert client.post(reverse("api_key_revoke", args=[key.pk])).status_code == 404
    assert client.get(reverse("api_key_revoke", args=[key.pk])).status_code == 405


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_invalid_key_names_write_nothing(client, world, name):
    client.force_login(world["member"])
    response = client.post(reverse("api_keys"), {"name": name})
    assert response.status_code == 200
    assert response.context["new_secret"] is None
    assert response.context["form"].errors
    assert not ApiKey.objects.filter(user=world["member"]).exists()


def test_key_list_query_count_is_constant(client, world, django_assert_num_queries):
    client.force_login(world["member"])
    url = reverse("api_keys")
    client.get(url)
    # session, user, the shell's organizations, the keys
    with django_assert_num_queries(4):
        client.get(url)
    for i in range(10):
        create_api_key(actor=world["member"], user=world["member"], name=f"k{i}")
    with django_assert_num_queries(4):
        client.get(url)
