"""Lazy lists: one loop follows `next_cursor` for every paged endpoint; chains narrow a search step by step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput
from .resources import Collection, PrivateArtifact, Project, Registry, Run, Version, _Resource
from .transport import api_path

if TYPE_CHECKING:  # annotations only: the client module builds these lists
    from .client import Client


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


class Paginator:
    """Iterates a paged list lazily, following `next_cursor`; nothing is fetched until you iterate.

    Keyword arguments are the endpoint's query parameters (`None` ones are left out; `*filter` ones are JSON).
    """

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
    """Linked versions, newest link first (`registry_filter`, `collection_filter`, `filter`, `org`)."""

    endpoint = "versions"
    wrap = Version


class CollectionPaginator(Paginator):
    """Collections (`registry_filter`, `filter`, `order`, `org`); chain `.versions(filter=)` for their versions."""

    endpoint = "collections"
    wrap = Collection

    def versions(self, filter: dict | str | None = None, per_page: int = 50) -> VersionPaginator:
        """The versions in the collections this chain selects."""
        return self._client.versions(
            registry_filter=self.params.get("registry_filter"),
            collection_filter=self.params.get("filter"),
            filter=filter,
            org=self.params.get("org"),
            per_page=per_page,
        )


class RegistryPaginator(Paginator):
    """Registries (`filter`, `org`, `order`); chain `.collections(filter=)` and `.versions(filter=)` to search
    inside them."""

    endpoint = "registries"
    wrap = Registry

    def collections(
        self, filter: dict | str | None = None, order: str | None = None, per_page: int = 50
    ) -> CollectionPaginator:
        """The collections in the registries this chain selects."""
        return self._client.collections(
            registry_filter=self.params.get("filter"),
            filter=filter,
            order=order,
            org=self.params.get("org"),
            per_page=per_page,
        )

    def versions(self, filter: dict | str | None = None, per_page: int = 50) -> VersionPaginator:
        """The versions in the registries this chain selects."""
        return self._client.versions(
            registry_filter=self.params.get("filter"), filter=filter, org=self.params.get("org"), per_page=per_page
        )


class ProjectPaginator(Paginator):
    """Source projects (`team`), by name."""

    endpoint = "projects"
    wrap = Project


class SourceVersionPaginator(Paginator):
    """The committed source versions of one project (`name`: one artifact), newest first."""

    wrap = Version

    def __init__(self, client: Client, team: str, project: str, *, name: str | None = None, per_page: int = 50):
        super().__init__(client, name=name, per_page=per_page)
        self.endpoint = api_path("projects", team, project, "versions")


class UsedByPaginator(Paginator):
    """The runs that used a version (`path`), oldest use first; runs you may not see are private."""

    endpoint = "artifacts/used-by"
    wrap = Run


def _lineage_version(client: Client, item: dict) -> Version | PrivateArtifact:
    return PrivateArtifact() if item.get("private") else Version(client, item["version"])


class RunArtifactPaginator(Paginator):
    """The versions a run used (`inputs`) or logged (`outputs`), in order; ones you cannot reach are
    `PrivateArtifact`s."""

    wrap = staticmethod(_lineage_version)

    def __init__(self, client: Client, run_path: str, direction: str, *, per_page: int = 50):
        super().__init__(client, per_page=per_page)
        team, project, run_id = run_path.split("/")
        self.endpoint = api_path("runs", team, project, run_id, direction)
