"""Artifact paths: parsing, and resolution in one indexed query."""

import pytest
from django.core.exceptions import ValidationError

from apps.collections.models import find_collection, find_version
from lib.paths import parse_artifact_path


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("acme/wandb-registry-Golden Models/classifier:v3", ("acme", "Golden Models", "classifier", "v3")),
        ("wandb-registry-Golden Models/classifier:production", (None, "Golden Models", "classifier", "production")),
        ("wandb-registry-Models/classifier", (None, "Models", "classifier", None)),
    ],
)
def test_parse_registry_paths(path, parts):
    parsed = parse_artifact_path(path)
    assert (parsed.org, parsed.registry, parsed.name, parsed.version) == parts


def test_parse_source_path():
    parsed = parse_artifact_path("vision/detector/model-a:latest")
    assert (parsed.team, parsed.project, parsed.name, parsed.version, parsed.registry) == (
        "vision",
        "detector",
        "model-a",
        "latest",
        None,
    )
    assert parse_artifact_path("vision/detector/model-a:v12").index == 12


@pytest.mark.parametrize(
    "path",
    [
        "",
        "x",
        "a/b",
        "a/b/c/d:v1",
        "a//b:v1",
        "wandb-registry-/c:v1",
        "a/b/c:",
        "a/b/c:v1:v2",
        "x/wandb-registry-R/c/d",
    ],
)
def test_malformed_paths_are_validation_errors(path):
    with pytest.raises(ValidationError):
        parse_artifact_path(path)


def test_resolution_takes_one_query(world, django_assert_num_queries):
    link = world.link(aliases=["candidate"])
    user = world["viewer"]
    find_version(user, "acme/wandb-registry-Golden Models/classifier:candidate")  # warm guardian's content types
    for path in [
        "acme/wandb-registry-Golden Models/classifier:candidate",
        "wandb-registry-golden models/Classifier:v0",  # names are case-insensitive; the org is optional
        "acme/wandb-registry-Golden Models/classifier:latest",
    ]:
        with django_assert_num_queries(1):
            version, found = find_version(user, path)
        assert found == link and version == link.version
    with django_assert_num_queries(1):
        assert find_version(world["org_admin"], "vision/detector/model-a:latest")[0] == link.version
    with django_assert_num_queries(1):
        assert find_collection(user, "acme/wandb-registry-Golden Models/classifier") == link.collection


def test_invisible_or_missing_paths_resolve_to_nothing(world):
    world.link(aliases=["candidate"])
    assert find_version(world["outsider"], "acme/wandb-registry-Golden Models/classifier:candidate") is None
    assert find_version(world["viewer"], "acme/wandb-registry-Golden Models/classifier:v9") is None
    # Source artifacts are visible to their team (and org admins), not to registry viewers.
    assert find_version(world["viewer"], "vision/detector/model-a:v0") is None
    assert find_version(world["member"], "vision/detector/model-a:nope") is None
