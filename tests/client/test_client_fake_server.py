"""Client behaviour the live server can't easily provoke (retries, corrupt bytes, expired URLs), against an
in-process fake server (httpx.MockTransport)."""

import hashlib
import json

import httpx
import pytest

from registry_client import Client, NotFound, PermissionDenied, Run
from registry_client.errors import (
    AuthError,
    ChecksumMismatch,
    ConnectionFailed,
    InvalidInput,
    ServerError,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_client(handler, **kwargs):
    kwargs.setdefault("max_retries", 2)
    return Client(
        "http://fake.test",
        "reg-" + "k" * 40,
        transport=httpx.MockTransport(handler),
        backoff=0,
        progress=False,
        **kwargs,
    )


def version_json(files, **extra):
    return {
        "id": 7,
        "name": "clf",
        "type": "model",
        "version": "v0",
        "aliases": ["latest"],
        "tags": [],
        "metadata": {"acc": 0.9},
        "description": "",
        "size": sum(len(d) for d in files.values()),
        "digest": "x",
        "created_at": "2026-01-01T00:00:00Z",
        "state": "committed",
        "path": "acme/wandb-registry-m/clf:v0",
        "source_path": "vision/detector/clf:v0",
        "link_id": 1,
        "collection": "acme/wandb-registry-m/clf",
        "files": [
            {"path": p, "size": len(d), "sha256": sha(d), "md5": None, "url": f"/api/v1/blobs/download/{p}"}
            for p, d in files.items()
        ],
        **extra,
    }


def test_errors_carry_the_server_detail_and_4xx_is_not_retried():
    calls = []

    def handler(request):
        calls.append(request)
        status = int(request.url.params["status"])
        return httpx.Response(status, json={"detail": f"nope {status}"})

    client = make_client(handler)
    for status, cls in [(400, InvalidInput), (401, AuthError), (403, PermissionDenied), (404, NotFound)]:
        with pytest.raises(cls, match=f"nope {status}") as info:
            client._request("GET", "viewer", params={"status": status})
        assert info.value.status_code == status
    assert len(calls) == 4
    assert calls[0].headers["authorization"] == "Bearer reg-" + "k" * 40


def test_5xx_and_connection_errors_are_retried_then_reported():
    attempts = {"n": 0}

    def flaky(request):
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        if attempts["n"] == 2:
            return httpx.Response(503, json={"detail": "busy"})
        return httpx.Response(200, json={"username": "ada", "orgs": []})

    assert make_client(flaky).viewer()["username"] == "ada"
    assert attempts["n"] == 3

    def down(request):
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ConnectionFailed, match="Could not reach http://fake.test"):
        make_client(down).viewer()

    def broken(request):
        return httpx.Response(500, text="<html>boom</html>", headers={"content-type": "text/html"})

    with pytest.raises(ServerError, match="500 Internal Server Error"):
        make_client(broken).viewer()


def test_paginator_is_lazy_and_follows_cursors():
    seen = []

    def handler(request):
        seen.append(dict(request.url.params))
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return httpx.Response(200, json={"items": [{"id": 1, "org": "acme", "name": "a"}], "next_cursor": "c2"})
        return httpx.Response(200, json={"items": [{"id": 2, "org": "acme", "name": "b"}], "next_cursor": None})

    client = make_client(handler)
    registries = client.registries(filter={"name": {"$regex": "a|b"}}, org="acme", order="-name")
    assert seen == []
    assert [r.path for r in registries] == ["acme/wandb-registry-a", "acme/wandb-registry-b"]
    assert json.loads(seen[0]["filter"]) == {"name": {"$regex": "a|b"}}
    assert (seen[0]["org"], seen[0]["order"], seen[1]["cursor"]) == ("acme", "-name", "c2")

    seen.clear()
    list(registries.collections(filter={"tag": "x"}).versions(filter={"alias": "production"}))
    assert seen[0].keys() >= {"registry_filter", "collection_filter", "filter"}
    assert json.loads(seen[0]["filter"]) == {"alias": "production"}
    assert json.loads(seen[0]["collection_filter"]) == {"tag": "x"}


