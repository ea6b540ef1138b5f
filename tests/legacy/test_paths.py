"""`<team>/model-registry/<name>:<vN|alias>` through the API (resolve, file, run use), before and after migration."""

from io import StringIO

import pytest
from django.core.management import call_command

from apps.artifacts import services as artifacts
from apps.artifacts.models import ArtifactUsage
from apps.legacy import services
from apps.legacy.services import DEPRECATION_WARNING

PATH = "vision/model-registry/resnet"


@pytest.fixture
def legacy(world):
    links = [
        services.link_model_version(
            actor=world["member"], version=world.version(content=bytes([i])), team=world.team, model_name="resnet"
        )
        for i in range(3)
    ]
    services.unlink_model_version(actor=world["member"], link=links[1])
    services.add_model_alias(actor=world["member"], link=links[0], alias="staging")
    return links


@pytest.mark.parametrize(("suffix", "index"), [(":v0", 0), (":v2", 2), (":latest", 2), (":staging", 0)])
def test_legacy_paths_resolve_for_team_members(api, world, legacy, suffix, index):
    response = api("team_member").get("artifacts/resolve", {"path": PATH + suffix})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == legacy[index].version_id
    assert "Warning" not in response


@pytest.mark.parametrize("persona", ["viewer", "registry_admin", "outsider", "anonymous"])
def test_legacy_paths_are_404_outside_the_team(api, world, legacy, persona):
    assert api(persona).get("artifacts/resolve", {"path": PATH + ":v0"}).status_code in (401, 404)


def test_gaps_and_unknown_names_are_404(api, world, legacy):
    assert api("member").get("artifacts/resolve", {"path": PATH + ":v1"}).status_code == 404
    assert api("member").get("artifacts/resolve", {"path": "vision/model-registry/nope:v0"}).status_code == 404


def test_after_migration_old_paths_resolve_to_the_migrated_collection_with_the_deprecation_warning(api, world, legacy):
    call_command("migrate_legacy_registry", stdout=StringIO())
    response = api("member").get("artifacts/resolve", {"path": PATH + ":staging"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == legacy[0].version_id
    target = "acme/wandb-registry-vision-mr-migrated/resnet:staging"
    assert response["Warning"] == f'299 - "{DEPRECATION_WARNING.format(target=target)}"'
    assert "This model registry has been migrated and will be discontinued" in response["Warning"]
    # Downloads follow the migrated collection's registry, where team members are Members.
    file = api("member").get("artifacts/file", {"path": PATH + ":v2", "name": "model.bin"})
    assert file.status_code == 302
    # Linking a new name after migration is refused with the message naming the new registry.
    with pytest.raises(Exception, match="vision-mr-migrated"):
        services.link_model_version(
            actor=world["member"], version=world.version(content=b"z"), team=world.team, model_name="brand-new"
        )


def test_a_run_uses_a_legacy_path_and_records_lineage(api, world, legacy):
    run = artifacts.create_run(actor=world["member"], project=world.project, name="deploy")
    response = api("member").post(f"runs/vision/detector/{run.run_id}/use", {"path": PATH + ":staging"})
    assert response.status_code == 200, response.content
    assert ArtifactUsage.objects.filter(run=run, version=legacy[0].version).exists()
