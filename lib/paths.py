"""Artifact paths as W&B writes them, parsed (resolving them to rows is the collections app's job).

Registry paths: `[<org>/]wandb-registry-<registry>/<collection>[:<vN|alias>]`.
Source paths: `<team>/<project>/<artifact>[:<vN|alias>]`.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from lib.names import name_problem

REGISTRY_PREFIX = "wandb-registry-"


def strip_registry_prefix(name: str) -> str:
    """Accept `wandb-registry-<name>` wherever a registry name is expected."""
    return name[len(REGISTRY_PREFIX) :] if name.startswith(REGISTRY_PREFIX) else name


VERSION_LABEL_RE = re.compile(r"v(\d{1,9})")


@dataclass(frozen=True)
class ArtifactPath:
    """A parsed path: `[<org>/]wandb-registry-<registry>/<collection>[:<vN|alias>]` or
    `<team>/<project>/<name>[:<vN|alias>]`. `registry` is None for source paths."""

    name: str
    version: str | None = None
    org: str | None = None
    registry: str | None = None
    team: str | None = None
    project: str | None = None

    @property
    def index(self) -> int | None:
        match = VERSION_LABEL_RE.fullmatch(self.version or "")
        return int(match.group(1)) if match else None


def parse_artifact_path(path: str) -> ArtifactPath:
    """Split a path into its parts; ValidationError says which form was expected."""
    expected = (
        "Use “[<org>/]wandb-registry-<registry>/<collection>:<version or alias>” "
        "or “<team>/<project>/<artifact>:<version or alias>”."
    )
    path = (path or "").strip()
    if not path or len(path) > 1200:
        raise ValidationError({"path": f"A path is required. {expected}"})
    rest, colon, version = path.partition(":")
    if colon and (not version or "/" in version or ":" in version):
        raise ValidationError({"path": f"“{path[:200]}” has an empty or malformed version. {expected}"})
    parts = rest.split("/")
    if any(not part.strip() for part in parts):
        raise ValidationError({"path": f"“{path[:200]}” has an empty part. {expected}"})
    for part in [*parts, version]:
        if part and (problem := name_problem(part.strip())):
            raise ValidationError({"path": f"A path's parts are names, and names {problem}."})
    version = version or None
    if len(parts) in (2, 3) and parts[-2].startswith(REGISTRY_PREFIX):
        registry = parts[-2][len(REGISTRY_PREFIX) :]
        if not registry.strip():
            raise ValidationError({"path": f"“{path[:200]}” names no registry. {expected}"})
        org = parts[0] if len(parts) == 3 else None
        return ArtifactPath(name=parts[-1], version=version, org=org, registry=registry)
    if len(parts) == 3 and not any(p.startswith(REGISTRY_PREFIX) for p in parts):
        return ArtifactPath(name=parts[2], version=version, team=parts[0], project=parts[1])
    raise ValidationError({"path": f"“{path[:200]}” is not an artifact path. {expected}"})
