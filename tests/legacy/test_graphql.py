"""The wandb SDK's legacy calls through /graphql: `link_model` (linkArtifact into `<team>/model-registry`) and
`use_model` (project `model-registry`'s artifact `<name>:<v>`), before and after migration."""

from io import StringIO

from django.core.management import call_command

from apps.collections.models import Link
from apps.legacy.models import ModelLink

LINK = """mutation L($input: LinkArtifactInput!) { linkArtifact(input: $input) { versionIndex } }"""
FETCH = """query A($entity: String!, $name: String!) { project(name: "model-registry", entityName: $entity) {
  artifact(name: $name) { id versionIndex } } }"""


def _link(gql, version, name="resnet", persona="member", aliases=()):
    return gql(
        LINK,
        {
            "input": {
                "artifactID": str(version.pk),
                "artifactPortfolioName": name,
                "entityName": "vision",
                "projectName": "model-registry",
                "aliases": [{"artifactCollectionName": name, "alias": a} for a in aliases],
            }
        },
        persona=persona,
    )


def test_link_model_then_use_model_through_graphql(gql, world):
    first, second = world.version(content=b"a"), world.version(content=b"b")
    assert _link(gql, first)["data"]["linkArtifact"]["versionIndex"] == 0
    assert _link(gql, second, aliases=["staging"])["data"]["linkArtifact"]["versionIndex"] == 1
    assert list(ModelLink.objects.order_by("index").values_list("version_id", flat=True)) == [first.pk, second.pk]
    found = gql(FETCH, {"entity": "vision", "name": "resnet:staging"})["data"]["project"]["artifact"]
    assert found["id"].split("@")[0] == str(second.pk)
    assert gql(FETCH, {"entity": "vision", "name": "resnet:v0"})["data"]["project"]["artifact"]["id"].startswith(
        str(first.pk)
    )
    # Outside the team: no link, no lookup.
    assert "errors" in _link(gql, first, persona="viewer")
    assert gql(FETCH, {"entity": "vision", "name": "resnet:v0"}, persona="viewer")["data"]["project"] is None


def test_after_migration_links_go_to_the_migrated_collection_and_new_names_are_refused(gql, world):
    _link(gql, world.version(content=b"a"))
    call_command("migrate_legacy_registry", stdout=StringIO())
    assert _link(gql, world.version(content=b"b"))["data"]["linkArtifact"]["versionIndex"] == 1
    assert Link.objects.filter(collection__registry__name="vision-mr-migrated", index=1).exists()
    refused = _link(gql, world.version(content=b"c"), name="brand-new")
    assert "vision-mr-migrated" in refused["errors"][0]["message"]
    found = gql(FETCH, {"entity": "vision", "name": "resnet:latest"})["data"]["project"]["artifact"]
    assert found["versionIndex"] == 1


FILES = """query F($entity: String!, $collection: String!, $alias: String!) {
  project(name: "model-registry", entityName: $entity) { artifactCollection(name: $collection) { __typename
    artifactMembership(aliasName: $alias) { files(first: 10) { edges { node { name directUrl } } } } } } }"""


def test_membership_files_of_a_registered_model(gql, world):
    _link(gql, world.version(content=b"a"), aliases=["staging"])
    answer = gql(FILES, {"entity": "vision", "collection": "resnet", "alias": "staging"})
    files = answer["data"]["project"]["artifactCollection"]["artifactMembership"]["files"]["edges"]
    assert [edge["node"]["name"] for edge in files] == ["model.bin"]
