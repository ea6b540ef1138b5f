"""The Python client for the Registry API v1 (docs/api-contract.md). Needs httpx and tqdm, never Django."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import httpx
from tqdm import tqdm

from . import __version__
from .config import resolve_settings
from .errors import (
    ChecksumMismatch,
    ConnectionFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RegistryError,
    ServerError,
    error_for_status,
)
from .files import LocalFile, iter_chunks, matches, safe_destination, sha256_file, walk
from .paths import RegistryPath, parse_version_path, registry_full_name, strip_registry_prefix

WORKERS = 4
_RETRYABLE = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)


def _json_param(value: Any) -> str | None:
    """Filters travel as JSON text in the query string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as exc:
            raise InvalidInput(f"The filter {value!r} is not valid JSON: {exc}") from exc
        return value
    return json.dumps(value, separators=(",", ":"))


def _detail(response: httpx.Response) -> str:
    """The server's message: `detail` from a JSON body, else a bit of the body, else the reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, list):  # validation errors: [{"loc": [...], "msg": "..."}]
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    where = ".".join(str(p) for p in item.get("loc", []) if p not in ("body", "query"))
                    parts.append(f"{where}: {item.get('msg', item)}" if where else str(item.get("msg", item)))
                else:
                    parts.append(str(item))
            return "; ".join(parts)
        return str(detail)
    text = response.text.strip() if response.headers.get("content-type", "").startswith("text/plain") else ""
    return text[:500] or f"{response.status_code} {response.reason_phrase}".strip()


def _raise_for_status(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        if not response.is_stream_consumed:
            response.read()
        raise error_for_status(response.status_code, _detail(response))
    return response


# ---------------------------------------------------------------------------------------------------------------
# Objects


@dataclass(frozen=True)
class File:
    """One file of a version. `url` is a signed, expiring download URL, or None when the caller may not download."""

    path: str
    size: int
    sha256: str
    md5: str | None = None
    url: str | None = None

    @classmethod
    def from_api(cls, data: dict) -> File:
        return cls(
            path=data["path"],
            size=int(data.get("size") or 0),
            sha256=data["sha256"],
            md5=data.get("md5"),
            url=data.get("url"),
        )


class _Resource:
    """An API object: its JSON fields are attributes; `.data` is the raw dict."""

    _fields: tuple[str, ...] = ()

    def __init__(self, client: Client, data: dict):
        self._client = client
        self.data = dict(data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "data":
            raise AttributeError(name)
        try:
            return self.data[name]
        except KeyError:
            if name in self._fields:
                return None
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None

    def to_dict(self) -> dict:
        return dict(self.data)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.data == other.data

    __hash__ = None


class Registry(_Resource):
    """A registry (`name` without the `wandb-registry-` prefix, `full_name` with it)."""

    _fields = (
        "id",
        "org",
        "name",
        "full_name",
        "description",
        "visibility",
        "allow_all_types",
        "artifact_types",
        "created_at",
        "updated_at",
        "role",
    )

    @property
    def path(self) -> str:
        return f"{self.org}/{registry_full_name(self.name)}"

    def collections(self, filter: dict | str | None = None, order: str | None = None, per_page: int = 50):
        """The collections of this registry (lazy)."""
        return CollectionPaginator(
            self._client, registry_filter={"id": self.id}, filter=filter, order=order, org=self.org, per_page=per_page
        )

    def versions(self, filter: dict | str | None = None, per_page: int = 50):
        """Every linked version in this registry (lazy)."""
        return VersionPaginator(
            self._client, registry_filter={"id": self.id}, filter=filter, org=self.org, per_page=per_page
        )

    def __repr__(self) -> str:
        return f"<Registry {self.path}>"


class Collection(_Resource):
    """A collection in a registry; `path` is `<org>/wandb-registry-<registry>/<collection>`."""

    _fields = ("id", "registry", "org", "name", "type", "description", "tags", "created_at", "updated_at", "path")

    def versions(self, filter: dict | str | None = None, per_page: int = 50):
        """The versions linked into this collection, newest link first (lazy)."""
        return VersionPaginator(
            self._client, collection_filter={"id": self.id}, filter=filter, org=self.org, per_page=per_page
        )

    def __repr__(self) -> str:
        return f"<Collection {self.path}>"


class Version(_Resource):
    """A version of a source artifact, or a linked version in a registry collection.

    `version` is `vN`, `path` the full path of this version, `source_path` the source version it points at.
    After `Client.log_artifact`, `uploads` lists the blobs that had to be sent (empty when the server
    already had every file) and `linked` is the registry version when a `target_path` was given.
    """

    _fields = (
        "id",
        "name",
        "type",
        "version",
        "aliases",
        "tags",
        "metadata",
        "description",
        "size",
        "digest",
        "created_at",
        "state",
        "path",
        "source_path",
        "link_id",
        "collection",
    )

    def __init__(self, client: Client, data: dict):
        super().__init__(client, data)
        self.uploads: list[dict] = []
        self.linked: Version | None = None
        self._files: list[File] | None = None
        if "files" in self.data:
            self._files = [File.from_api(f) for f in self.data.pop("files") or []]

    def files(self) -> list[File]:
        """The files of this version (fetched once, with fresh download URLs)."""
        if self._files is None:
            self._files = self._client.artifact(self.path).files()
        return list(self._files)

    def download(
        self, root: os.PathLike | str | None = None, *, progress: bool | None = None, workers: int = WORKERS
    ) -> Path:
        """Download every file into `root` (default `./artifacts/<name>-<version>`) and return that folder.

        Each file streams into a temporary file next to its destination, its SHA-256 is checked, and only
        then is it renamed into place. Files already present with the right digest are skipped, so an
        interrupted download resumes by calling this again.
        """
        return self._client._download(self, root, progress=progress, workers=workers)

    def set_description(self, description: str) -> Version:
        """Set this registry version's description; returns the updated Version."""
        return self._client.set_description(self.path, description)

    def link(self, target_path: str, aliases: Iterable[str] | None = None) -> Version:
        """Link this version into a registry collection (`[<org>/]wandb-registry-<r>/<c>`)."""
        return self._client.link_artifact(self, target_path, aliases=aliases)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"


