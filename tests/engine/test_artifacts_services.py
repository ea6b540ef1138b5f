"""Artifact services: logging and committing versions, blobs, lineage."""

import hashlib
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.artifacts import services
from apps.artifacts.models import ArtifactUsage, ArtifactVersion, Blob, ManifestEntry, UsageKind, VersionState
from apps.artifacts.storage import get_store
from apps.audit.models import Action, AuditEvent
from apps.collections import services as collections
from apps.collections.services import can_download, use_artifact
from apps.orgs import services as orgs
from apps.registries import services as registries


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_log_and_commit_assigns_consecutive_indexes_and_stores_blobs_once(world):
    v0 = world.version(content=b"same bytes")
    v1 = world.version(content=b"same bytes", files={"extra.txt": b"other"})
    assert (v0.version_label, v1.version_label) == ("v0", "v1")
    assert v0.state == VersionState.COMMITTED and v0.digest
    assert Blob.objects.filter(sha256=sha(b"same bytes")).count() == 1
    assert get_store().open(sha(b"same bytes")).read() == b"same bytes"
    assert v1.size == len(b"same bytes") + len(b"other") and v1.file_count == 2
    assert AuditEvent.objects.filter(action=Action.ARTIFACT_COMMIT).count() == 2
    assert AuditEvent.objects.filter(action=Action.ARTIFACT_CREATE, version_pk=v1.pk).exists()


def test_commit_refuses_missing_or_wrong_size_blobs(world):
    actor = world["org_admin"]
    version = services.create_version(
        actor=actor,
        project=world.project,
        name="m",
        type="model",
        files=[{"path": "a.bin", "sha256": sha(b"abc"), "size": 3}],
    )
    with pytest.raises(ValidationError, match="not uploaded"):
        services.commit_version(actor=actor, version=version)
    services.upload_blob(actor=actor, stream=io.BytesIO(b"abc"))
    committed = services.commit_version(actor=actor, version=version)
    assert committed.index == 0
    wrong = services.create_version(
        actor=actor,
        project=world.project,
        name="m",
        type="model",
        files=[{"path": "a.bin", "sha256": sha(b"abc"), "size": 4}],
    )
    with pytest.raises(ValidationError, match="Size"):
        services.commit_version(actor=actor, version=wrong)
    wrong.refresh_from_db()
    assert wrong.state == VersionState.PENDING and wrong.index is None


def test_upload_with_a_wrong_digest_stores_nothing(world):
    with pytest.raises(ValidationError, match="not the declared"):
        services.upload_blob(actor=world["org_admin"], stream=io.BytesIO(b"data"), sha256="0" * 64)
    assert not Blob.objects.exists()
    assert not get_store().exists(sha(b"data"))


@pytest.mark.parametrize("path", ["../etc/passwd", "/abs/path", "a/../b", "a//b", "C:/x", "a\\b", "", "./a"])
def test_bad_manifest_paths_are_refused_and_nothing_written(world, path):
    with pytest.raises(ValidationError):
        services.create_version(
            actor=world["org_admin"],
            project=world.project,
            name="m",
            type="model",
            files=[{"path": path, "sha256": sha(b"x"), "size": 1}],
        )
    assert not ArtifactVersion.objects.exists()
    assert not ManifestEntry.objects.exists()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([{"path": "a", "sha256": "xyz", "size": 1}], "64 hexadecimal"),
        ([{"path": "a", "sha256": "a" * 64, "size": -1}], "non-negative"),
        ([{"path": "a", "sha256": "a" * 64, "size": 1}, {"path": "a", "sha256": "a" * 64, "size": 1}], "twice"),
    ],
)
def test_bad_manifest_entries(world, files, message):
    with pytest.raises(ValidationError, match=message):
        services.create_version(actor=world["org_admin"], project=world.project, name="m", type="model", files=files)


