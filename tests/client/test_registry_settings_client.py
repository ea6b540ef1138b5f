"""Registries and collections created, renamed and deleted through the Python client (W&B's
`api.create_registry`, `registry.save()`, `collection.save()`, `.delete()`), served in-process."""

import pytest

from apps.audit.models import Action, AuditEvent
from apps.collections.models import Collection
from apps.registries.models import Registry
from registry_client import NotFound, PermissionDenied
from registry_client.errors import InvalidInput
from tests.client.wsgi import in_process  # noqa: F401 (a registry_client.Client per persona, in-process)

from .conftest import GOLDEN


def test_an_org_admin_creates_renames_and_deletes_a_registry(world, in_process):  # noqa: F811
    admin = in_process("org_admin")
    registry = admin.create_registry(
        "wandb-registry-Evals", org="acme", description="Eval sets", artifact_types=["dataset"]
    )
    assert (registry.name, registry.full_name, registry.visibility) == ("Evals", "wandb-registry-Evals", "organization")
    assert registry.artifact_types == ["dataset"]

    renamed = admin.update_registry("acme/wandb-registry-Evals", name="Benchmarks", visibility="restricted")
    assert (renamed.name, renamed.visibility) == ("Benchmarks", "restricted")
    # The old name keeps resolving, as W&B's renames do.
    assert admin.registry("acme/wandb-registry-Evals").name == "Benchmarks"

    admin.delete_registry("acme/wandb-registry-Benchmarks")
    assert not Registry.objects.filter(org=world.org, name="Benchmarks").exists()
    events = AuditEvent.objects.filter(org=world.org, target_type="registry").order_by("pk")
    assert [e.action for e in events][-4:] == [
        Action.REGISTRY_CREATE,
        Action.REGISTRY_RENAME,
        Action.REGISTRY_VISIBILITY,
        Action.REGISTRY_DELETE,
    ]


def test_registry_settings_refusals_reach_the_client_and_change_nothing(world, in_process):  # noqa: F811
    with pytest.raises(PermissionDenied):
        in_process("member").update_registry(GOLDEN, name="Mine")
    with pytest.raises(NotFound):
        in_process("outsider").update_registry(GOLDEN, description="x")
    with pytest.raises(InvalidInput):
        in_process("org_admin").create_registry("bad/name", org="acme")
    assert Registry.objects.filter(pk=world.registry.pk, name="Golden Models", description="").exists()


def test_a_member_creates_renames_describes_and_deletes_a_collection(world, in_process):  # noqa: F811
    member = in_process("member")
    collection = member.create_collection(GOLDEN, "ranker", "model", description="First cut", tags=["nlp"])
    assert (collection.name, collection.type, collection.tags) == ("ranker", "model", ["nlp"])
    assert collection.path == f"{GOLDEN}/ranker"

    updated = member.update_collection(f"{GOLDEN}/ranker", name="reranker", description="Second cut")
    assert (updated.name, updated.description, updated.path) == ("reranker", "Second cut", f"{GOLDEN}/reranker")
    with pytest.raises(PermissionDenied):
        in_process("viewer").delete_collection(f"{GOLDEN}/reranker")

    member.delete_collection(f"{GOLDEN}/reranker")
    assert not Collection.objects.filter(registry=world.registry, name="reranker").exists()
    events = AuditEvent.objects.filter(org=world.org, target_type="collection").order_by("pk")
    assert [e.action for e in events][-4:] == [
        Action.COLLECTION_CREATE,
        Action.COLLECTION_RENAME,
        Action.COLLECTION_UPDATE,  # the description
        Action.COLLECTION_DELETE,
    ]
