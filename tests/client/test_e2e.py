"""The Python client end to end against the live Django server (real services, database and blob store)."""

import filecmp
from pathlib import Path

import pytest

from apps.artifacts.models import ArtifactUsage, UsageKind
from registry_client import Artifact, AuthError, Client, InvalidInput, NotFound, PermissionDenied, Version

from .conftest import GOLDEN

pytestmark = pytest.mark.django_db(transaction=True)


def same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def test_viewer_and_bad_keys(world, as_persona, live_server):
    me = as_persona("member").viewer()
    assert me["username"] == "member"
    assert [o["slug"] for o in me["orgs"]] == ["acme"]
    with pytest.raises(AuthError):
        Client(live_server.url, "reg-" + "x" * 40, progress=False).viewer()
    with pytest.raises(AuthError):
        Client(live_server.url, None, progress=False).viewer()


def test_log_resume_link_resolve_download(world, as_persona, model_dir, tmp_path, monkeypatch):
    client = as_persona("member")
    version = client.log_artifact(
        model_dir,
        name="resnet",
        type="model",
        project="vision/detector",
        metadata={"acc": 0.93},
        description="first cut",
    )
    assert isinstance(version, Version)
    assert (version.state, version.version, version.path) == ("committed", "v0", "vision/detector/resnet:v0")
    assert version.metadata == {"acc": 0.93}
    # One upload per distinct blob: the duplicate weights file is sent once.
    uploaded = {u["path"] for u in version.uploads}
    assert len(version.uploads) == 3
    assert (
        {"README.md", "config/params.json"}
        < uploaded
        < {"README.md", "config/params.json", "weights.bin", "weights-copy.bin"}
    )

    again = client.log_artifact(model_dir, name="resnet", type="model", project="vision/detector")
    assert again.uploads == []  # every blob is stored already: nothing is re-sent
    assert again.digest == version.digest

    linked = client.link_artifact(version, f"{GOLDEN}/resnet-clf", aliases=["staging"])
    assert linked.path == f"{GOLDEN}/resnet-clf:v0"
    assert "staging" in linked.aliases
    assert linked.source_path == "vision/detector/resnet:v0"
    assert client.link_artifact("vision/detector/resnet:v0", f"{GOLDEN}/resnet-clf").path == linked.path

    artifact = client.artifact(f"{GOLDEN}/resnet-clf:staging")
    assert isinstance(artifact, Artifact)
    assert (artifact.version, artifact.metadata) == ("v0", {"acc": 0.93})
    assert set(artifact.aliases) >= {"staging", "latest"}
    assert sorted(f.path for f in artifact.files()) == [
        "README.md",
        "config/params.json",
        "weights-copy.bin",
        "weights.bin",
    ]

    root = artifact.download(tmp_path / "out")
    assert same_tree(model_dir, root)
    assert artifact.download(tmp_path / "out") == root  # everything present: nothing fetched

    monkeypatch.chdir(tmp_path)
    default_root = client.artifact("acme/wandb-registry-Golden Models/resnet-clf").download()
    assert default_root == Path("artifacts") / f"{artifact.name}-v0"
    assert same_tree(model_dir, tmp_path / default_root)


def test_log_artifact_links_with_aliases_when_given_a_target(world, as_persona, model_dir):
    version = as_persona("member").log_artifact(
        model_dir / "README.md",
        name="notes",
        type="model",
        project="vision/detector",
        target_path=f"{GOLDEN}/notes",
        aliases=["candidate"],
    )
    assert version.linked.path == f"{GOLDEN}/notes:v0"
    assert "candidate" in version.linked.aliases


def test_permissions_reach_the_client(world, as_persona, model_dir, tmp_path):
    path = f"{GOLDEN}/{world.link(aliases=['production']).collection.name}:production"

    restricted = as_persona("restricted_viewer").artifact(path)
    assert restricted.version == "v0"  # metadata is visible …
    with pytest.raises(PermissionDenied):
        restricted.download(tmp_path / "rv")  # … files are not
    assert not (tmp_path / "rv" / "model.bin").exists()

    assert (as_persona("viewer").artifact(path).download(tmp_path / "v") / "model.bin").read_bytes() == b"weights"
    with pytest.raises(PermissionDenied):
        as_persona("viewer").link_artifact(path, f"{GOLDEN}/copy")  # viewers may not link
    with pytest.raises(NotFound):
        as_persona("outsider").artifact(path)
    with pytest.raises(InvalidInput):
        as_persona("member").log_artifact(model_dir, name="bad/name", type="model", project="vision/detector")


