"""The API's objects (registries, collections, versions, runs, projects) as Python objects.

Each one keeps the `Client` that fetched it and reaches lists and actions through that client's methods, so
every request is built in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput
from .paths import parse_version_path, registry_full_name, split_project
from .transport import WORKERS, api_path

if TYPE_CHECKING:  # annotations only: the client module builds these objects
    from .client import Client
    from .pagination import CollectionPaginator, SourceVersionPaginator, VersionPaginator


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

    def collections(
        self, filter: dict | str | None = None, order: str | None = None, per_page: int = 50
    ) -> CollectionPaginator:
        """The collections of this registry (lazy)."""
        return self._client.collections(
            registry_filter={"id": self.id}, filter=filter, order=order, org=self.org, per_page=per_page
        )

    def versions(self, filter: dict | str | None = None, per_page: int = 50) -> VersionPaginator:
        """Every linked version in this registry (lazy)."""
        return self._client.versions(registry_filter={"id": self.id}, filter=filter, org=self.org, per_page=per_page)

    def __repr__(self) -> str:
        return f"<Registry {self.path}>"


class Collection(_Resource):
    """A collection in a registry; `path` is `<org>/wandb-registry-<registry>/<collection>`."""

    _fields = ("id", "registry", "org", "name", "type", "description", "tags", "created_at", "updated_at", "path")

    def versions(self, filter: dict | str | None = None, per_page: int = 50) -> VersionPaginator:
        """The versions linked into this collection, newest link first (lazy)."""
        return self._client.versions(collection_filter={"id": self.id}, filter=filter, org=self.org, per_page=per_page)

    def __repr__(self) -> str:
        return f"<Collection {self.path}>"


class PrivateArtifact:
    """A version in a lineage that you can reach neither at its source nor through a registry: it has
    no name or files for you (the Lineage tab's "private artifact")."""

    private = True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrivateArtifact)

    __hash__ = None

    def __repr__(self) -> str:
        return "<PrivateArtifact>"


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
        "ttl_seconds",
        "expires_at",
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

    private = False  # lineage lists hold PrivateArtifact for versions you cannot reach

    def logged_by(self) -> Run | None:
        """The run that logged this version (W&B's `artifact.logged_by()`), or None; a run in a project you
        are not in comes back with `private=True` and no name."""
        data = self._client._request("GET", "artifacts/logged-by", params={"path": self.path})
        return Run(self._client, data["run"]) if data.get("run") else None

    def used_by(self) -> list[Run]:
        """The runs that used this version as an input (W&B's `artifact.used_by()`), oldest first."""
        return list(self._client.used_by(self.path))

    def delete(self) -> None:
        """W&B's `artifact.delete()`: a linked version is unlinked from its collection; a source version is
        deleted (its team; restorable for the retention period)."""
        if self.collection:
            self._client.unlink(self.path)
        else:
            self._client.delete_version(self.path)

    def set_ttl(self, ttl) -> Version:
        """Set (timedelta or seconds) or clear (None) this source version's time-to-live."""
        return self._client.set_ttl(self.path, ttl)

    def set_metadata(self, metadata: dict) -> Version:
        """Replace this version's metadata; returns the updated Version."""
        return self._client.set_metadata(self.path, metadata)

    def update_metadata(self, **changes: Any) -> Version:
        """Set some top-level metadata keys, keeping the others (`version.update_metadata(acc=0.93)`)."""
        return self._client.set_metadata(self.path, {**(self.metadata or {}), **changes})

    def link(self, target_path: str, aliases: Iterable[str] | None = None) -> Version:
        """Link this version into a registry collection (`[<org>/]wandb-registry-<r>/<c>`)."""
        return self._client.link_artifact(self, target_path, aliases=aliases)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"


class Artifact(Version):
    """A version resolved from a path, with its files (and their download URLs) already known."""


class Run:
    """A run in a project: records which versions it used (inputs) and logged (outputs).

    Runs met in a lineage (`logged_by`, `used_by`) in projects you are not in have `private=True` and no
    name, id or project.
    """

    def __init__(self, client: Client, data: dict):
        self._client = client
        self.data = dict(data)
        self.id = data.get("id")
        self.private: bool = bool(data.get("private"))
        self.run_id: str | None = data.get("run_id")
        path = data.get("path")
        self.project: str | None = data.get("project") or (path.rsplit("/", 1)[0] if path else None)
        self.name: str | None = data.get("name")
        self.state: str | None = data.get("state")

    @property
    def path(self) -> str | None:
        return f"{self.project}/{self.run_id}" if self.project and self.run_id else None

    def _lineage_path(self) -> str:
        if self.path is None:
            raise InvalidInput("This run is private to you: its inputs and outputs cannot be listed.")
        return self.path

    def used_artifacts(self) -> list[Version | PrivateArtifact]:
        """The versions this run used (inputs), in order (W&B's `run.used_artifacts()`)."""
        return list(self._client.run_inputs(self._lineage_path()))

    def logged_artifacts(self) -> list[Version | PrivateArtifact]:
        """The versions this run logged (outputs), in order (W&B's `run.logged_artifacts()`)."""
        return list(self._client.run_outputs(self._lineage_path()))

    inputs = used_artifacts
    outputs = logged_artifacts

    def use_artifact(self, path: str) -> Artifact:
        """Record the version at `path` as an input of this run and return it (call `.download()` next)."""
        team, project = split_project(self.project)
        data = self._client._request(
            "POST", api_path("runs", team, project, self.run_id, "use"), json={"path": str(parse_version_path(path))}
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
        return "<Run (private)>" if self.private else f"<Run {self.project}/{self.run_id}>"


class Project(_Resource):
    """A source project (`path` is `<team>/<project>`) that runs log artifact versions into."""

    _fields = ("team", "name", "path", "description", "created_at")

    def versions(self, name: str | None = None, per_page: int = 50) -> SourceVersionPaginator:
        """Committed versions logged to this project (`name`: one artifact), newest first (lazy)."""
        return self._client._project_versions(self.team, self.name, name=name, per_page=per_page)

    def __repr__(self) -> str:
        return f"<Project {self.path}>"