def test_metadata_limits(world):
    kwargs = {"actor": world["org_admin"], "project": world.project, "name": "m", "type": "model", "files": []}
    with pytest.raises(ValidationError, match="100 top-level"):
        services.create_version(metadata={str(i): i for i in range(101)}, **kwargs)
    with pytest.raises(ValidationError, match="1 MB"):
        services.create_version(metadata={"blob": "x" * (2 * 1024 * 1024)}, **kwargs)
    with pytest.raises(ValidationError, match="Infinity"):
        services.create_version(metadata={"x": float("inf")}, **kwargs)
    with pytest.raises(ValidationError, match="JSON object"):
        services.create_version(metadata=[1, 2], **kwargs)
    assert not ArtifactVersion.objects.exists()
    version = services.create_version(metadata={"nan": float("nan")}, **kwargs)
    assert version.metadata == {"nan": None}


def test_type_of_an_artifact_is_fixed(world):
    world.version(name="m", type="model")
    with pytest.raises(ValidationError, match="has type"):
        world.version(name="m", type="dataset")


def test_only_team_members_log_artifacts(world):
    for persona in ["registry_admin", "outsider", "restricted_viewer"]:
        with pytest.raises(PermissionDenied):
            services.create_version(actor=world[persona], project=world.project, name="m", type="model", files=[])
    assert not ArtifactVersion.objects.exists()


def test_runs_record_lineage(world):
    actor = world["member"]
    run = services.create_run(actor=actor, project=world.project, run_id="train-1", config={"lr": 0.1})
    data = world.version(name="images", type="dataset")
    use_artifact(actor=actor, run=run, version=data)
    use_artifact(actor=actor, run=run, version=data)  # idempotent
    model = services.log_artifact(
        actor=actor, project=world.project, name="m", type="model", files={"w": b"w"}, run=run
    )
    assert set(ArtifactUsage.objects.values_list("kind", "version_id")) == {
        (UsageKind.INPUT, data.pk),
        (UsageKind.OUTPUT, model.pk),
    }
    assert AuditEvent.objects.filter(action=Action.RUN_USE_ARTIFACT).count() == 1
    with pytest.raises(ValidationError, match="already exists"):
        services.create_run(actor=actor, project=world.project, run_id="train-1")
    with pytest.raises(PermissionDenied):
        services.create_run(actor=world["outsider"], project=world.project)


def test_registry_viewer_may_use_a_linked_version_but_restricted_viewer_may_not(world):
    link = world.link()
    # A Viewer of the registry, in a team of their own with a project: they may use the linked version.
    team = orgs.create_team(actor=world["org_admin"], org=world.org, name="eval")
    orgs.add_team_member(actor=world["org_admin"], team=team, user=world["team_member"])
    project = services.create_project(actor=world["team_member"], team=team, name="evals")
    run = services.create_run(actor=world["team_member"], project=project)
    assert use_artifact(actor=world["team_member"], run=run, version=link.version, link=link)
    assert not can_download(world["restricted_viewer"], link.version, link)
    assert can_download(world["viewer"], link.version, link)
    assert not can_download(world["outsider"], link.version, link)


def test_access_is_decided_by_the_path_not_by_another_link(world):
    """A Restricted Viewer here stays one even when the version is also linked where they are a Viewer."""
    link = world.link()
    open_registry = registries.create_registry(actor=world["org_admin"], org=world.org, name="Open")
    other = collections.link_version(
        actor=world["org_admin"], version=link.version, registry=open_registry, collection_name="copy"
    )
    rviewer = world["restricted_viewer"]
    assert can_download(rviewer, link.version, other)
    assert not can_download(rviewer, link.version, link)
    assert not can_download(rviewer, link.version)  # the source path: not in the team
    run = services.create_run(actor=world["org_admin"], project=world.project)
    with pytest.raises(PermissionDenied):
        use_artifact(actor=rviewer, run=run, version=link.version, link=link)
