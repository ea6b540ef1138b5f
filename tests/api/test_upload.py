"""The upload protocol: create → upload only missing blobs → commit; downloads with Range."""

import pytest

from apps.artifacts.models import ArtifactVersion, Blob, ManifestEntry
from apps.artifacts.storage import get_store
from apps.audit.models import AuditEvent
from tests.api.conftest import sha

PROJECT = "vision/detector"


def manifest(files: dict[str, bytes]) -> list[dict]:
    return [{"path": path, "sha256": sha(data), "size": len(data)} for path, data in files.items()]


def create(client, files: dict[str, bytes], name="weights", **extra):
    return client.post(
        "artifacts", {"project": PROJECT, "name": name, "type": "model", "files": manifest(files), **extra}
    )


def put(client, upload: dict, data: bytes):
    return client.client.put(upload["url"], data, content_type="application/octet-stream")


def log(client, files: dict[str, bytes], **extra) -> dict:
    created = create(client, files, **extra)
    assert created.status_code == 201, created.content
    by_sha = {sha(data): data for data in files.values()}
    for upload in created.json()["uploads"]:
        assert put(client, upload, by_sha[upload["sha256"]]).status_code == 204
    committed = client.post(f"artifacts/{created.json()['version']['id']}/commit")
    assert committed.status_code == 200, committed.content
    return {"created": created.json(), "committed": committed.json()}


def test_upload_commit_and_resolve(api):
    client = api("member")
    files = {"model.bin": b"weights" * 100, "config/params.json": b"{}"}
    result = log(client, files, metadata={"accuracy": 0.9}, description="first")
    assert result["created"]["version"]["state"] == "pending"
    assert result["created"]["version"]["version"] is None
    assert {u["path"] for u in result["created"]["uploads"]} == set(files)
    version = result["committed"]
    assert (version["version"], version["state"], version["path"]) == ("v0", "committed", f"{PROJECT}/weights:v0")
    assert version["aliases"] == ["latest"]
    assert version["digest"]
    resolved = client.get("artifacts/resolve", {"path": f"{PROJECT}/weights:latest"}).json()
    assert {f["path"]: f["size"] for f in resolved["files"]} == {p: len(d) for p, d in files.items()}
    body = client.client.get(next(f["url"] for f in resolved["files"] if f["path"] == "model.bin"))
    assert b"".join(body.streaming_content) == files["model.bin"]


def test_identical_bytes_are_stored_once_and_not_asked_again(api):
    client = api("member")
    log(client, {"a.bin": b"same", "b.bin": b"same"})
    assert Blob.objects.count() == 1
    again = create(client, {"c.bin": b"same", "d.bin": b"new"}).json()
    assert [u["path"] for u in again["uploads"]] == ["d.bin"]


def test_resumed_upload_sends_only_what_is_missing(api):
    client = api("member")
    files = {"one.bin": b"1" * 1000, "two.bin": b"2" * 1000}
    first = create(client, files).json()
    one = next(u for u in first["uploads"] if u["path"] == "one.bin")
    assert put(client, one, files["one.bin"]).status_code == 204
    # The connection drops; the client starts over with the same manifest.
    second = create(client, files).json()
    assert [u["path"] for u in second["uploads"]] == ["two.bin"]
    assert client.post(f"artifacts/{second['version']['id']}/commit").status_code == 400
    assert put(client, second["uploads"][0], files["two.bin"]).status_code == 204
    assert client.post(f"artifacts/{second['version']['id']}/commit").json()["version"] == "v0"


def test_wrong_digest_is_refused_and_nothing_stored(api):
    client = api("member")
    created = create(client, {"model.bin": b"declared"}).json()
    upload = created["uploads"][0]
    response = client.client.put(upload["url"], b"xxxxxxxx", content_type="application/octet-stream")
    assert response.status_code == 400
    assert "SHA-256" in response.json()["detail"]
    assert not Blob.objects.exists()
    assert not get_store().exists(upload["sha256"])
    assert client.post(f"artifacts/{created['version']['id']}/commit").status_code == 400
    assert ArtifactVersion.objects.get().state == "pending"


def test_wrong_size_is_refused(api):
    client = api("member")
    upload = create(client, {"model.bin": b"declared"}).json()["uploads"][0]
    assert put(client, upload, b"short").status_code == 400
    assert not Blob.objects.exists()


def test_tampered_or_foreign_upload_token_is_403(api):
    client = api("member")
    upload = create(client, {"model.bin": b"declared"}).json()["uploads"][0]
    response = client.client.put(upload["url"][:-3] + "abc", b"declared", content_type="application/octet-stream")
    assert response.status_code == 403
    download = upload["url"].replace("/upload/", "/download/")
    assert client.client.get(download).status_code == 403


