"""The Python client for the Registry API v1 (docs/api-contract.md). Needs httpx and tqdm, never Django.

`Client` is the facade: it resolves settings and builds every request. HTTP, retries and errors live in
`transport`, the returned objects in `resources`, lazy lists in `pagination`, moving bytes in `transfers`.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from . import transfers
from .config import resolve_settings
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .files import walk
from .pagination import (
    CollectionPaginator,
    ProjectPaginator,
    RegistryPaginator,
    RunArtifactPaginator,
    SourceVersionPaginator,
    UsedByPaginator,
    VersionPaginator,
)
from .paths import RegistryPath, parse_version_path, split_project, strip_registry_prefix
from .resources import Artifact, Collection, Project, Registry, Run, Version
from .transport import WORKERS, Transport, api_path


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
        self._transport = Transport(
            self.base_url,
            self.api_key,
            timeout=timeout,
            max_retries=self.max_retries,
            backoff=backoff,
            workers=self.workers,
            transport=transport,
        )

    # -- plumbing ------------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._transport.close()

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

    def _request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        """Call an API endpoint; return its decoded JSON (None for 204)."""
        return self._transport.request(method, path, params=params, json=json)

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
        split_project(project)
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
        ttl: datetime.timedelta | int | None = None,
    ) -> Version:
        """Log a file or a directory as a new version of `<project>/<name>` and return the committed Version.

        Only blobs the server lacks are uploaded (4 in parallel, streamed from disk), so re-running after an
        interruption sends just what is missing. With `target_path` the new version is also linked into that
        registry collection, with `aliases` (available as `version.linked`); aliases need a target, since
        source versions only carry the automatic `latest`. `ttl` (a timedelta or seconds) sets the version's
        time-to-live once committed.
        """
        split_project(project)
        aliases = list(aliases or [])
        if aliases and not target_path:
            raise InvalidInput("Aliases apply to a registry link: pass target_path (or call link_artifact).")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInput("metadata must be a JSON object (a dict).")
        files = walk(path_or_dir)
        enabled = self._progress_enabled(progress)
        files = transfers.hash_files(files, progress=enabled)
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
        # One call when the server holds every file's bytes already (or there are none): it creates,
        # commits and links in one transaction. If bytes are missing it answers 409 and writes nothing,
        # and the three-call protocol below uploads just those.
        one_call = {**body, "commit": True}
        if target_path:
            one_call.update(target_path=target_path, aliases=aliases)
        try:
            created = self._request("POST", "artifacts", json=one_call)
        except Conflict:
            pass
        else:
            version = Version(self, created["version"])
            version.uploads = []
            if target_path:
                version.linked = Version(self, created["linked"])
            return version
        created = self._request("POST", "artifacts", json=body)
        uploads = list(created.get("uploads") or [])
        transfers.upload(self._transport, uploads, files, progress=enabled, workers=self.workers)
        committed = self._request("POST", f"artifacts/{created['version']['id']}/commit")
        version = Version(self, committed)
        if ttl is not None:  # W&B's `ttl`: the server deletes the version then, unless it is linked
            version = self.set_ttl(version.path, ttl)
        version.uploads = uploads
        if target_path:
            version.linked = self.link_artifact(version, target_path, aliases=aliases)
        return version

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

    def set_metadata(self, path: str, metadata: dict) -> Version:
        """Replace a version's metadata (a JSON object; ≤ 100 top-level keys, ≤ 1 MB), as W&B's
        `artifact.metadata[...] = …; artifact.save()`. A registry path needs Member or more there; a source
        path its team. The metadata is the source version's, so every link shows the change."""
        if not isinstance(metadata, dict):
            raise InvalidInput("metadata must be a JSON object (a dict).")
        return Version(self, self._request("PATCH", "versions", params={"path": path}, json={"metadata": metadata}))

    def set_ttl(self, path: str, ttl: datetime.timedelta | int | None) -> Version:
        """Set (a timedelta or seconds) or clear (None) a source version's time-to-live, as W&B's `artifact.ttl`.

        Only its team may; it counts from the commit, and the server deletes the version once it has run
        out, unless it is linked into a registry collection then (linked versions never expire).
        """
        seconds = None
        if ttl is not None:
            seconds = int(ttl.total_seconds()) if isinstance(ttl, datetime.timedelta) else int(ttl)
            if seconds <= 0:
                raise InvalidInput("A time-to-live must be positive (or None for none).")
        return Version(self, self._request("PATCH", "versions", params={"path": path}, json={"ttl_seconds": seconds}))

    def delete_version(self, path: str) -> None:
        """Delete the source version at `<team>/<project>/<name>:vN` (its team; W&B's `artifact.delete()`).

        It is unlinked from every collection and kept, restorable with `restore_version(id)`, for the
        server's retention period; refused while a protected alias holds it in a registry.
        """
        self._request("DELETE", "versions", params={"path": path})

    def restore_version(self, version_id: int) -> Version:
        """Bring back a deleted source version (by its id) within the retention period."""
        return Version(self, self._request("POST", f"artifacts/{int(version_id)}/restore"))

    # -- registries and collections --------------------------------------------------------------------------

    def create_registry(
        self,
        name: str,
        *,
        org: str | None = None,
        description: str = "",
        visibility: str | None = None,
        artifact_types: Iterable[str] | None = None,
    ) -> Registry:
        """Create a registry (org admins); `visibility` is "organization" (default) or "restricted"."""
        body = {
            "org": org or self._default_org(),
            "name": strip_registry_prefix(name),
            "description": description,
            "visibility": visibility,
            "artifact_types": list(artifact_types) if artifact_types is not None else None,
        }
        return Registry(self, self._request("POST", "registries", json=body))

    def update_registry(
        self,
        registry: str,
        *,
        name: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
        artifact_types: Iterable[str] | None = None,
    ) -> Registry:
        """Rename a registry or change its settings (registry admins): all of the changes or none.
        Old paths keep resolving after a rename; `artifact_types` are added, never removed."""
        body = {
            "name": strip_registry_prefix(name) if name is not None else None,
            "description": description,
            "visibility": visibility,
            "artifact_types": list(artifact_types) if artifact_types is not None else None,
        }
        body = {key: value for key, value in body.items() if value is not None}
        return Registry(self, self._request("PATCH", self._registry_endpoint(registry), json=body))

    def delete_registry(self, registry: str) -> None:
        """Delete a registry with its collections and links (registry admins; core registries cannot be)."""
        self._request("DELETE", self._registry_endpoint(registry))

    def create_collection(
        self, registry: str, name: str, type: str, *, description: str = "", tags: Iterable[str] | None = None
    ) -> Collection:
        """Create an empty collection in `[<org>/]wandb-registry-<name>` (registry Members)."""
        head, _, registry_name = registry.strip().rpartition("/")
        body = {
            "registry": f"{head or self._default_org()}/{strip_registry_prefix(registry_name)}",
            "name": name,
            "type": type,
            "description": description,
            "tags": list(tags) if tags is not None else None,
        }
        return Collection(self, self._request("POST", "collections", json=body))

    def update_collection(self, path: str, *, name: str | None = None, description: str | None = None) -> Collection:
        """Rename a collection (old paths keep resolving) or change its description (registry Members)."""
        body = {key: value for key, value in {"name": name, "description": description}.items() if value is not None}
        return Collection(self, self._request("PATCH", "collections", params={"path": path}, json=body))

    def delete_collection(self, path: str) -> None:
        """Delete a collection and its links (registry Members; only admins while a version holds a protected alias)."""
        self._request("DELETE", "collections", params={"path": path})

    def protected_aliases(self, registry: str) -> list[str]:
        """The aliases only admins of a registry (`[<org>/]wandb-registry-<name>`) may apply or remove."""
        return self._request("GET", self._registry_endpoint(registry, "protected-aliases"))

    def protect_alias(self, registry: str, alias: str) -> list[str]:
        """Make `alias` protected in a registry (registry admins); returns the protected aliases."""
        return self._request("POST", self._registry_endpoint(registry, "protected-aliases"), json={"alias": alias})

    def unprotect_alias(self, registry: str, alias: str) -> list[str]:
        """Stop protecting `alias` (versions keep it as an ordinary alias); returns the protected aliases."""
        return self._request("DELETE", self._registry_endpoint(registry, "protected-aliases"), params={"alias": alias})

    # -- registry members ----------------------------------------------------------------------------------------

    def registry_members(self, registry: str) -> list[dict]:
        """Users, service accounts and teams with a role of their own on a registry:
        `[{"user"|"team", "role", "service_account"}]`."""
        return self._request("GET", self._registry_endpoint(registry, "members"))

    def set_registry_member(
        self, registry: str, *, user: str | None = None, team: str | None = None, role: str | None = None
    ) -> list[dict]:
        """Give a user (username or email), service account or team a role on a registry (registry admins).

        Without `role`: restricted_viewer for people and teams, member for service accounts (W&B's defaults).
        Returns the member list.
        """
        body = {"user": user, "team": team, "role": role}
        return self._request("PUT", self._registry_endpoint(registry, "members"), json=body)

    def remove_registry_member(self, registry: str, *, user: str | None = None, team: str | None = None) -> None:
        """Take away the role a user or team holds on a registry itself (org-wide access stays)."""
        params = {"user": user} if user else {"team": team}
        self._request("DELETE", self._registry_endpoint(registry, "members"), params=params)

    # -- service accounts (org admins) --------------------------------------------------------------------------

    def service_accounts(self, org: str | None = None) -> list[dict]:
        """The organization's service accounts: `[{"name", "org", "team", "description", "active", "created_at"}]`."""
        return self._request("GET", api_path("orgs", org or self._default_org(), "service-accounts"))

    def create_service_account(
        self, name: str, *, org: str | None = None, team: str | None = None, description: str = ""
    ) -> dict:
        """Create a service account for the organization, or for one of its `team`s."""
        body = {"name": name, "team": team, "description": description}
        return self._request("POST", api_path("orgs", org or self._default_org(), "service-accounts"), json=body)

    def deactivate_service_account(self, name: str, *, org: str | None = None) -> None:
        """Deactivate a service account for good: every key of it stops working."""
        self._request("DELETE", api_path("orgs", org or self._default_org(), "service-accounts", name))

    def service_account_keys(self, name: str, *, org: str | None = None) -> list[dict]:
        """A service account's keys (never their secrets): `[{"id", "name", "prefix", …, "revoked_at"}]`."""
        return self._request("GET", api_path("orgs", org or self._default_org(), "service-accounts", name, "keys"))

    def create_service_account_key(self, name: str, key_name: str, *, org: str | None = None) -> dict:
        """A new API key for a service account; its `secret` is in this answer only."""
        path = api_path("orgs", org or self._default_org(), "service-accounts", name, "keys")
        return self._request("POST", path, json={"name": key_name})

    def revoke_service_account_key(self, name: str, key_id: int, *, org: str | None = None) -> None:
        """Revoke one key of a service account."""
        path = api_path("orgs", org or self._default_org(), "service-accounts", name, "keys", str(key_id))
        self._request("DELETE", path)

    def _registry_endpoint(self, registry: str, *rest: str) -> str:
        """The API path of a registry named `[<org>/]wandb-registry-<name>` or `<org>/<name>` (`rest` appended)."""
        head, _, name = registry.strip().rpartition("/")
        return api_path("registries", head or self._default_org(), strip_registry_prefix(name), *rest)

    # -- automations ---------------------------------------------------------------------------------------------

    def automations(self, org: str | None = None, scope: str | None = None, per_page: int = 50) -> list[dict]:
        """Automations you may see (newest first): scope, event, action (webhook or Slack), run counts."""
        items: list[dict] = []
        cursor = None
        while True:
            params = {"org": org, "scope": scope, "cursor": cursor, "per_page": per_page}
            page = self._request("GET", "automations", params={k: v for k, v in params.items() if v is not None})
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def create_automation(
        self,
        name: str,
        event_type: str,
        action: str,
        *,
        collection: str | None = None,
        registry: str | None = None,
        team: str | None = None,
        org: str | None = None,
        **options: Any,
    ) -> dict:
        """Create an automation for one of: a `collection` path, a `registry` path, a `team`, or an `org`.

        `action` names a webhook or Slack channel of the organization. `options`: description, alias_regex,
        payload_template, rate_limit_per_minute, cooldown_seconds, enabled.
        """
        scopes = {"collection": collection, "registry": registry, "team": team}
        given = [scope for scope, value in scopes.items() if value]
        if len(given) > 1 or (not given and not org):
            raise InvalidInput("Give one scope: collection, registry, team, or org (the whole organization).")
        scope = given[0] if given else "organization"
        body = {"scope": scope, "name": name, "event_type": event_type, "action": action, **options}
        body.update({key: value for key, value in {**scopes, "org": org}.items() if value})
        return self._request("POST", "automations", json=body)

    def delete_automation(self, automation_id: int) -> None:
        """Delete an automation and its history."""
        self._request("DELETE", f"automations/{int(automation_id)}")

    def set_new_version_notification(self, collection: str, action: str | None = None, enabled: bool = True) -> dict:
        """Turn a collection's "notify on new version" on (to a webhook or Slack channel `action`) or off."""
        body: dict[str, Any] = {"enabled": enabled}
        if action is not None:
            body["action"] = action
        return self._request("PUT", "collections/notify", params={"path": collection}, json=body)

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
        team, project = split_project(path)
        return Project(self, {"team": team, "name": project, "path": f"{team}/{project}"})

    def registry(self, path: str) -> Registry:
        """One registry by `[<org>/]wandb-registry-<name>` or `<org>/<name>`."""
        return Registry(self, self._request("GET", self._registry_endpoint(path)))

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

    # -- lineage ------------------------------------------------------------------------------------------------

    def logged_by(self, path: str) -> Run | None:
        """The run that logged the version at `path`, or None (private runs have `private=True`, no name)."""
        return Version(self, {"path": str(parse_version_path(path))}).logged_by()

    def used_by(self, path: str, per_page: int = 50) -> UsedByPaginator:
        """The runs that used the version at `path` as an input, oldest use first (lazy)."""
        return UsedByPaginator(self, path=str(parse_version_path(path)), per_page=per_page)

    def run(self, path: str) -> Run:
        """A run of a project you are in, by `<team>/<project>/<run_id>`, with its state, config and summary."""
        team, project, run_id = self._run_parts(path)
        return Run(self, self._request("GET", api_path("runs", team, project, run_id)))

    def run_inputs(self, path: str, per_page: int = 50) -> RunArtifactPaginator:
        """The versions the run `<team>/<project>/<run_id>` used, in order (lazy)."""
        return RunArtifactPaginator(self, "/".join(self._run_parts(path)), "inputs", per_page=per_page)

    def run_outputs(self, path: str, per_page: int = 50) -> RunArtifactPaginator:
        """The versions the run `<team>/<project>/<run_id>` logged, in order (lazy)."""
        return RunArtifactPaginator(self, "/".join(self._run_parts(path)), "outputs", per_page=per_page)

    @staticmethod
    def _run_parts(path: str) -> tuple[str, str, str]:
        parts = (path or "").strip().split("/")
        if len(parts) != 3 or not all(parts):
            raise InvalidInput(f"Give a run as “<team>/<project>/<run_id>”, not {path!r}.")
        return parts[0], parts[1], parts[2]

    def _project_versions(self, team: str, project: str, *, name: str | None, per_page: int) -> SourceVersionPaginator:
        return SourceVersionPaginator(self, team, project, name=name, per_page=per_page)

    # -- downloading ---------------------------------------------------------------------------------------------

    def _download(self, version: Version, root, *, progress: bool | None, workers: int) -> Path:
        files = version.files()
        denied = [f.path for f in files if not f.url]
        if denied:
            raise PermissionDenied(f"You may not download the files of {version.path}.", status_code=403)
        root = Path(root) if root is not None else Path("artifacts") / f"{version.name}-{version.version}"
        transfers.download(
            self._transport,
            files,
            root,
            refresh=lambda: self.artifact(version.path).files(),
            progress=self._progress_enabled(progress),
            workers=workers,
        )
        return root
