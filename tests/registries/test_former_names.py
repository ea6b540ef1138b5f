"""Core registries carry W&B's names (Model, Dataset); paths with a registry's former names keep resolving."""

import importlib

import pytest
from django.apps import apps as django_apps

from apps.collections.models import find_collection, find_registry, find_version
from apps.orgs.services import create_api_key
from apps.registries import services as registries
from apps.registries.models import FormerName, Registry

core_rename = importlib.import_module("apps.registries.migrations.0003_core_registries_take_wandb_names")


def test_new_organizations_get_model_and_dataset(world):
    core = Registry.objects.filter(org=world.org, is_core=True).order_by("name")
    assert [(r.name, r.slug, r.full_name) for r in core] == [
        ("Dataset", "dataset", "wandb-registry-Dataset"),
        ("Model", "model", "wandb-registry-Model"),
    ]


def test_migration_renames_old_core_registries_keeps_slugs_and_old_paths_resolve(world):
    model = world.org.registries.get(slug="model")
    Registry.objects.filter(pk=model.pk).update(name="Models", slug="models")
    world.link(registry=model, collection="resnet")
    core_rename.forward(django_apps, None)
    core_rename.forward(django_apps, None)  # idempotent
    model.refresh_from_db()
    assert (model.name, model.slug) == ("Model", "models")
    assert list(FormerName.objects.filter(registry=model).values_list("name", flat=True)) == ["Models"]
    admin = world["org_admin"]
    for path in [
        "acme/wandb-registry-model/resnet:v0",
        "wandb-registry-Models/resnet:latest",
        "Acme ML/wandb-registry-MODELS/resnet:v0",
    ]:
        version, link = find_version(admin, path)
        assert link.collection.registry == model, path
    assert find_registry(admin, "acme", "wandb-registry-models") == model
    assert find_collection(admin, "acme/wandb-registry-Models/resnet").registry == model


def test_renamed_registry_resolves_by_old_name_unless_another_registry_takes_it(world):
    link = world.link(collection="classifier")
    admin = world["org_admin"]
    registries.rename_registry(actor=admin, registry=world.registry, name="Platinum Models")
    assert find_version(admin, "acme/wandb-registry-Golden Models/classifier:v0")[1] == link
    assert find_version(admin, "acme/wandb-registry-platinum models/classifier:v0")[1] == link
    # Invisible stays invisible under the old name.
    assert find_version(world["outsider"], "acme/wandb-registry-Golden Models/classifier:v0") is None
    # A registry that takes the old name wins it; renaming back drops the former name.
    taken = registries.create_registry(actor=admin, org=world.org, name="Golden Models")
    assert find_registry(admin, "acme", "Golden Models") == taken
    registries.rename_registry(actor=admin, registry=world.registry, name="Iron Models")
    assert sorted(world.registry.former_names.values_list("name", flat=True)) == ["Golden Models", "Platinum Models"]
    registries.rename_registry(actor=admin, registry=world.registry, name="platinum models")
    assert sorted(world.registry.former_names.values_list("name", flat=True)) == ["Golden Models", "Iron Models"]


@pytest.mark.parametrize("name", ["Models", "wandb-registry-models"])
def test_api_registry_by_former_name(world, client, name):
    Registry.objects.filter(org=world.org, slug="model").update(name="Models")
    core_rename.forward(django_apps, None)
    _, raw = create_api_key(actor=world["member"], user=world["member"], name="t")
    response = client.get(f"/api/v1/registries/acme/{name}", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Model"