def test_runs_record_lineage(world, as_persona, model_dir, tmp_path):
    client = as_persona("member")
    train = client.init_run("vision/detector", name="train", config={"epochs": 3})
    produced = train.log_artifact(model_dir, name="resnet", type="model")
    evaluate = client.init_run("vision/detector", name="eval")
    used = evaluate.use_artifact(produced.path)
    assert isinstance(used, Artifact)
    assert same_tree(model_dir, used.download(tmp_path / "used"))
    kinds = set(ArtifactUsage.objects.filter(version_id=produced.id).values_list("run__run_id", "kind"))
    assert kinds == {(train.run_id, UsageKind.OUTPUT), (evaluate.run_id, UsageKind.INPUT)}


def test_browse_and_search_lazily(world, as_persona):
    for _ in range(3):
        world.link(version=world.version(content=b"w" * 3), collection="classifier")
    world.link(version=world.version(name="model-b"), collection="detector", aliases=["production"])
    client = as_persona("member")

    registries = client.registries(org="acme")
    names = [r.name for r in registries]
    assert "Golden Models" in names
    golden = client.registry(GOLDEN)
    assert (golden.name, golden.role) == ("Golden Models", "member")
    assert sorted(c.name for c in golden.collections()) == ["classifier", "detector"]

    classifier = golden.collections(filter={"name": "classifier"}).first()
    pages = list(classifier.versions(per_page=1).pages())  # one version a page, newest link first
    assert [v.version for page in pages for v in page] == ["v2", "v1", "v0"]
    assert len(pages) >= 3

    chain = client.registries(filter={"name": "Golden Models"}).collections().versions(filter={"alias": "production"})
    assert [v.path for v in chain] == [f"{GOLDEN}/detector:v0"]
    assert [r.name for r in as_persona("outsider").registries(org="acme")] == []


def test_aliases_tags_and_unlink(world, as_persona):
    world.link(aliases=["staging"])
    member, admin = as_persona("member"), as_persona("registry_admin")
    path = f"{GOLDEN}/classifier:v0"
    assert "candidate" in member.add_alias(path, "candidate").aliases
    assert "candidate" not in member.remove_alias(path, "candidate").aliases
    with pytest.raises(PermissionDenied):
        member.add_alias(path, "production")  # protected: admins only
    assert "production" in admin.add_alias(path, "production").aliases
    assert member.add_tag(path, "reviewed")["tags"] == ["reviewed"]
    assert member.remove_tag(path, "reviewed")["tags"] == []
    with pytest.raises(PermissionDenied):
        member.unlink(path)  # holds a protected alias
    admin.remove_alias(path, "production")
    member.unlink(path)
    with pytest.raises(NotFound):
        member.artifact(path)


def test_descriptions_protected_aliases_and_source_projects(world, as_persona):
    for i in range(3):
        world.version(content=f"w{i}".encode())
    world.link()
    member, admin = as_persona("member"), as_persona("registry_admin")
    path = f"{GOLDEN}/classifier:v0"

    linked = member.artifact(path).set_description("Evaluated on **holdout-7**")
    assert linked.description == "Evaluated on **holdout-7**"
    assert member.artifact(linked.source_path).description == "Evaluated on **holdout-7**"

    assert admin.protected_aliases(GOLDEN) == ["production"]
    assert admin.protect_alias(GOLDEN, "staging") == ["production", "staging"]
    with pytest.raises(PermissionDenied):
        member.protect_alias(GOLDEN, "qa")
    with pytest.raises(PermissionDenied):
        member.add_alias(path, "staging")
    assert admin.unprotect_alias(GOLDEN, "staging") == ["production"]
    assert "staging" in member.add_alias(path, "staging").aliases

    [project] = list(member.projects())
    assert (project.path, repr(project)) == ("vision/detector", "<Project vision/detector>")
    assert [v.version for v in project.versions(per_page=2)] == ["v3", "v2", "v1", "v0"]
    assert [v.version for v in project.versions(name="nope")] == []
    assert list(as_persona("viewer").projects()) == []
