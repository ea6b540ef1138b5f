"""Blob storage: one small interface; a local folder by default (S3 comes with the API work)."""

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

CHUNK = 1024 * 1024


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

    def put(self, stream: BinaryIO, expected_sha256: str | None = None) -> tuple[str, str, int]:
        """Stream into a temp file, verify, then rename into place. Returns (sha256, md5, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            digest = sha.hexdigest()
            if expected_sha256 and digest != expected_sha256:
                raise ValidationError(f"The uploaded bytes have SHA-256 {digest}, not the declared {expected_sha256}.")
            final = self._path(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # atomic: readers never see a half-written blob
            tmp = None
            return digest, md5.hexdigest(), size
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)


@cache
def get_store() -> FileSystemStore:
    """The configured blob store (ARTIFACT_STORAGE_URL)."""
    url = urlparse(settings.ARTIFACT_STORAGE_URL)
    if url.scheme in ("", "file"):
        return FileSystemStore(Path(url.path))
    raise ImproperlyConfigured(f"Unsupported ARTIFACT_STORAGE_URL scheme: {url.scheme!r}")