class Artifact(Version):
    """A version resolved from a path, with its files (and their download URLs) already known."""


class Run:
    """A run in a project: records which versions it used (inputs) and logged (outputs)."""

    def __init__(self, client: Client, data: dict):
        self._client = client
        self.data = dict(data)
        self.id = data.get("id")
        self.run_id: str = data["run_id"]
        self.project: str = data["project"]
        self.name: str | None = data.get("name")

    def use_artifact(self, path: str) -> Artifact:
        """Record the version at `path` as an input of this run and return it (call `.download()` next)."""
        team, project = _split_project(self.project)
        data = self._client._request(
            "POST",
            f"runs/{quote(team, safe='')}/{quote(project, safe='')}/{quote(self.run_id, safe='')}/use",
            json={"path": str(parse_version_path(path))},
        )
        return Artifact(self._client, data)

    def log_artifact(
        self, path_or_dir: os.PathLike | str, *, name: str, type: str, project: str | None = None, **kwargs
    ) -> Version:
        """`Client.log_artifact` with this run as the producer (and its project by default)."""
        return self._client.log_artifact(
            path_or_dir, name=name, type=type, project=project or self.project, run=self, **kwargs
        )

    def link_artifact(self, version_or_path, target_path: str, aliases: Iterable[str] | None = None) -> Version:
        return self._client.link_artifact(version_or_path, target_path, aliases=aliases)

    def __repr__(self) -> str:
        return f"<Run {self.project}/{self.run_id}>"


def _split_project(project: str) -> tuple[str, str]:
    parts = project.split("/") if isinstance(project, str) else []
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise InvalidInput(f"Invalid project {project!r}: expected <team>/<project>.")
    return parts[0], parts[1]


# ---------------------------------------------------------------------------------------------------------------
# Lazy pages