@pytest.mark.parametrize("path", ["../escape.bin", "a/../../b", "/etc/passwd", "C:/x", "a//b", "./a"])
def test_unsafe_manifest_paths_are_400_and_nothing_written(api, path):
    client = api("member")
    events = AuditEvent.objects.count()
    response = client.post(
        "artifacts",
        {
            "project": "vision/fresh-project",
            "name": "m",
            "type": "model",
            "files": [{"path": path, "sha256": sha(b"x"), "size": 1}],
        },
    )
    assert response.status_code == 400, response.content
    assert not ArtifactVersion.objects.exists()
    assert not ManifestEntry.objects.exists()
    assert AuditEvent.objects.count() == events  # not even the auto-created project


def test_oversize_metadata_is_400(api):
    client = api("member")
    response = create(client, {}, metadata={"blob": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 400
    assert "1 MB" in response.json()["detail"]
    assert not ArtifactVersion.objects.exists()


def test_bad_shapes_are_400_not_422(api):
    client = api("member")
    assert client.post("artifacts", {"project": PROJECT, "name": "m"}).status_code == 400
    bad_sha = [{"path": "a", "sha256": "nothex", "size": 1}]
    assert (
        client.post("artifacts", {"project": PROJECT, "name": "m", "type": "model", "files": bad_sha}).status_code
        == 400
    )
    response = client.client.post("/api/v1/artifacts", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_range_requests(api):
    client = api("member")
    data = bytes(range(256)) * 10
    log(client, {"data.bin": data})
    url = client.get("artifacts/resolve", {"path": f"{PROJECT}/weights:v0"}).json()["files"][0]["url"]
    partial = client.client.get(url, headers={"Range": "bytes=10-19"})
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert b"".join(partial.streaming_content) == data[10:20]
    tail = client.client.get(url, headers={"Range": "bytes=-5"})
    assert b"".join(tail.streaming_content) == data[-5:]
    assert client.client.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    full = client.client.get(url)
    assert full.status_code == 200
    assert full["Accept-Ranges"] == "bytes"
    assert b"".join(full.streaming_content) == data


def test_link_use_and_audit_detail_names_the_key(api, world):
    client = api("member")
    log(client, {"model.bin": b"m"})
    linked = client.post(
        "links",
        {
            "source": f"{PROJECT}/weights:v0",
            "target_path": "wandb-registry-Golden Models/classifier",
            "aliases": ["candidate"],
        },
    )
    assert linked.status_code == 201
    assert linked.json()["path"] == "acme/wandb-registry-Golden Models/classifier:v0"
    again = client.post(
        "links", {"version_id": linked.json()["id"], "target_path": "acme/wandb-registry-Golden Models/classifier"}
    )
    assert again.status_code == 200
    assert again.json()["link_id"] == linked.json()["link_id"]
    event = AuditEvent.objects.filter(action="collection:link").get()
    assert event.actor_detail == "api-key:tests"
    run = client.post("runs", {"project": PROJECT, "run_id": "eval-1"})
    assert run.status_code == 201
    used = client.post(
        "runs/vision/detector/eval-1/use", {"path": "acme/wandb-registry-Golden Models/classifier:candidate"}
    )
    assert used.status_code == 200
    assert AuditEvent.objects.filter(action="run:use_artifact", actor_detail="api-key:tests").exists()


def test_commit_of_invisible_version_is_404(api):
    created = create(api("member"), {"a": b"a"}).json()
    assert api("viewer").post(f"artifacts/{created['version']['id']}/commit").status_code == 404
    assert api("outsider").post(f"artifacts/{created['version']['id']}/commit").status_code == 404


def test_upload_streams_without_loading_the_body(api, settings):
    """request.body is never read: Django's in-memory cap does not apply to blob uploads."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    data = b"z" * 100_000
    log(api("member"), {"big.bin": data})
    assert Blob.objects.get().size == len(data)


def test_head_and_file_redirect(api):
    client = api("viewer")
    member = api("member")
    log(member, {"model.bin": b"abc"})
    member.post("links", {"source": f"{PROJECT}/weights:v0", "target_path": "acme/wandb-registry-Golden Models/c"})
    path = "acme/wandb-registry-Golden Models/c:v0"
    redirect = client.get("artifacts/file", {"path": path, "name": "model.bin"})
    assert redirect.status_code == 302
    head = client.client.head(redirect["Location"])
    assert head.status_code == 200 and head["Content-Length"] == "3"
    assert client.get("artifacts/file", {"path": path, "name": "other.bin"}).status_code == 404