def test_every_list_and_named_object_sends_its_endpoint_and_query():
    seen = []

    def handler(request):
        params = dict(request.url.params)
        for key in ("filter", "registry_filter", "collection_filter"):
            if key in params:
                params[key] = json.loads(params[key])
        seen.append((request.method, request.url.raw_path.decode().split("?")[0], params))
        if request.url.path.endswith("/viewer"):
            return httpx.Response(200, json={"username": "m", "orgs": [{"slug": "acme"}]})
        if request.url.path.endswith("/protected-aliases"):
            return httpx.Response(200, json=["production"])
        if request.url.path.endswith("/use"):
            return httpx.Response(200, json=version_json({}))
        if "/registries/" in request.url.path:
            return httpx.Response(200, json={"id": 5, "org": "acme", "name": "Golden Models"})
        return httpx.Response(200, json={"items": [{"id": 9, "org": "acme", "name": "c"}], "next_cursor": None})

    client = make_client(handler)
    registry = client.registry("wandb-registry-Golden Models")  # one org: it is the default
    assert seen[-1] == ("GET", "/api/v1/registries/acme/Golden%20Models", {})
    list(registry.collections(filter={"tag": "x"}, order="name"))
    assert seen[-1] == (
        "GET",
        "/api/v1/collections",
        {"registry_filter": {"id": 5}, "filter": {"tag": "x"}, "order": "name", "org": "acme", "per_page": "50"},
    )
    list(registry.versions(per_page=3))
    assert seen[-1] == ("GET", "/api/v1/versions", {"registry_filter": {"id": 5}, "org": "acme", "per_page": "3"})
    [collection] = client.collections()
    list(collection.versions(filter={"alias": "production"}))
    assert seen[-1][2] == {
        "collection_filter": {"id": 9},
        "filter": {"alias": "production"},
        "org": "acme",
        "per_page": "50",
    }
    list(client.registries(filter={"name": "a"}, org="acme").versions())
    assert seen[-1] == ("GET", "/api/v1/versions", {"registry_filter": {"name": "a"}, "org": "acme", "per_page": "50"})
    list(client.project("vision/det ector").versions(name="clf", per_page=2))
    assert seen[-1] == ("GET", "/api/v1/projects/vision/det%20ector/versions", {"name": "clf", "per_page": "2"})
    assert client.protected_aliases("acme/Golden Models") == ["production"]
    assert seen[-1][1] == "/api/v1/registries/acme/Golden%20Models/protected-aliases"
    run = Run(client, {"run_id": "r/1", "project": "vision/detector"})
    run.use_artifact("vision/detector/clf:v0")
    assert seen[-1] == ("POST", "/api/v1/runs/vision/detector/r%2F1/use", {})
    with pytest.raises(InvalidInput, match="expected <team>/<project>"):
        client.project("vision")


def test_log_artifact_uploads_only_listed_blobs_streaming_without_credentials(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"already there")
    (tmp_path / "b.bin").write_bytes(b"new bytes" * 1000)
    (tmp_path / "copy.bin").write_bytes(b"new bytes" * 1000)
    puts, bodies = [], {}

    def handler(request):
        if request.url.path == "/api/v1/artifacts":
            body = json.loads(request.content)
            assert [f["path"] for f in body["files"]] == ["a.txt", "b.bin", "copy.bin"]
            assert body["run_id"] == "r1"
            missing = body["files"][1]
            if body.get("commit"):  # the one-call form first: the server lacks bytes, so 409
                return httpx.Response(409, json={"detail": "1 file(s) not uploaded yet: b.bin", "missing": [missing]})
            return httpx.Response(
                200,
                json={
                    "version": {"id": 11, "state": "pending"},
                    "uploads": [
                        {
                            **missing,
                            "url": "https://store.test/put?sig=1",
                            "method": "PUT",
                            "headers": {"x-amz-meta": "1"},
                        }
                    ],
                },
            )
        if request.url.host == "store.test":
            puts.append(request)
            bodies[request.url.path] = request.read()
            return httpx.Response(200)
        if request.url.path == "/api/v1/artifacts/11/commit":
            return httpx.Response(
                200, json={"id": 11, "version": "v0", "state": "committed", "path": "vision/detector/clf:v0"}
            )
        raise AssertionError(request.url)

    version = make_client(handler).log_artifact(tmp_path, name="clf", type="model", project="vision/detector", run="r1")
    assert (version.version, version.state) == ("v0", "committed")
    assert [u["path"] for u in version.uploads] == ["b.bin"]
    (put,) = puts
    assert "authorization" not in put.headers  # signed URL: our key must not leak to the object store
    assert put.headers["content-length"] == str(9000)
    assert "transfer-encoding" not in put.headers
    assert put.headers["x-amz-meta"] == "1"
    assert bodies["/put"] == b"new bytes" * 1000


def test_log_artifact_takes_one_call_when_the_server_holds_the_bytes(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"already there")
    seen = []

    def handler(request):
        body = json.loads(request.content)
        seen.append((request.method, request.url.path))
        assert body["commit"] is True
        assert (body["target_path"], body["aliases"]) == ("wandb-registry-model/clf", ["prod"])
        linked = {"id": 5, "version": "v3", "state": "committed", "path": "acme/wandb-registry-model/clf:v3"}
        return httpx.Response(
            201, json={"version": {"id": 5, "version": "v0", "state": "committed"}, "uploads": [], "linked": linked}
        )

    version = make_client(handler).log_artifact(
        tmp_path,
        name="clf",
        type="model",
        project="vision/detector",
        target_path="wandb-registry-model/clf",
        aliases=["prod"],
    )
    assert seen == [("POST", "/api/v1/artifacts")]
    assert (version.version, version.uploads, version.linked.version) == ("v0", [], "v3")


