"""Parse the path syntax shared by the client, the CLI, the API and the UI.

Source versions:   ``<team>/<project>/<name>[:<vN|alias>]``
Registry versions: ``[<org>/]wandb-registry-<registry>/<collection>[:<vN|alias>]``
(the registry name may contain spaces; a missing ``:<version>`` means ``latest``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidInput

REGISTRY_PREFIX = "wandb-registry-"
LATEST = "latest"
_VERSION_INDEX = re.compile(r"^v(\d+)$")


@dataclass(frozen=True)
class SourcePath:
    """A version of a source artifact logged in a project."""

    team: str
    project: str
    name: str
    version: str = LATEST

    @property
    def collection_path(self) -> str:
        return f"{self.team}/{self.project}/{self.name}"

    def __str__(self) -> str:
        return f"{self.collection_path}:{self.version}"


@dataclass(frozen=True)
class RegistryPath:
    """A registry, a collection in it, or a version of that collection (fields left empty when absent)."""

    org: str | None
    registry: str
    collection: str | None = None
    version: str | None = None

    @property
    def registry_path(self) -> str:
        head = f"{self.org}/" if self.org else ""
        return f"{head}{REGISTRY_PREFIX}{self.registry}"

    @property
    def collection_path(self) -> str:
        if not self.collection:
            raise InvalidInput(f"{self.registry_path!r} names a registry, not a collection.")
        return f"{self.registry_path}/{self.collection}"

    def __str__(self) -> str:
        text = self.registry_path
        if self.collection:
            text += f"/{self.collection}"
            if self.version:
                text += f":{self.version}"
        return text


def registry_full_name(name: str) -> str:
    """`Golden Models` → `wandb-registry-Golden Models` (unchanged when already prefixed)."""
    return name if name.startswith(REGISTRY_PREFIX) else REGISTRY_PREFIX + name


def strip_registry_prefix(name: str) -> str:
    """`wandb-registry-Golden Models` → `Golden Models`."""
    return name[len(REGISTRY_PREFIX) :] if name.startswith(REGISTRY_PREFIX) else name


def split_project(project: str) -> tuple[str, str]:
    """`vision/detector` → (`vision`, `detector`)."""
    parts = project.split("/") if isinstance(project, str) else []
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise InvalidInput(f"Invalid project {project!r}: expected <team>/<project>.")
    return parts[0], parts[1]


def version_index(version: str) -> int | None:
    """`v3` → 3; an alias → None."""
    match = _VERSION_INDEX.match(version)
    return int(match.group(1)) if match else None


def _check_segment(value: str, what: str, text: str) -> str:
    if not value or value != value.strip():
        raise InvalidInput(f"Invalid path {text!r}: the {what} is empty or has surrounding spaces.")
    forbidden = "\\\n\r\t:" + ("#?%" if what == "registry name" else "")
    if value in (".", "..") or any(c in value for c in forbidden):
        raise InvalidInput(f"Invalid path {text!r}: {value!r} is not a valid {what}.")
    return value


def _split_version(text: str) -> tuple[str, str | None]:
    head, sep, version = text.rpartition(":")
    if not sep:
        return text, None
    if not version or "/" in version:
        raise InvalidInput(f"Invalid path {text!r}: the part after ':' must be a version (vN) or an alias.")
    return head, version


def parse_version_path(text: str) -> SourcePath | RegistryPath:
    """Parse a path naming one version (`latest` when no version is given)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("The path is empty.")
    text = text.strip()
    head, version = _split_version(text)
    version = version or LATEST
    parts = head.split("/")
    if len(parts) == 2 and parts[0].startswith(REGISTRY_PREFIX):
        org, registry, collection = None, parts[0], parts[1]
    elif len(parts) == 3 and parts[1].startswith(REGISTRY_PREFIX):
        org, registry, collection = parts
    elif len(parts) == 3:
        team, project, name = (
            _check_segment(p, w, text) for p, w in zip(parts, ("team", "project", "name"), strict=True)
        )
        return SourcePath(team, project, name, version)
    else:
        raise InvalidInput(
            f"Invalid path {text!r}: expected <team>/<project>/<name>:<version> "
            f"or [<org>/]wandb-registry-<registry>/<collection>:<version>."
        )
    registry = _check_segment(strip_registry_prefix(registry), "registry name", text)
    return RegistryPath(
        org=_check_segment(org, "organization", text) if org is not None else None,
        registry=registry,
        collection=_check_segment(collection, "collection", text),
        version=version,
    )


def parse_browse_path(text: str) -> tuple[str, str | RegistryPath | SourcePath | tuple]:
    """What `registry ls` lists: ("org", slug), ("registry" | "collection" | "version", RegistryPath),
    ("version", SourcePath), or ("project", (team, project, artifact name or None)) for
    `<team>/<project>[/<artifact>]`."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("The path is empty.")
    text = text.strip().rstrip("/")
    head, version = _split_version(text)
    parts = head.split("/")
    if version is None and len(parts) == 1 and not parts[0].startswith(REGISTRY_PREFIX):
        return "org", _check_segment(parts[0], "organization", text)
    if version is None and len(parts) in (2, 3) and not any(p.startswith(REGISTRY_PREFIX) for p in parts):
        team = _check_segment(parts[0], "team", text)
        project = _check_segment(parts[1], "project", text)
        name = _check_segment(parts[2], "artifact name", text) if len(parts) == 3 else None
        return "project", (team, project, name)
    if parts[0].startswith(REGISTRY_PREFIX):
        parts = [None, *parts]
    if len(parts) < 2 or not parts[1] or not parts[1].startswith(REGISTRY_PREFIX) or len(parts) > 3:
        if len(parts) == 3 and version is not None:
            return "version", parse_version_path(text)
        raise InvalidInput(
            f"Invalid path {text!r}: expected <org>, [<org>/]wandb-registry-<registry>, "
            f"[<org>/]wandb-registry-<registry>/<collection> or a version path."
        )
    org = _check_segment(parts[0], "organization", text) if parts[0] is not None else None
    registry = _check_segment(strip_registry_prefix(parts[1]), "registry name", text)
    if len(parts) == 2:
        if version is not None:
            raise InvalidInput(f"Invalid path {text!r}: a registry has no versions; name a collection.")
        return "registry", RegistryPath(org=org, registry=registry)
    collection = _check_segment(parts[2], "collection", text)
    if version is None:
        return "collection", RegistryPath(org=org, registry=registry, collection=collection)
    return "version", RegistryPath(org=org, registry=registry, collection=collection, version=version)
