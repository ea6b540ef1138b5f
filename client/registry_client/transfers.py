"""Moving bytes: hashing files to log, uploading the blobs the server lacks, downloading a version's files
(resumed, verified, renamed into place), in parallel threads behind one progress bar."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .errors import ChecksumMismatch, NotFound, PermissionDenied, RegistryError
from .files import LocalFile, iter_chunks, matches, safe_destination, sha256_file
from .resources import File
from .transport import Transport, raise_for_status


class _Cancelled(Exception):
    """Raised inside worker threads once another transfer has failed or the user pressed Ctrl-C."""


class _Progress:
    """A thread-safe byte counter around tqdm that can take bytes back when a transfer is retried."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self._bar = tqdm(
            total=total,
            desc=desc,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            disable=not enabled,
            leave=False,
            dynamic_ncols=True,
        )
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self.done = 0

    def update(self, n: int) -> None:
        if self._cancelled.is_set():
            raise _Cancelled("Transfer cancelled.")
        with self._lock:
            self.done += n
            self._bar.update(n)

    def cancel(self) -> None:
        """Make every transfer sharing this bar stop at its next chunk."""
        self._cancelled.set()

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _parallel(tasks: list[Callable[[], Any]], bar: _Progress, workers: int) -> None:
    """Run tasks on up to `workers` threads. The first failure (or Ctrl-C) stops the others at their next
    chunk, and is raised."""
    workers = max(1, min(workers, len(tasks)))
    if workers == 1:
        for task in tasks:
            task()
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry")
    futures = [pool.submit(task) for task in tasks]
    try:
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:  # report the first failure in submission order
            if future in done and future.exception() is not None:
                raise future.exception()
    except BaseException:
        bar.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- uploading ---------------------------------------------------------------------------------------------------


def hash_files(files: list[LocalFile], *, progress: bool) -> list[LocalFile]:
    """The files with their SHA-256 filled in (streamed from disk)."""
    with _Progress(sum(f.size for f in files), "hashing", progress) as bar:
        return [replace(f, sha256=sha256_file(f.local, bar.update)) for f in files]


def upload(transport: Transport, uploads: list[dict], files: list[LocalFile], *, progress: bool, workers: int) -> None:
    """Send the blobs the server asked for (`uploads`: signed URL, method, headers, sha256) from `files`."""
    if not uploads:
        return
    by_sha = {f.sha256: f for f in files}
    for item in uploads:
        if item.get("sha256") not in by_sha:
            raise RegistryError(f"The server asked for a blob this upload does not have: {item.get('sha256')}.")
    total = sum(by_sha[u["sha256"]].size for u in uploads)
    with _Progress(total, "uploading", progress) as bar:
        _parallel([lambda u=u: _upload_one(transport, u, by_sha[u["sha256"]], bar) for u in uploads], bar, workers)


def _upload_one(transport: Transport, upload: dict, local: LocalFile, bar: _Progress) -> None:
    url = transport.absolute(upload["url"])
    headers = {str(k): str(v) for k, v in (upload.get("headers") or {}).items()}
    headers["Content-Length"] = str(local.size)
    sent = 0

    def counted(n: int) -> None:
        nonlocal sent
        sent += n
        bar.update(n)

    def rewind() -> None:
        nonlocal sent
        bar.update(-sent)
        sent = 0

    def action():
        # A fresh generator per attempt: the body streams from disk 1 MB at a time.
        request = transport.blobs.build_request(
            upload.get("method") or "PUT", url, headers=headers, content=iter_chunks(local.local, counted)
        )
        return raise_for_status(transport.blobs.send(request))

    try:
        transport.retrying(action, on_retry=rewind, target=url.split("?")[0])
    except RegistryError as exc:
        raise type(exc)(f"Uploading {local.path}: {exc.detail}", status_code=exc.status_code) from exc


# -- downloading -------------------------------------------------------------------------------------------------


def download(
    transport: Transport,
    files: list[File],
    root: Path,
    *,
    refresh: Callable[[], list[File]],
    progress: bool,
    workers: int,
) -> None:
    """Fetch into `root` every file not already there with the right digest. `refresh` returns the files with
    new signed URLs (called at most once, when the store refuses an expired one)."""
    plan = [(f, safe_destination(root, f.path)) for f in files]
    root.mkdir(parents=True, exist_ok=True)
    todo = [(f, dest) for f, dest in plan if not matches(dest, f.size, f.sha256)]
    if not todo:
        return
    refreshed: dict[str, File] = {}
    lock = threading.Lock()

    def fresh_url(file: File) -> str | None:
        """Signed URLs expire: fetch new ones once per download when the store refuses one."""
        with lock:
            if not refreshed:
                refreshed.update({f.path: f for f in refresh()})
        again = refreshed.get(file.path)
        return again.url if again else None

    with _Progress(sum(f.size for f, _ in todo), "downloading", progress) as bar:
        _parallel([lambda f=f, d=d: _download_one(transport, f, d, bar, fresh_url) for f, d in todo], bar, workers)


def _download_one(
    transport: Transport, file: File, dest: Path, bar: _Progress, fresh_url: Callable[[File], str | None]
) -> None:
    """Stream one file into a temporary file next to `dest`, verify it, rename it into place.

    A connection lost mid-file is retried from where it stopped (HTTP Range); an expired URL is renewed
    once; bytes that do not match the manifest are fetched once more, then refused.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    state = {"url": transport.absolute(file.url), "digest": hashlib.sha256(), "size": 0}

    def restart() -> None:
        bar.update(-state["size"])
        state.update(digest=hashlib.sha256(), size=0)
        with open(tmp, "wb"):
            pass

    def attempt() -> None:
        if state["size"] == file.size:
            return
        headers = {"Range": f"bytes={state['size']}-"} if state["size"] else {}
        with transport.blobs.stream("GET", state["url"], headers=headers) as response:
            raise_for_status(response)
            resumed = response.status_code == 206 and response.headers.get("content-range", "").startswith(
                f"bytes {state['size']}-"
            )
            if state["size"] and not resumed:
                restart()  # the server sent the whole file again
            with open(tmp, "ab") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    state["digest"].update(chunk)
                    state["size"] += len(chunk)
                    bar.update(len(chunk))

    def fetch() -> None:
        target = state["url"].split("?")[0]
        try:
            transport.retrying(attempt, target=target)
        except (PermissionDenied, NotFound):
            new = fresh_url(file)  # signed URLs expire: ask the API for a fresh one, once
            if not new or transport.absolute(new) == state["url"]:
                raise
            state["url"] = transport.absolute(new)
            transport.retrying(attempt, target=target)

    def verified() -> bool:
        return state["size"] == file.size and state["digest"].hexdigest() == file.sha256

    try:
        fetch()
        if not verified():
            restart()
            fetch()
        if not verified():
            raise ChecksumMismatch(
                f"{file.path}: received {state['size']} bytes with SHA-256 {state['digest'].hexdigest()}, "
                f"expected {file.size} bytes with SHA-256 {file.sha256}."
            )
        os.replace(tmp, dest)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