def test_log_artifact_checks_inputs(tmp_path):
    client = make_client(lambda r: httpx.Response(500))
    (tmp_path / "f").write_text("x")
    with pytest.raises(InvalidInput, match="team>/<project"):
        client.log_artifact(tmp_path, name="n", type="model", project="no-slash")
    with pytest.raises(InvalidInput, match="target_path"):
        client.log_artifact(tmp_path, name="n", type="model", project="t/p", aliases=["prod"])


def test_download_verifies_skips_and_retries(tmp_path):
    files = {"model.bin": b"weights" * 100, "cfg/config.json": b"{}"}
    gets = []
    corrupt_once = {"model.bin": True}

    def handler(request):
        if request.url.path == "/api/v1/artifacts/resolve":
            return httpx.Response(200, json=version_json(files))
        name = request.url.path.removeprefix("/api/v1/blobs/download/")
        gets.append(name)
        assert "authorization" not in request.headers
        if corrupt_once.pop(name, False):
            return httpx.Response(200, content=b"garbage")
        return httpx.Response(200, content=files[name])

    client = make_client(handler)
    artifact = client.artifact("acme/wandb-registry-m/clf:v0")
    assert artifact.metadata == {"acc": 0.9}
    assert [f.path for f in artifact.files()] == ["model.bin", "cfg/config.json"]
    root = artifact.download(tmp_path / "out")
    assert (root / "model.bin").read_bytes() == files["model.bin"]
    assert (root / "cfg" / "config.json").read_bytes() == b"{}"
    assert sorted(gets) == ["cfg/config.json", "model.bin", "model.bin"]  # corrupt bytes fetched again
    assert not list(root.rglob("*.part"))

    gets.clear()
    (root / "cfg" / "config.json").write_bytes(b"[]")  # same size, wrong digest: fetched again
    artifact.download(root)
    assert gets == ["cfg/config.json"]
    assert (root / "cfg" / "config.json").read_bytes() == b"{}"

    gets.clear()
    artifact.download(root)
    assert gets == []  # everything already present


