"""The filesystem blob store, and the signed tokens of its upload/download URLs."""

import hashlib
import io

import pytest
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, ValidationError

from apps.artifacts.storage import (
    FileSystemStore,
    S3Store,
    sign_download,
    sign_upload,
    store_from_url,
    unsign_download,
    unsign_upload,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    return FileSystemStore(tmp_path / "blobs")


def test_put_verifies_and_stores_content_addressed(store):
    data = b"hello" * 1000
    digest, md5, size = store.put(io.BytesIO(data), expected_sha256=sha(data), size=len(data))
    assert (digest, md5, size) == (sha(data), hashlib.md5(data).hexdigest(), len(data))
    assert store.exists(digest)
    with store.open(digest) as handle:
        assert handle.read() == data


def test_put_starts_writing_big_uploads_to_disk_as_they_arrive(store, monkeypatch):
    """Each WRITEBACK_EVERY bytes the kernel is asked to start writing the range just received, so the
    final fsync does not write the whole file while the client waits; the blob is intact."""
    import os

    from apps.artifacts import storage

    monkeypatch.setattr(storage, "WRITEBACK_EVERY", 2 * storage.CHUNK)
    advised, real = [], os.posix_fadvise
    monkeypatch.setattr(
        os,
        "posix_fadvise",
        lambda fd, offset, length, advice: advised.append((offset, length, advice)) or real(fd, offset, length, advice),
    )
    data = bytes(range(256)) * (storage.CHUNK // 256) * 5 + b"tail"  # five chunks and a bit
    digest, _, size = store.put(io.BytesIO(data), expected_sha256=sha(data), size=len(data))
    chunk = storage.CHUNK
    assert advised == [(0, 2 * chunk, os.POSIX_FADV_DONTNEED), (2 * chunk, 2 * chunk, os.POSIX_FADV_DONTNEED)]
    with store.open(digest) as handle:
        assert handle.read() == data and size == len(data)


@pytest.mark.parametrize(("expected", "size"), [("0" * 64, None), (None, 3), (None, 100)])
def test_put_refuses_wrong_digest_or_size_and_leaves_nothing(store, expected, size):
    data = b"0123456789"
    with pytest.raises(ValidationError):
        store.put(io.BytesIO(data), expected_sha256=expected, size=size)
    assert not store.exists(sha(data))
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_upload_target_and_download_url_are_our_signed_endpoints(store):
    target = store.upload_target("a" * 64, 5)
    assert target["method"] == "PUT" and target["url"].startswith("/api/v1/blobs/upload/")
    assert store.download_url("a" * 64, "model.bin").startswith("/api/v1/blobs/download/")
    assert store.finalize_upload("a" * 64, 5) is None


def test_tokens_round_trip_and_refuse_tampering_and_age(settings):
    assert unsign_upload(sign_upload("a" * 64, 7)) == ("a" * 64, 7)
    assert unsign_download(sign_download("b" * 64, "x.bin")) == ("b" * 64, "x.bin")
    with pytest.raises(signing.BadSignature):
        unsign_upload(sign_download("b" * 64, "x.bin"))  # a download token is no upload token
    with pytest.raises(signing.BadSignature):
        unsign_upload(sign_upload("a" * 64, 7)[:-2] + "xx")


def test_tokens_expire(monkeypatch):
    import time

    token = sign_upload("a" * 64, 7)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3601)
    with pytest.raises(signing.SignatureExpired):
        unsign_upload(token)


def test_store_from_url(tmp_path):
    assert isinstance(store_from_url(f"file://{tmp_path}"), FileSystemStore)
    s3 = store_from_url("s3://bucket/some/prefix?endpoint=http://127.0.0.1:1&region=eu-west-1")
    assert isinstance(s3, S3Store)
    assert (s3.bucket, s3.prefix) == ("bucket", "some/prefix/")
    for bad in ["s3://?endpoint=x", "s3://b?colour=red", "ftp://x"]:
        with pytest.raises(ImproperlyConfigured):
            store_from_url(bad)
