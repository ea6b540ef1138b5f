"""One call for the common case (issue 13): POST /artifacts with `commit` (and `target_path`, `aliases`)."""

import pytest

from apps.artifacts.models import ArtifactSequence, ArtifactVersion, ManifestEntry
from apps.audit.models import AuditEvent
from apps.collections.models import Collection, Link
from tests.api.conftest import sha
from tests.api.test_upload import log

PROJECT = "vision/detector"
TARGET = "acme/wandb-registry-Golden Models/classifier"


def body(files=None, **extra):
    return {"project": PROJECT, "name": "weights", "type": "model", "files": files or [], **extra}


def test_commit_in_one_call_stored_bytes(api):
    client = api("member")
    data = b"weights" * 10
    log(client, {"model.bin": data}, name="first")  # the bytes are stored now
    response = client.post("artifacts", body([{"path": "m.bin", "sha256": sha(data), "size": len(data)}], commit=True))
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["uploads"] == [] and answer["linked"] is None
    version = answer["version"]
    assert (version["state"], version["version"], version["path"]) == ("committed", "v0", f"{PROJECT}/weights:v0")
    assert version["aliases"] == ["latest"] and version["digest"]
    stored = ArtifactVersion.objects.get(pk=version["id"])
    assert stored.digest == version["digest"] and stored.entries.get().path == "m.bin"
    resolved = client.get("artifacts/resolve", {"path": f"{PROJECT}/weights:latest"}).json()
    assert resolved["id"] == version["id"] and resolved["files"][0]["sha256"] == sha(data)


def test_create_and_link_in_one_call_records_the_same_events_as_three_calls(api, world):
    client = api("member")
    world.link()  # the collection exists
    three = log(client, {}, name="weights")["committed"]
    linked = client.post("links", {"version_id": three["id"], "target_path": TARGET, "aliases": ["candidate"]})
    assert linked.status_code == 201, linked.content
    three_calls = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    start = AuditEvent.objects.count()
    response = client.post(
        "artifacts", body(commit=True, target_path=TARGET, aliases=["candidate"], metadata={"acc": 0.9})
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    one_call = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)[start:])
    assert one_call == three_calls[-len(one_call) :]
    assert one_call == ["artifact:create", "artifact:commit", "collection:link", "alias:add"]
    linked = answer["linked"]
    assert (linked["version"], linked["aliases"], linked["collection"]) == ("v2", ["candidate", "latest"], TARGET)
    assert linked["source_path"] == f"{PROJECT}/weights:v1" and linked["metadata"] == {"acc": 0.9}
    assert answer["version"]["id"] == linked["id"]
    # What the answer says is what is stored: the same as reading it back.
    assert client.get("artifacts/resolve", {"path": f"{TARGET}:candidate"}).json() | {"files": None} == linked | {
        "files": None
    }
    assert Link.objects.get(collection__name="classifier", index=1).aliases.count() == 0  # `candidate` moved


def test_first_link_creates_the_collection(api):
    response = api("member").post("artifacts", body(commit=True, target_path=f"{TARGET}-new"))
    assert response.status_code == 201, response.content
    assert response.json()["linked"]["version"] == "v0"
    assert Collection.objects.filter(name="classifier-new", type="model").exists()


def test_missing_bytes_answer_409_and_write_nothing(api):
    client = api("member")
    before = (ArtifactVersion.objects.count(), ArtifactSequence.objects.count(), AuditEvent.objects.count())
    files = [{"path": "new.bin", "sha256": sha(b"never uploaded"), "size": 14}]
    response = client.post("artifacts", body(files, commit=True, target_path=TARGET))
    assert response.status_code == 409, response.content
    assert response.json()["missing"] == files
    assert "not uploaded yet: new.bin" in response.json()["detail"]
    after = (ArtifactVersion.objects.count(), ArtifactSequence.objects.count(), AuditEvent.objects.count())
    assert after == before and not ManifestEntry.objects.exists() and not Collection.objects.exists()


def test_missing_bytes_in_a_new_project_leave_no_project(api):
    files = [{"path": "new.bin", "sha256": sha(b"never uploaded"), "size": 14}]
    response = api("member").post("artifacts", body(files, commit=True) | {"project": "vision/brand-new"})
    assert response.status_code == 409
    assert not AuditEvent.objects.filter(action="project:create", target_repr="vision/brand-new").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"target_path": TARGET}, "needs “commit”"),
        ({"commit": True, "aliases": ["x"]}, "give “target_path”"),
        ({"commit": True, "target_path": f"{TARGET}:v0"}, "The target is a collection"),
        ({"commit": True, "target_path": TARGET, "type": "dataset"}, "does not accept"),
        ({"commit": True, "target_path": TARGET, "aliases": ["v3"]}, ""),
    ],
)
def test_bad_input_is_400_and_writes_nothing(api, extra, message):
    client = api("member")
    events = AuditEvent.objects.count()
    response = client.post("artifacts", body(**extra))
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert AuditEvent.objects.count() == events and not ArtifactVersion.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("org_admin", 201),
        ("member", 201),
        ("team_member", 201),
        ("registry_admin", 403),  # not in the project's team (as without `commit`)
        ("viewer", 403),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_permissions(api, persona, status):
    response = api(persona).post("artifacts", body(commit=True, target_path=TARGET))
    assert response.status_code == status, response.content
    assert ArtifactVersion.objects.exists() == (status == 201)


def test_protected_alias_needs_a_registry_admin_and_writes_nothing(api):
    response = api("member").post("artifacts", body(commit=True, target_path=TARGET, aliases=["production"]))
    assert response.status_code == 403
    assert not ArtifactVersion.objects.exists()