class Paginator:
    """Iterates a paged list lazily, following `next_cursor`; nothing is fetched until you iterate."""

    endpoint = ""
    wrap: type[_Resource] = _Resource

    def __init__(self, client: Client, *, per_page: int = 50, **params: Any):
        if not 1 <= int(per_page) <= 100:
            raise InvalidInput("per_page must be between 1 and 100.")
        self._client = client
        self.per_page = int(per_page)
        self.params = params
        self.cursor: str | None = None  # the cursor of the page after the last one fetched

    def _query(self) -> dict:
        query = {}
        for key, value in self.params.items():
            if value is None:
                continue
            query[key] = _json_param(value) if key.endswith("filter") else value
        return query

    def pages(self) -> Iterator[list]:
        cursor = None
        while True:
            query = {**self._query(), "per_page": self.per_page}
            if cursor:
                query["cursor"] = cursor
            page = self._client._request("GET", self.endpoint, params=query)
            self.cursor = cursor = page.get("next_cursor")
            yield [self.wrap(self._client, item) for item in page.get("items", [])]
            if not cursor:
                return

    def __iter__(self) -> Iterator:
        for page in self.pages():
            yield from page

    def first(self):
        """The first item, or None."""
        return next(iter(self), None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._query()}>"


class VersionPaginator(Paginator):
    """Linked versions, newest link first."""

    endpoint = "versions"
    wrap = Version

    def __init__(self, client, *, registry_filter=None, collection_filter=None, filter=None, org=None, per_page=50):
        super().__init__(
            client,
            registry_filter=registry_filter,
            collection_filter=collection_filter,
            filter=filter,
            org=org,
            per_page=per_page,
        )


class CollectionPaginator(Paginator):
    """Collections; chain `.versions(filter=)` for the versions in them."""

    endpoint = "collections"
    wrap = Collection

    def __init__(self, client, *, registry_filter=None, filter=None, order=None, org=None, per_page=50):
        super().__init__(
            client, registry_filter=registry_filter, filter=filter, order=order, org=org, per_page=per_page
        )

    def versions(self, filter: dict | str | None = None, per_page: int = 50) -> VersionPaginator:
        """The versions in the collections this chain selects."""
        return VersionPaginator(
            self._client,
            registry_filter=self.params.get("registry_filter"),
            collection_filter=self.params.get("filter"),
            filter=filter,
            org=self.params.get("org"),
            per_page=per_page,
        )


class Project(_Resource):
    """A source project (`path` is `<team>/<project>`) that runs log artifact versions into."""

    _fields = ("team", "name", "path", "description", "created_at")

    def versions(self, name: str | None = None, per_page: int = 50) -> SourceVersionPaginator:
        """Committed versions logged to this project (`name`: one artifact), newest first (lazy)."""
        return SourceVersionPaginator(self._client, self.team, self.name, name=name, per_page=per_page)

    def __repr__(self) -> str:
        return f"<Project {self.path}>"


class ProjectPaginator(Paginator):
    endpoint = "projects"
    wrap = Project


class SourceVersionPaginator(Paginator):
    """The committed source versions of one project, newest first."""

    wrap = Version

    def __init__(self, client, team: str, project: str, *, name=None, per_page=50):
        super().__init__(client, name=name, per_page=per_page)
        self.endpoint = f"projects/{quote(team, safe='')}/{quote(project, safe='')}/versions"


class RegistryPaginator(Paginator):
    """Registries; chain `.collections(filter=)` and `.versions(filter=)` to search inside them."""

    endpoint = "registries"
    wrap = Registry

    def __init__(self, client, *, filter=None, org=None, order=None, per_page=50):
        super().__init__(client, filter=filter, org=org, order=order, per_page=per_page)

    def collections(
        self, filter: dict | str | None = None, order: str | None = None, per_page: int = 50
    ) -> CollectionPaginator:
        """The collections in the registries this chain selects."""
        return CollectionPaginator(
            self._client,
            registry_filter=self.params.get("filter"),
            filter=filter,
            order=order,
            org=self.params.get("org"),
            per_page=per_page,
        )

    def versions(self, filter: dict | str | None = None, per_page: int = 50) -> VersionPaginator:
        """The versions in the registries this chain selects."""
        return VersionPaginator(
            self._client,
            registry_filter=self.params.get("filter"),
            filter=filter,
            org=self.params.get("org"),
            per_page=per_page,
        )


