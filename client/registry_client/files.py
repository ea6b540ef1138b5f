"""Local files: walking a directory into a manifest, streaming SHA-256, safe destination paths."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import InvalidInput

CHUNK = 1024 * 1024  # read and hash 1 MB at a time; never a whole file in memory


@dataclass(frozen=True)
class LocalFile:
    path: str  # manifest path: relative, POSIX separators
    local: Path  # where the bytes are on this machine
    size: int
    sha256: str = ""

    def as_manifest(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


def sha256_file(path: os.PathLike | str, on_chunk: Callable[[int], None] | None = None) -> str:
    """The hex SHA-256 of a file, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if on_chunk:
                on_chunk(len(chunk))
    return digest.hexdigest()


def iter_chunks(path: os.PathLike | str, on_chunk: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Yield a file's bytes 1 MB at a time (what uploads stream from)."""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            if on_chunk:
                on_chunk(len(chunk))
            yield chunk


def walk(path_or_dir: os.PathLike | str) -> list[LocalFile]:
    """The files to log, sorted by manifest path (without digests yet).

    A file is logged under its own name; a directory's files under their paths relative to it.
    Symbolic links to files are followed; links to directories are not descended into.
    """
    root = Path(path_or_dir).expanduser()
    if root.is_file():
        return [LocalFile(path=root.name, local=root, size=root.stat().st_size)]
    if not root.is_dir():
        raise InvalidInput(f"{os.fspath(path_or_dir)!r} is neither a file nor a directory.")
    found = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            local = Path(folder) / name
            if not local.is_file():  # sockets, broken links, …
                continue
            relative = local.relative_to(root).as_posix()
            found.append(LocalFile(path=relative, local=local, size=local.stat().st_size))
    if not found:
        raise InvalidInput(f"{os.fspath(path_or_dir)!r} contains no files.")
    return sorted(found, key=lambda f: f.path)


def safe_destination(root: Path, manifest_path: str) -> Path:
    """Where a manifest file goes under `root`; refuses absolute paths and `..` (a server must not write
    outside the download folder)."""
    pure = PurePosixPath(manifest_path)
    if not manifest_path or pure.is_absolute() or "\\" in manifest_path or any(p in ("..", "") for p in pure.parts):
        raise InvalidInput(f"Refusing to download to the unsafe path {manifest_path!r}.")
    return root.joinpath(*pure.parts)


def matches(local: Path, size: int, sha256: str) -> bool:
    """True when `local` already holds exactly these bytes (size first: cheap)."""
    try:
        if not local.is_file() or local.stat().st_size != size:
            return False
    except OSError:
        return False
    return sha256_file(local) == sha256
