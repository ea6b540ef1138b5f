"""W&B deep links: /orgs/<org>/registry/<registry name>?selectionPath=…&version=vN."""

import pytest
from django.urls import reverse

from apps.registries import services as registries
from apps.registries.models import Visibility
from tests.conftest import assert_status, statuses


def deep(client, name, selection="", version="", org="acme"):
    params = {k: v for k, v in {"selectionPath": selection, "version": version}.items() if v}
    return client.get(reverse("collections:registry_deep_link", args=[org, name]), params)


@pytest.mark.parametrize(("persona", "status"), statuses(302))
def test_deep_link_permissions(login, world, persona, status):
    world.link()
    response = deep(login(persona), "Golden Models", "acme/wandb-registry-Golden Models/classifier", "v0")
    assert_status(response, persona, status)


@pytest.mark.parametrize("name", ["Golden Models", "wandb-registry-Golden Models", "golden models", "golden-models"])
def test_deep_link_to_a_version(login, world, name):
    link = world.link()
    response = deep(login("viewer"), name, "acme/wandb-registry-Golden Models/classifier", "v0")
    assert response.status_code == 302
    assert response["Location"] == link.get_absolute_url()


def test_deep_link_url_encoded_spaces(login, world):
    link = world.link()
    response = login("viewer").get(
        "/orgs/acme/registry/wandb-registry-Golden%20Models?selectionPath=acme%2Fwandb-registry-Golden%20Models%2Fclassifier&version=v0"
    )
    assert response["Location"] == link.get_absolute_url()


def test_deep_link_to_a_collection_and_a_registry(login, world):
    link = world.link()
    client = login("viewer")
    assert (
        deep(client, "Golden Models", "acme/wandb-registry-Golden Models/classifier")["Location"]
        == link.collection.get_absolute_url()
    )
    assert deep(client, "Golden Models")["Location"] == world.registry.get_absolute_url()


def test_deep_link_by_alias(login, world):
    link = world.link(aliases=["production"])
    response = deep(login("viewer"), "Golden Models", "acme/wandb-registry-Golden Models/classifier", "production")
    assert response["Location"] == link.get_absolute_url()


@pytest.mark.parametrize(
    ("selection", "version"),
    [
        ("acme/wandb-registry-Model/classifier", "v0"),  # another registry
        ("acme/wandb-registry-Golden Models/missing", ""),
        ("acme/wandb-registry-Golden Models/classifier", "v9"),
        ("acme/wandb-registry-Golden Models/classifier", "nope"),
        ("a/b/c/d", ""),
    ],
)
def test_deep_link_to_nothing_is_404(login, world, selection, version):
    world.link()
    assert deep(login("viewer"), "Golden Models", selection, version).status_code == 404


def test_deep_link_into_an_invisible_registry_is_404(login, world):
    hidden = registries.create_registry(
        actor=world["org_admin"], org=world.org, name="Hidden", visibility=Visibility.RESTRICTED
    )
    world.link(registry=hidden)
    assert deep(login("viewer"), "Hidden", "acme/wandb-registry-Hidden/classifier", "v0").status_code == 404
    assert deep(login("org_admin"), "Hidden", "acme/wandb-registry-Hidden/classifier", "v0").status_code == 302


def test_deep_link_by_a_renamed_registrys_old_name(login, world):
    link = world.link()
    registries.rename_registry(actor=world["org_admin"], registry=world.registry, name="Champion Models")
    response = deep(login("viewer"), "Golden Models", "acme/wandb-registry-Golden Models/classifier", "v0")
    assert response["Location"] == link.get_absolute_url()