def test_download_never_keeps_bad_bytes(tmp_path):
    files = {"model.bin": b"weights"}

    def handler(request):
        if request.url.path == "/api/v1/artifacts/resolve":
            return httpx.Response(200, json=version_json(files))
        return httpx.Response(200, content=b"evil!!!")

    with pytest.raises(ChecksumMismatch, match="model.bin"):
        make_client(handler).artifact("t/p/clf:v0").download(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_refreshes_expired_urls_and_refuses_unsafe_paths(tmp_path):
    files = {"model.bin": b"weights"}
    resolves = []

    def handler(request):
        if request.url.path == "/api/v1/artifacts/resolve":
            resolves.append(1)
            data = version_json(files)
            data["files"][0]["url"] += f"?n={len(resolves)}"
            return httpx.Response(200, json=data)
        if request.url.params["n"] == "1":
            return httpx.Response(403, json={"detail": "This link has expired."})
        return httpx.Response(200, content=files["model.bin"])

    make_client(handler).artifact("t/p/clf:v0").download(tmp_path)
    assert (tmp_path / "model.bin").read_bytes() == b"weights"
    assert len(resolves) == 2

    def evil(request):
        data = version_json({"../../escape": b"x"})
        return httpx.Response(200, json=data)

    with pytest.raises(InvalidInput, match="unsafe path"):
        make_client(evil).artifact("t/p/clf:v0").download(tmp_path / "safe")


def test_download_without_url_is_permission_denied(tmp_path):
    def handler(request):
        data = version_json({"model.bin": b"w"})
        data["files"][0]["url"] = None
        return httpx.Response(200, json=data)

    with pytest.raises(PermissionDenied, match="may not download"):
        make_client(handler).artifact("t/p/clf:v0").download(tmp_path)


class _DropsAfter(httpx.SyncByteStream):
    """A response body that breaks after `n` bytes, like a connection reset."""

    def __init__(self, data: bytes, n: int):
        self.data, self.n = data, n

    def __iter__(self):
        yield self.data[: self.n]
        raise httpx.ReadError("connection reset by peer")


def test_download_resumes_a_dropped_connection_with_range(tmp_path):
    data = bytes(range(256)) * 40
    ranges = []

    def handler(request):
        if request.url.path == "/api/v1/artifacts/resolve":
            return httpx.Response(200, json=version_json({"model.bin": data}))
        ranges.append(request.headers.get("range"))
        if len(ranges) == 1:
            return httpx.Response(200, stream=_DropsAfter(data, 1000))
        start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
        return httpx.Response(
            206, content=data[start:], headers={"content-range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        )

    make_client(handler).artifact("t/p/clf:v0").download(tmp_path)
    assert (tmp_path / "model.bin").read_bytes() == data
    assert ranges == [None, "bytes=1000-"]


def test_download_restarts_when_the_server_ignores_range(tmp_path):
    data = b"0123456789" * 500
    calls = []

    def handler(request):
        if request.url.path == "/api/v1/artifacts/resolve":
            return httpx.Response(200, json=version_json({"model.bin": data}))
        calls.append(request.headers.get("range"))
        if len(calls) == 1:
            return httpx.Response(200, stream=_DropsAfter(data, 700))
        return httpx.Response(200, content=data)  # no 206: the whole file again

    make_client(handler).artifact("t/p/clf:v0").download(tmp_path)
    assert (tmp_path / "model.bin").read_bytes() == data
    assert calls == [None, "bytes=700-"]


def test_a_failed_upload_stops_the_others_and_is_reported(tmp_path):
    for i in range(8):
        (tmp_path / f"f{i}.bin").write_bytes(bytes([i]) * 10)

    def handler(request):
        if request.url.path == "/api/v1/artifacts":
            if json.loads(request.content).get("commit"):
                return httpx.Response(409, json={"detail": "missing", "missing": []})
            files = json.loads(request.content)["files"]
            uploads = [{**f, "url": f"https://store.test/{f['path']}", "method": "PUT", "headers": {}} for f in files]
            return httpx.Response(201, json={"version": {"id": 3}, "uploads": uploads})
        if request.url.path == "/f3.bin":
            return httpx.Response(400, json={"detail": "The uploaded bytes have the wrong SHA-256."})
        return httpx.Response(204)

    with pytest.raises(InvalidInput, match=r"Uploading f3\.bin: The uploaded bytes have the wrong SHA-256"):
        make_client(handler).log_artifact(tmp_path, name="n", type="model", project="t/p")


def test_uploads_stream_from_disk_in_chunks(tmp_path):
    from registry_client.files import CHUNK

    (tmp_path / "big.bin").write_bytes(b"\0" * (CHUNK * 2 + 5))
    chunks = []

    class Server(httpx.BaseTransport):
        """Unlike MockTransport, reads upload bodies chunk by chunk as a real server would."""

        def handle_request(self, request):
            if request.url.path == "/api/v1/artifacts":
                if json.loads(request.read()).get("commit"):
                    return httpx.Response(409, json={"detail": "missing", "missing": []})
                (f,) = json.loads(request.read())["files"]
                upload = {**f, "url": "/api/v1/blobs/upload/token", "method": "PUT", "headers": {}}
                return httpx.Response(201, json={"version": {"id": 1}, "uploads": [upload]})
            if request.url.path == "/api/v1/blobs/upload/token":
                assert request.headers["content-length"] == str(CHUNK * 2 + 5)
                chunks.extend(len(chunk) for chunk in request.stream)
                return httpx.Response(204)
            return httpx.Response(200, json={"id": 1, "version": "v0", "state": "committed"})

    client = Client("http://fake.test", "reg-x", transport=Server(), progress=False)
    client.log_artifact(tmp_path / "big.bin", name="n", type="model", project="t/p")
    assert chunks == [CHUNK, CHUNK, 5]  # never the whole file in memory


def test_progress_bars_follow_the_terminal(monkeypatch):
    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    client = Client("http://fake.test", "reg-x")
    monkeypatch.setattr("sys.stderr", Stream(True))
    assert client._progress_enabled(None) is True
    assert client._progress_enabled(False) is False
    monkeypatch.setattr("sys.stderr", Stream(False))
    assert client._progress_enabled(None) is False
    assert Client("http://fake.test", "reg-x", progress=True)._progress_enabled(None) is True


def test_the_client_never_imports_django():
    import subprocess
    import sys

    code = "import sys, registry_client, registry_client.cli; assert 'django' not in sys.modules, 'django imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_deprecation_warning_from_the_server_is_shown(recwarn):
    """A migrated legacy model registry path answers W&B's deprecation text in a 299 Warning header."""
    text = "This model registry has been migrated and will be discontinued. Your request was redirected to x."

    def handler(request):
        return httpx.Response(200, json=version_json({}), headers={"Warning": f'299 - "{text}"'})

    with pytest.warns(FutureWarning, match="This model registry has been migrated"):
        make_client(handler).artifact("vision/model-registry/resnet:v0")
