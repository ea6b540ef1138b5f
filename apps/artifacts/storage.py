"""Blob storage: one small interface, two backends (a local folder, or any S3-compatible store).

Both backends hand out signed, expiring URLs, so clients move bytes without other credentials:
the filesystem store's URLs point at our own `/api/v1/blobs/…` endpoints (signed with
SECRET_KEY), S3's are presigned by boto3 and go straight to the object store.
"""

import hashlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, quote, urlparse

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import reverse

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# Start writing an upload to disk every this many bytes instead of all at the final fsync (below).
WRITEBACK_EVERY = 32 * CHUNK
URL_LIFETIME = 3600  # seconds a signed upload or download URL stays valid
# A temp file no write has touched for this long belongs to a server that died mid-upload (a live
# upload writes every chunk, and the upload URL itself expires after URL_LIFETIME).
STALE_TEMP_AGE = 3600  # seconds
TEMP_PREFIX = ".upload-"
_UPLOAD_SALT = "artifacts.blob-upload"
_DOWNLOAD_SALT = "artifacts.blob-download"


class BlobStore(Protocol):
    """What every backend implements. Blobs are addressed by their SHA-256 (hex)."""

    def exists(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def put(self, stream: BinaryIO, expected_sha256: str | None = None) -> tuple[str, str, int]: ...

    def upload_target(self, sha256: str, size: int) -> dict: ...

    def download_url(self, sha256: str, filename: str) -> str: ...

    def finalize_upload(self, sha256: str, size: int) -> str | None: ...

    def delete(self, sha256: str) -> None: ...

    def stored_blobs(self, before: float) -> Iterator[tuple[str, int]]: ...

    def remove_leftovers(self, *, idle_before: float, staged_before: float, dry_run: bool) -> list["Leftover"]: ...


@dataclass(frozen=True)
class Leftover:
    """Bytes a store holds that are not a blob: an interrupted upload's temp file, staged object or multipart upload."""

    kind: str
    name: str
    size: int


# --- Signed tokens for the filesystem store's own upload/download endpoints ---


def sign_upload(sha256: str, size: int) -> str:
    return signing.TimestampSigner(salt=_UPLOAD_SALT).sign_object({"sha256": sha256, "size": size}, compress=True)


def unsign_upload(token: str) -> tuple[str, int]:
    """(sha256, size) from an upload token; raises signing.BadSignature (or SignatureExpired)."""
    data = signing.TimestampSigner(salt=_UPLOAD_SALT).unsign_object(token, max_age=URL_LIFETIME)
    return data["sha256"], data["size"]


def sign_download(sha256: str, filename: str) -> str:
    return signing.TimestampSigner(salt=_DOWNLOAD_SALT).sign_object({"sha256": sha256, "name": filename}, compress=True)


def unsign_download(token: str) -> tuple[str, str]:
    """(sha256, filename) from a download token; raises signing.BadSignature (or SignatureExpired)."""
    data = signing.TimestampSigner(salt=_DOWNLOAD_SALT).unsign_object(token, max_age=URL_LIFETIME)
    return data["sha256"], data["name"]


class _Hashing:
    """Counts and hashes what a reader pulls through it; refuses more than `limit` bytes.

    MD5 runs on a helper thread beside SHA-256 and the copy (hashlib lets go of the GIL on big
    chunks): the two digests cost 1.8 s of CPU per GB, the largest share of an upload. One chunk
    is in flight at a time, so memory stays at two chunks. Use it as a context manager.
    """

    def __init__(self, stream: BinaryIO, limit: int | None = None):
        self.stream, self.limit = stream, limit
        self.sha, self._md5, self.size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        self._md5_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="md5")
        self._md5_pending: Future | None = None

    def __enter__(self) -> "_Hashing":
        return self

    def __exit__(self, *exc) -> None:
        self._md5_thread.shutdown(wait=True)

    def read(self, n: int = -1) -> bytes:
        chunk = self.stream.read(CHUNK if n is None or n < 0 else n)
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise ValidationError(f"The upload is larger than the declared {self.limit} bytes.")
        self._md5_done()
        self._md5_pending = self._md5_thread.submit(self._md5.update, chunk)
        self.sha.update(chunk)
        return chunk

    def _md5_done(self) -> None:
        if self._md5_pending is not None:
            self._md5_pending.result()
            self._md5_pending = None

    def md5_hexdigest(self) -> str:
        self._md5_done()
        return self._md5.hexdigest()


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range out now, without waiting (as PostgreSQL's `*_flush_after`).

    Left alone, a fresh upload sits in the page cache and the final fsync writes all of it while the
    client waits; started early, the disk works while we receive and hash. POSIX_FADV_DONTNEED starts
    writeback of dirty pages; pages still being written stay cached.
    """
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _check_digest(digest: str, expected: str | None) -> None:
    if expected and digest != expected:
        raise ValidationError(f"The uploaded bytes have SHA-256 {digest}, not the declared {expected}.")


class FileSystemStore:
    """Content-addressed files under a folder: `<root>/ab/cd/<sha256>`."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self._path(sha256).open("rb")

    def put(
        self, stream: BinaryIO, expected_sha256: str | None = None, size: int | None = None
    ) -> tuple[str, str, int]:
        """Stream into a temp file, verify, then rename into place. Returns (sha256, md5, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX)
        try:
            with _Hashing(stream, limit=size) as reader, os.fdopen(fd, "wb") as out:
                flushed = 0
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
                    if reader.size - flushed >= WRITEBACK_EVERY:
                        out.flush()
                        _start_writeback(fd, flushed, reader.size - flushed)
                        flushed = reader.size
                out.flush()
                os.fsync(fd)  # on disk before it gets its name: a crash never leaves a short blob
            digest = reader.sha.hexdigest()
            _check_digest(digest, expected_sha256)
            if size is not None and reader.size != size:
                raise ValidationError(f"Received {reader.size} bytes, not the declared {size}.")
            final = self._path(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # atomic: readers never see a half-written blob
            tmp = None
            return digest, reader.md5_hexdigest(), reader.size
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)

    def upload_target(self, sha256: str, size: int) -> dict:
        url = reverse("api:blob_upload", args=[sign_upload(sha256, size)])
        return {"url": url, "method": "PUT", "headers": {"Content-Type": "application/octet-stream"}}

    def download_url(self, sha256: str, filename: str) -> str:
        return reverse("api:blob_download", args=[sign_download(sha256, filename)])

    def finalize_upload(self, sha256: str, size: int) -> str | None:
        """Uploads land through our endpoint, which verifies and registers them at once."""
        return None

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def stored_blobs(self, before: float) -> Iterator[tuple[str, int]]:
        """(sha256, size) of every blob file last written before `before` (a Unix time)."""
        for first in _subdirs(self.root, 2):
            for second in _subdirs(first, 2):
                with os.scandir(second) as entries:
                    for entry in entries:
                        if len(entry.name) == 64 and entry.is_file(follow_symlinks=False):
                            info = entry.stat(follow_symlinks=False)
                            if info.st_mtime < before:
                                yield entry.name, info.st_size

    def remove_leftovers(self, *, idle_before: float, staged_before: float, dry_run: bool = False) -> list[Leftover]:
        """Delete `.upload-*` temp files no write has touched since `idle_before` (their server died).

        Several processes may share the folder, so a fresh temp file is someone's live upload: only
        the idle ones go. (`staged_before` is for S3's staged uploads; this store stages nothing.)
        """
        removed = []
        if not self.root.is_dir():
            return removed
        with os.scandir(self.root) as entries:
            for entry in entries:
                if not entry.name.startswith(TEMP_PREFIX) or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                    if info.st_mtime >= idle_before:
                        continue
                    if not dry_run:
                        os.unlink(entry.path)
                except FileNotFoundError:  # finished or removed by another process meanwhile
                    continue
                removed.append(Leftover("temp file", entry.name, info.st_size))
        return removed


def _subdirs(folder: Path, width: int) -> list[Path]:
    """The fan-out folders (`ab/`, `cd/`) of a content-addressed tree."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if len(p.name) == width and p.is_dir() and not p.is_symlink())


class S3Store:
    """Blobs in an S3-compatible bucket: `<prefix>blobs/ab/<sha256>`.

    Clients PUT to a presigned URL for `<prefix>incoming/<sha256>`; commit verifies the staged
    object's size and SHA-256 (reading it once, server-side) before copying it to its final key,
    so nothing unverified is ever served and an expired or replayed URL cannot change a blob.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None, region: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or "us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}blobs/{sha256[:2]}/{sha256}"

    def _staging_key(self, sha256: str) -> str:
        return f"{self.prefix}incoming/{sha256}"

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, sha256: str) -> bool:
        return self._head(self._key(sha256)) is not None

    def open(self, sha256: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"]

    def _promote(self, source_key: str, sha256: str) -> None:
        """Copy a verified object to its final key (managed copy: multipart above 5 GB)."""
        if not self.exists(sha256):
            self.client.copy({"Bucket": self.bucket, "Key": source_key}, self.bucket, self._key(sha256))
        self.client.delete_object(Bucket=self.bucket, Key=source_key)

    def put(
        self, stream: BinaryIO, expected_sha256: str | None = None, size: int | None = None
    ) -> tuple[str, str, int]:
        """Stream to a temporary key while hashing, verify, then copy into place."""
        tmp_key = f"{self.prefix}incoming/tmp-{uuid.uuid4().hex}"
        try:
            with _Hashing(stream, limit=size) as reader:
                self.client.upload_fileobj(reader, self.bucket, tmp_key)
            digest = reader.sha.hexdigest()
            _check_digest(digest, expected_sha256)
            if size is not None and reader.size != size:
                raise ValidationError(f"Received {reader.size} bytes, not the declared {size}.")
            self._promote(tmp_key, digest)
            return digest, reader.md5_hexdigest(), reader.size
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=tmp_key)

    def upload_target(self, sha256: str, size: int) -> dict:
        url = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": self._staging_key(sha256)},
            ExpiresIn=URL_LIFETIME,
        )
        return {"url": url, "method": "PUT", "headers": {}}

    def download_url(self, sha256: str, filename: str) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(sha256),
                "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            },
            ExpiresIn=URL_LIFETIME,
        )

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def _objects(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def stored_blobs(self, before: float) -> Iterator[tuple[str, int]]:
        """(sha256, size) of every blob object last written before `before` (a Unix time)."""
        for obj in self._objects(f"{self.prefix}blobs/"):
            sha256 = obj["Key"].rsplit("/", 1)[-1]
            if len(sha256) == 64 and obj["LastModified"].timestamp() < before:
                yield sha256, obj["Size"]

    def remove_leftovers(self, *, idle_before: float, staged_before: float, dry_run: bool = False) -> list[Leftover]:
        """Delete what interrupted uploads left: staged objects and multipart uploads older than the cutoffs.

        `incoming/tmp-*` are this server's own streaming uploads (deleted when they finish, so an old
        one's server died); `incoming/<sha256>` are clients' direct uploads waiting for a commit, kept
        as long as a pending version may still commit (`staged_before`). Multipart uploads (big
        streams and copies) count from when they started, so they get the longer cutoff too.
        """
        removed = []
        for obj in self._objects(f"{self.prefix}incoming/"):
            name = obj["Key"][len(self.prefix) :]
            own = name.startswith("incoming/tmp-")
            if obj["LastModified"].timestamp() >= (idle_before if own else staged_before):
                continue
            if not dry_run:
                self.client.delete_object(Bucket=self.bucket, Key=obj["Key"])
            removed.append(Leftover("temp object" if own else "staged upload", name, obj["Size"]))
        for upload in self._multipart_uploads():
            if upload["Initiated"].timestamp() >= staged_before:
                continue
            if not dry_run:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            removed.append(Leftover("multipart upload", upload["Key"][len(self.prefix) :], 0))
        return removed

    def _multipart_uploads(self) -> Iterator[dict]:
        for page in self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            yield from page.get("Uploads", [])

    def finalize_upload(self, sha256: str, size: int) -> str | None:
        """Verify a client's direct upload and move it into place. Returns its MD5, or None if absent."""
        key = self._staging_key(sha256)
        head = self._head(key)
        if head is None:
            return None
        try:
            if head["ContentLength"] != size:
                raise ValidationError(f"{sha256}: uploaded {head['ContentLength']} bytes, the manifest says {size}.")
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            with _Hashing(body) as reader:
                while reader.read(CHUNK):
                    pass
            _check_digest(reader.sha.hexdigest(), sha256)
        except ValidationError:
            self.client.delete_object(Bucket=self.bucket, Key=key)  # bad bytes never become a blob
            raise
        self._promote(key, sha256)
        return reader.md5_hexdigest()

    def adopt_staged(self, name: str, size_limit: int | None = None) -> tuple[str, str, int] | None:
        """Hash an object a client PUT to `incoming/<name>` without knowing its SHA-256 in advance (the wandb
        SDK names files by MD5), and move it to its final key. Returns (sha256, md5, size), or None if absent."""
        key = self._staging_key(name)
        if self._head(key) is None:
            return None
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        with _Hashing(body, limit=size_limit) as reader:
            while reader.read(CHUNK):
                pass
        digest = reader.sha.hexdigest()
        self._promote(key, digest)
        return digest, reader.md5_hexdigest(), reader.size


def store_from_url(url: str) -> FileSystemStore | S3Store:
    """Build a store from `file:///path` or `s3://bucket[/prefix]?endpoint=…&region=…`."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return FileSystemStore(Path(parsed.path))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ImproperlyConfigured("ARTIFACT_STORAGE_URL=s3://… needs a bucket name.")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        unknown = set(query) - {"endpoint", "region"}
        if unknown:
            raise ImproperlyConfigured(f"Unknown ARTIFACT_STORAGE_URL options: {', '.join(sorted(unknown))}")
        return S3Store(parsed.netloc, parsed.path, endpoint=query.get("endpoint"), region=query.get("region"))
    raise ImproperlyConfigured(f"Unsupported ARTIFACT_STORAGE_URL scheme: {parsed.scheme!r}")


@cache
def get_store() -> FileSystemStore | S3Store:
    """The configured blob store (ARTIFACT_STORAGE_URL). Credentials for S3 come from AWS_* variables.

    A folder store sweeps up the temp files of servers that died mid-upload the first time a
    process uses it (only idle ones: other processes may be uploading into the same folder).
    S3's leftovers need listing calls, so `manage.py cleanup_storage` (run by the worker) takes those.
    """
    store = store_from_url(settings.ARTIFACT_STORAGE_URL)
    if isinstance(store, FileSystemStore):
        idle_before = time.time() - STALE_TEMP_AGE
        for leftover in store.remove_leftovers(idle_before=idle_before, staged_before=idle_before):
            logger.info(
                "Removed %s %s (%d bytes) of an interrupted upload", leftover.kind, leftover.name, leftover.size
            )
    return store