# ---------------------------------------------------------------------------------------------------------------
# The client


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


class Client:
    """Talks to a Registry server.

    `base_url` and `api_key` default to $REGISTRY_BASE_URL / $REGISTRY_API_KEY, then to the file written by
    `registry login` (`$XDG_CONFIG_HOME/registry/config.toml`). Requests are retried with exponential backoff
    on connection errors and 5xx answers only; every other failure raises a `RegistryError` subclass carrying
    the server's `detail`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        progress: bool | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        workers: int = WORKERS,
        transport: httpx.BaseTransport | None = None,
    ):
        settings = resolve_settings(base_url, api_key)
        self.base_url = settings.base_url
        self.api_key = settings.api_key
        self.api_url = f"{self.base_url}/api/v1"
        self.progress = progress
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.workers = max(1, int(workers))
        headers = {"User-Agent": f"registry-client/{__version__}", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        limits = httpx.Limits(max_connections=self.workers * 2 + 2, max_keepalive_connections=self.workers * 2)
        self._http = httpx.Client(
            base_url=self.api_url + "/", headers=headers, timeout=timeout, limits=limits, transport=transport
        )
        # Signed upload/download URLs carry their own authorization; sending our key along would leak it to the
        # object store (and break S3 signatures).
        self._blob_http = httpx.Client(
            headers={"User-Agent": headers["User-Agent"]},
            timeout=timeout,
            limits=limits,
            transport=transport,
            follow_redirects=True,
        )

    # -- plumbing ------------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()
        self._blob_http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.base_url}>"

    def _progress_enabled(self, progress: bool | None) -> bool:
        if progress is not None:
            return progress
        if self.progress is not None:
            return self.progress
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    def _retrying(
        self, action: Callable[[], Any], *, on_retry: Callable[[], None] | None = None, target: str | None = None
    ) -> Any:
        """Run `action`, retrying connection errors and 5xx (ServerError) with exponential backoff and jitter."""
        for attempt in range(self.max_retries + 1):
            try:
                return action()
            except (*_RETRYABLE, ServerError) as exc:
                if attempt >= self.max_retries:
                    if isinstance(exc, ServerError):
                        raise
                    raise ConnectionFailed(f"Could not reach {target or self.base_url}: {exc}") from exc
                if on_retry:
                    on_retry()
                time.sleep(min(self.backoff * 2**attempt, 30.0) * (0.5 + random.random() / 2))
            except httpx.TransportError as exc:  # not worth retrying: bad URL, unsupported protocol, …
                raise ConnectionFailed(f"Could not reach {target or self.base_url}: {exc}") from exc
        raise AssertionError("unreachable")

    def _request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        """Call an API endpoint; return its decoded JSON (None for 204)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}

        def action():
            request = self._http.build_request(method, path.lstrip("/"), params=params or None, json=json)
            return _raise_for_status(self._http.send(request))

        response = self._retrying(action)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise RegistryError(
                f"The server answered {method} {path} with something that is not JSON.",
                status_code=response.status_code,
            ) from exc

    def _absolute(self, url: str) -> str:
        """Signed URLs may be relative to the server (filesystem store) or absolute (S3)."""
        return urljoin(self.base_url + "/", url)

    # -- who am I ------------------------------------------------------------------------------------------------

    def viewer(self) -> dict:
        """`{"username", "orgs": [{"slug", "name", "role"}]}` for the key in use."""
        return self._request("GET", "viewer")

    def _default_org(self) -> str:
        orgs = [o["slug"] for o in self.viewer().get("orgs", [])]
        if len(orgs) == 1:
            return orgs[0]
        if not orgs:
            raise NotFound("You do not belong to any organization; name one explicitly.", status_code=404)
        raise InvalidInput(f"You belong to several organizations ({', '.join(orgs)}); prefix the path with one.")

    # -- runs ----------------------------------------------------------------------------------------------------

    def init_run(
        self, project: str, name: str | None = None, config: dict | None = None, run_id: str | None = None
    ) -> Run:
        """Start (or resume, with the same `run_id`) a run in `<team>/<project>`."""
        _split_project(project)
        body: dict[str, Any] = {"project": project}
        if name is not None:
            body["name"] = name
        if config is not None:
            body["config"] = config
        if run_id is not None:
            body["run_id"] = run_id
        return Run(self, self._request("POST", "runs", json=body))

    # -- logging ---------------------------------------------------------------------------------------------------

    def log_artifact(
        self,
        path_or_dir: os.PathLike | str,
        *,
        name: str,
        type: str,
        project: str,
        metadata: dict | None = None,
        description: str = "",
        aliases: Iterable[str] | None = None,
        run: Run | str | None = None,
        target_path: str | None = None,
        progress: bool | None = None,
    ) -> Version:
        """Log a file or a directory as a new version of `<project>/<name>` and return the committed Version.

        Only blobs the server lacks are uploaded (4 in parallel, streamed from disk), so re-running after an
        interruption sends just what is missing. With `target_path` the new version is also linked into that
        registry collection, with `aliases` (available as `version.linked`); aliases need a target, since
        source versions only carry the automatic `latest`.
        """
        _split_project(project)
        aliases = list(aliases or [])
        if aliases and not target_path:
            raise InvalidInput("Aliases apply to a registry link: pass target_path (or call link_artifact).")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInput("metadata must be a JSON object (a dict).")
        files = walk(path_or_dir)
        enabled = self._progress_enabled(progress)
        with _Progress(sum(f.size for f in files), "hashing", enabled) as bar:
            files = [replace(f, sha256=sha256_file(f.local, bar.update)) for f in files]
        body: dict[str, Any] = {
            "project": project,
            "name": name,
            "type": type,
            "files": [f.as_manifest() for f in files],
            "metadata": metadata or {},
            "description": description or "",
        }
        run_id = run.run_id if isinstance(run, Run) else run
        if run_id:
            body["run_id"] = run_id
        created = self._request("POST", "artifacts", json=body)
        uploads = list(created.get("uploads") or [])
        self._upload_all(uploads, {f.sha256: f for f in files}, enabled)
        committed = self._request("POST", f"artifacts/{created['version']['id']}/commit")
        version = Version(self, committed)
        version.uploads = uploads
        if target_path:
            version.linked = self.link_artifact(version, target_path, aliases=aliases)
        return version

    def _upload_all(self, uploads: list[dict], by_sha: dict[str, LocalFile], enabled: bool) -> None:
        if not uploads:
            return
        for upload in uploads:
            if upload.get("sha256") not in by_sha:
                raise RegistryError(f"The server asked for a blob this upload does not have: {upload.get('sha256')}.")
        total = sum(by_sha[u["sha256"]].size for u in uploads)
        with _Progress(total, "uploading", enabled) as bar:
            self._parallel([lambda u=u: self._upload_one(u, by_sha[u["sha256"]], bar) for u in uploads], bar)

    def _parallel(self, tasks: list[Callable[[], Any]], bar: _Progress, workers: int | None = None) -> None:
        """Run tasks on up to `workers` threads. The first failure (or Ctrl-C) stops the others at their next
        chunk, and is raised."""
        workers = max(1, min(workers or self.workers, len(tasks)))
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

    def _upload_one(self, upload: dict, local: LocalFile, bar: _Progress) -> None:
        url = self._absolute(upload["url"])
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
            request = self._blob_http.build_request(
                upload.get("method") or "PUT", url, headers=headers, content=iter_chunks(local.local, counted)
            )
            return _raise_for_status(self._blob_http.send(request))

        try:
            self._retrying(action, on_retry=rewind, target=url.split("?")[0])
        except RegistryError as exc:
            raise type(exc)(f"Uploading {local.path}: {exc.detail}", status_code=exc.status_code) from exc

    # -- linking, aliases, tags ------------------------------------------------------------------------------------

    def link_artifact(
        self, version_or_path: Version | str, target_path: str, aliases: Iterable[str] | None = None
    ) -> Version:
        """Link a version (a Version, a source path or a registry path) into `[<org>/]wandb-registry-<r>/<c>`.

        Linking the same version twice returns the existing link (with the aliases added).
        """
        body: dict[str, Any] = {"target_path": target_path, "aliases": list(aliases or [])}
        if isinstance(version_or_path, Version):
            body["version_id"] = version_or_path.id
        elif isinstance(version_or_path, str):
            parsed = parse_version_path(version_or_path)
            if isinstance(parsed, RegistryPath):
                body["version_id"] = self.artifact(version_or_path).id
            else:
                body["source"] = str(parsed)
        else:
            raise InvalidInput("link_artifact needs a Version or a path.")
        return Version(self, self._request("POST", "links", json=body))

    def unlink(self, path: str) -> None:
        """Remove a linked version from its collection (the source version stays)."""
        self._request("DELETE", "links", params={"path": path})

    def add_alias(self, path: str, alias: str) -> Version:
        return Version(self, self._request("POST", "aliases", json={"path": path, "alias": alias}))

    def remove_alias(self, path: str, alias: str) -> Version:
        return Version(self, self._request("DELETE", "aliases", params={"path": path, "alias": alias}))

    def add_tag(self, path: str, tag: str) -> Any:
        return self._request("POST", "tags", json={"path": path, "tag": tag})

    def remove_tag(self, path: str, tag: str) -> Any:
        return self._request("DELETE", "tags", params={"path": path, "tag": tag})

    def set_description(self, path: str, description: str) -> Version:
        """Set a registry version's description (Markdown; it is the source version's, shared by its links)."""
        return Version(
            self, self._request("PATCH", "versions", params={"path": path}, json={"description": description})
        )

    def protected_aliases(self, registry: str) -> list[str]:
        """The aliases only admins of a registry (`[<org>/]wandb-registry-<name>`) may apply or remove."""
        return self._request("GET", self._protected_url(registry))

    def protect_alias(self, registry: str, alias: str) -> list[str]:
        """Make `alias` protected in a registry (registry admins); returns the protected aliases."""
        return self._request("POST", self._protected_url(registry), json={"alias": alias})

    def unprotect_alias(self, registry: str, alias: str) -> list[str]:
        """Stop protecting `alias` (versions keep it as an ordinary alias); returns the protected aliases."""
        return self._request("DELETE", self._protected_url(registry), params={"alias": alias})

    def _protected_url(self, registry: str) -> str:
        head, _, name = registry.strip().rpartition("/")
        org = head or self._default_org()
        return f"registries/{quote(org, safe='')}/{quote(strip_registry_prefix(name), safe='')}/protected-aliases"

    # -- reading -----------------------------------------------------------------------------------------------

    def artifact(self, path: str) -> Artifact:
        """Resolve a source or registry version path (`latest` when no version is given)."""
        path = str(parse_version_path(path))  # a clear message for malformed paths; `:latest` made explicit
        return Artifact(self, self._request("GET", "artifacts/resolve", params={"path": path}))

    def registries(
        self, filter: dict | str | None = None, org: str | None = None, order: str | None = None, per_page: int = 50
    ) -> RegistryPaginator:
        """Registries visible to you (lazy); chain `.collections(filter=)` and `.versions(filter=)`."""
        return RegistryPaginator(self, filter=filter, org=org, order=order, per_page=per_page)

    def projects(self, team: str | None = None, per_page: int = 50) -> ProjectPaginator:
        """Source projects of your teams (all projects of orgs you administer), by name (lazy)."""
        return ProjectPaginator(self, team=team, per_page=per_page)

    def project(self, path: str) -> Project:
        """A source project by `<team>/<project>` (nothing is fetched until you list its versions)."""
        team, project = _split_project(path)
        return Project(self, {"team": team, "name": project, "path": f"{team}/{project}"})

    def registry(self, path: str) -> Registry:
        """One registry by `[<org>/]wandb-registry-<name>` or `<org>/<name>`."""
        head, _, name = path.strip().rpartition("/")
        org = head or self._default_org()
        name = strip_registry_prefix(name)
        return Registry(self, self._request("GET", f"registries/{quote(org, safe='')}/{quote(name, safe='')}"))

    def collections(
        self,
        registry_filter: dict | str | None = None,
        filter: dict | str | None = None,
        order: str | None = None,
        org: str | None = None,
        per_page: int = 50,
    ) -> CollectionPaginator:
        """Collections across the registries you can see (lazy)."""
        return CollectionPaginator(
            self, registry_filter=registry_filter, filter=filter, order=order, org=org, per_page=per_page
        )

    def versions(
        self,
        registry_filter: dict | str | None = None,
        collection_filter: dict | str | None = None,
        filter: dict | str | None = None,
        org: str | None = None,
        per_page: int = 50,
    ) -> VersionPaginator:
        """Linked versions across the registries you can see, newest link first (lazy)."""
        return VersionPaginator(
            self,
            registry_filter=registry_filter,
            collection_filter=collection_filter,
            filter=filter,
            org=org,
            per_page=per_page,
        )

    # -- downloading ---------------------------------------------------------------------------------------------

    def _download(self, version: Version, root, *, progress: bool | None, workers: int) -> Path:
        files = version.files()
        denied = [f.path for f in files if not f.url]
        if denied:
            raise PermissionDenied(f"You may not download the files of {version.path}.", status_code=403)
        root = Path(root) if root is not None else Path("artifacts") / f"{version.name}-{version.version}"
        plan = [(f, safe_destination(root, f.path)) for f in files]
        root.mkdir(parents=True, exist_ok=True)
        todo = [(f, dest) for f, dest in plan if not matches(dest, f.size, f.sha256)]
        if not todo:
            return root
        refreshed: dict[str, File] = {}
        lock = threading.Lock()

        def fresh_url(file: File) -> str | None:
            """Signed URLs expire: fetch new ones once per download when the store refuses one."""
            with lock:
                if not refreshed:
                    refreshed.update({f.path: f for f in self.artifact(version.path).files()})
            again = refreshed.get(file.path)
            return again.url if again else None

        with _Progress(sum(f.size for f, _ in todo), "downloading", self._progress_enabled(progress)) as bar:
            self._parallel([lambda f=f, d=d: self._download_one(f, d, bar, fresh_url) for f, d in todo], bar, workers)
        return root

    def _download_one(self, file: File, dest: Path, bar: _Progress, fresh_url: Callable[[File], str | None]) -> None:
        """Stream one file into a temporary file next to `dest`, verify it, rename it into place.

        A connection lost mid-file is retried from where it stopped (HTTP Range); an expired URL is renewed
        once; bytes that do not match the manifest are fetched once more, then refused.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        state = {"url": self._absolute(file.url), "digest": hashlib.sha256(), "size": 0}

        def restart() -> None:
            bar.update(-state["size"])
            state.update(digest=hashlib.sha256(), size=0)
            with open(tmp, "wb"):
                pass

        def attempt() -> None:
            if state["size"] == file.size:
                return
            headers = {"Range": f"bytes={state['size']}-"} if state["size"] else {}
            with self._blob_http.stream("GET", state["url"], headers=headers) as response:
                _raise_for_status(response)
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
                self._retrying(attempt, target=target)
            except (PermissionDenied, NotFound):
                new = fresh_url(file)  # signed URLs expire: ask the API for a fresh one, once
                if not new or self._absolute(new) == state["url"]:
                    raise
                state["url"] = self._absolute(new)
                self._retrying(attempt, target=target)

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
