"""Python client and `registry` CLI for the self-hosted Registry (API v1). Importable without Django."""

__version__ = "0.1.0"

from .client import Client  # noqa: E402
from .errors import (  # noqa: E402
    AuthError,
    ChecksumMismatch,
    Conflict,
    ConnectionFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RegistryError,
    ServerError,
)
from .pagination import CollectionPaginator, ProjectPaginator, RegistryPaginator, VersionPaginator  # noqa: E402
from .paths import RegistryPath, SourcePath, parse_version_path  # noqa: E402
from .resources import Artifact, Collection, File, PrivateArtifact, Project, Registry, Run, Version  # noqa: E402

__all__ = [
    "Artifact",
    "AuthError",
    "ChecksumMismatch",
    "Client",
    "Collection",
    "CollectionPaginator",
    "Conflict",
    "ConnectionFailed",
    "File",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "PrivateArtifact",
    "Project",
    "ProjectPaginator",
    "Registry",
    "RegistryError",
    "RegistryPaginator",
    "RegistryPath",
    "Run",
    "ServerError",
    "SourcePath",
    "Version",
    "VersionPaginator",
    "parse_version_path",
]
