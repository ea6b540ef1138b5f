"""API: collections, links, aliases, tags, and collection/version search."""

import datetime
from pathlib import PurePosixPath
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Status
from pydantic import BaseModel

from apps.artifacts.api import (
    ArtifactIn,
    CreatedVersionOut,
    PathIn,
    ResolvedOut,
    VersionOut,
    absolute,
    files_out,
    project_at,
    run_in,
    upload_targets,
    version_out,
)
from apps.artifacts.models import ArtifactUsage, ArtifactVersion, Project, Run, UsageKind, VersionState, VersionTag
from apps.artifacts.services import BlobsMissing, create_version, set_version_ttl, update_source_metadata
from apps.artifacts.storage import get_store
from apps.collections import services, sql
from apps.collections.lineage import run_row, runs_as_seen, versions_as_seen
from apps.collections.models import (
    Collection,
    CollectionTag,
    Link,
    LinkAlias,
    find_collection,
    find_registry,
    find_version,
    parse_artifact_path,
)
from apps.registries.api import visible_registries
from lib import json_answers
from lib.filters import Field as FilterField
from lib.filters import apply_filter, check_order, parse_json_param, tags_of, time_limited_search
from lib.pagination import cursor_page
from lib.paths import REGISTRY_PREFIX
from lib.schemas import Id, Payload, Size

router = Router(tags=["collections"])

COLLECTION_FIELDS = {
    "id": FilterField("pk", "int"),
    # W&B's own names for the id: the wandb SDK rewrites `id` in a collection filter to the first.
    "artifact_collection_id": FilterField("pk", "int"),
    "collection_id": FilterField("pk", "int"),
    "name": FilterField("name"),
    "description": FilterField("description"),
    "type": FilterField("type"),
    "tag": FilterField("tags", "many", many=tags_of(CollectionTag, "collection")),
    "created_at": FilterField("created_at", "datetime"),
    "updated_at": FilterField("updated_at", "datetime"),
}

# Version filters run over links: a registry version is a link to a source version.
# Links never change once made, so updated_at is the link's time, like created_at.
VERSION_FIELDS = {
    "id": FilterField("version_id", "int"),
    "version": FilterField("index", "int"),
    "name": FilterField("collection__name"),
    "description": FilterField("version__description"),
    "type": FilterField("collection__type"),
    "size": FilterField("version__size", "int"),
    "tag": FilterField("tags", "many", many=tags_of(VersionTag, "version", outer="version_id")),
    "alias": FilterField("aliases", "many", many=tags_of(LinkAlias, "link", name="alias")),
    "metadata": FilterField("version__metadata", "json"),
    "created_at": FilterField("created_at", "datetime"),
    "updated_at": FilterField("created_at", "datetime"),
}


class CollectionOut(BaseModel):  # plain pydantic: answers are dicts (see artifacts.api.VersionOut)
    id: int
    registry: str
    org: str
    name: str
    type: str
    description: str
    tags: list[str]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    path: str


class MissingFile(BaseModel):
    path: str
    sha256: str
    size: int


class MissingOut(BaseModel):
    detail: str
    missing: list[MissingFile]


class CollectionPage(BaseModel):
    items: list[CollectionOut]
    next_cursor: str | None


class VersionPage(BaseModel):
    items: list[VersionOut]
    next_cursor: str | None


class CollectionIn(Payload):
    registry: str = Field(description="“<org>/<registry name>” (the org may be left out if you are in one org)")
    name: str
    type: str
    description: str | None = Field(None, max_length=100_000)
    tags: list[str] | None = Field(None, max_length=100)


class CollectionPatch(Payload):
    name: str | None = None
    description: str | None = Field(None, max_length=100_000)


class LinkIn(Payload):
    source: str | None = Field(None, description="Path of the version to link (source or registry path)")
    version_id: Id | None = None
    target_path: str = Field(description="[<org>/]wandb-registry-<registry>/<collection>")
    aliases: list[str] | None = Field(None, max_length=100)


class AliasIn(Payload):
    path: str
    alias: str


class VersionPatch(Payload):
    description: str | None = Field(None, max_length=100_000)
    metadata: dict[str, Any] | None = Field(
        None, description="Replaces the metadata: a JSON object, ≤ 100 top-level keys, ≤ 1 MB"
    )
    ttl_seconds: Size | None = Field(
        None,
        description="Source versions only (their team): delete the version this many seconds after its commit "
        "unless it is linked then (W&B's `ttl`); null clears it",
    )


class TagIn(Payload):
    path: str
    tag: str


def collection_out(collection: Collection) -> dict:
    registry = collection.registry
    return {
        "id": collection.pk,
        "registry": registry.name,
        "org": registry.org.slug,
        "name": collection.name,
        "type": collection.type,
        "description": collection.description,
        "tags": sorted(tag.name for tag in collection.tags.all()),
        "created_at": collection.created_at,
        "updated_at": collection.updated_at,
        "path": f"{registry.org.slug}/{registry.full_name}/{collection.name}",
    }


def resolve_or_404(user, path: str):
    """(version, link) for any version path the user can see; 404 otherwise."""
    found = find_version(user, path)
    if found is None:
        raise Http404(f"No artifact version “{path[:200]}” that you can see.")
    return found


def _linked_out(link: Link) -> dict:
    """The Version for a link whose collection, registry, org and source are already loaded.

    Aliases and tags come from what the service knows (`alias_names`, `tag_names`), else are read fresh
    (a small query each), so the answer shows the change just made.
    """
    return version_out(
        link.version, link, tags=getattr(link, "tag_names", None), aliases=getattr(link, "alias_names", None)
    )


def _link_at(user, path: str) -> Link:
    """The link a registry version path names; 404 if invisible, 400 for a source path."""
    version, link = resolve_or_404(user, path)
    if link is None:
        raise ValidationError(
            {"path": "Aliases and tags are set on registry versions: “[<org>/]wandb-registry-<r>/<c>:<v>”."}
        )
    return link


def _collection_at(user, path: str) -> Collection:
    collection = find_collection(user, path)
    if collection is None:
        raise Http404(f"No collection “{path[:200]}” that you can see.")
    return collection


# --- Search ---


@router.get("/collections", response=CollectionPage)
def collection_list(
    request: HttpRequest,
    registry_filter: str | None = None,
    filter: str | None = None,
    order: str | None = None,
    cursor: str | None = None,
    per_page: int = 50,
    org: str | None = None,
):
    collections = search_collections(request.user, org, registry_filter, filter)
    collections = collections.select_related("registry__org").prefetch_related("tags")
    with time_limited_search(registry_filter, filter):
        rows, next_cursor = cursor_page(collections, order=check_order(order, "name"), cursor=cursor, per_page=per_page)
    return {"items": [collection_out(c) for c in rows], "next_cursor": next_cursor}


@router.get("/versions", response=VersionPage)
def version_list(
    request: HttpRequest,
    registry_filter: str | None = None,
    collection_filter: str | None = None,
    filter: str | None = None,
    cursor: str | None = None,
    per_page: int = 50,
    org: str | None = None,
):
    """Linked versions the caller can see: newest collection first, and newest version first in each."""
    with time_limited_search(registry_filter, collection_filter, filter):
        links = search_links(request.user, org, registry_filter, collection_filter, filter)
        rows, next_cursor = version_page(links.values(*LINK_ROW), cursor=cursor, per_page=per_page)
    # Rows built field by field to VersionOut (tests check them against it), so ninja need not validate them again.
    return json_answers.answer({"items": linked_versions_out(rows), "next_cursor": next_cursor})


# The searches themselves, shared by this API and the wandb SDK's GraphQL face (apps/wandb_api).


def search_collections(user, org: str | None, registry_filter: str | None, filter: str | None, param: str = "filter"):
    """Collections in the registries `user` sees (narrowed by org and a registry filter), by a W&B filter."""
    registries = visible_registries(user, org, registry_filter, "registry_filter")
    collections = Collection.objects.filter(registry__in=registries.values("pk"))
    return apply_filter(collections, parse_json_param(filter, param), COLLECTION_FIELDS, "collection")


# A collection filter naming at most this many collections hands their ids to the version search as values.
NAMED_COLLECTIONS = 100


def search_links(user, org: str | None, registry_filter: str | None, collection_filter: str | None, filter: str | None):
    """Links (registry versions) in the registries `user` sees, narrowed by registry, collection and version filters.
    Call it inside `time_limited_search()`: with a collection filter, it reads the matching collections' ids."""
    collections = search_collections(user, org, registry_filter, collection_filter, param="collection_filter")
    ids = collections.values("pk")
    if collection_filter:
        # The SDK walks one collection's versions: given its id as a value, PostgreSQL reads one page off the
        # (collection, index) index; given a subquery, it planned for the average collection and read and sorted
        # every link of a large one for each page.
        named = list(collections.order_by().values_list("pk", flat=True)[: NAMED_COLLECTIONS + 1])
        if len(named) <= NAMED_COLLECTIONS:
            ids = named
    # One IN on the links' leading index column (collection, index), not a join: the database then reads each
    # collection's links off that index already in page order instead of sorting every matching link.
    links = Link.objects.filter(collection__in=ids)
    return apply_filter(links, parse_json_param(filter, "filter"), VERSION_FIELDS, "version")


def version_page(links, *, cursor: str | None, per_page: int) -> tuple[list, str | None]:
    """One page of `search_links` and the next cursor (inside the caller's `time_limited_search()`).

    Newest collection first, newest version first: one backward walk of the (collection, index)
    unique index, no sort, however many links a collection holds (mixed directions would sort).
    """
    return cursor_page(links, order="-collection_id", cursor=cursor, per_page=per_page, then="-index")


# A page's own columns: the rest of a Version as linked (what version_out reads from seven related objects) comes
# from sql.page_details by id. Building eight model instances per row, and prefetching through them, was 90 % of a
# page; building the ORM's `values()` across those relations, half of what was left.
LINK_ROW = ("pk", "collection_id", "index", "created_at", "version_id")


def linked_versions_out(rows: list[dict]) -> list[dict]:
    """Version objects (as version_out makes them for links) for rows of LINK_ROW; three more statements, sent
    together."""
    versions, collections, aliases, tags = sql.page_details(
        [r["pk"] for r in rows], sorted({r["version_id"] for r in rows}), sorted({r["collection_id"] for r in rows})
    )
    items = []
    for r in rows:
        collection, registry, org = collections[r["collection_id"]]
        version_index, state, metadata, description, size, digest, artifact, type, project, team = versions[
            r["version_id"]
        ]
        collection_path = f"{org}/{REGISTRY_PREFIX}{registry}/{collection}"
        items.append(
            {
                "id": r["version_id"],
                "name": collection,
                "type": type,
                "version": f"v{r['index']}",
                "aliases": aliases.get(r["pk"], []),
                "tags": tags.get(r["version_id"], []),
                "metadata": metadata,
                "description": description,
                "size": size,
                "digest": digest,
                "created_at": r["created_at"],
                "state": state,
                "path": f"{collection_path}:v{r['index']}",
                "source_path": f"{team}/{project}/{artifact}:v{version_index}",  # linked versions are always committed
                "link_id": r["pk"],
                "collection": collection_path,
                "ttl_seconds": None,  # linked versions never expire
                "expires_at": None,
            }
        )
    return items


# --- Collections ---


@router.post("/collections", response={201: CollectionOut})
def collection_create(request: HttpRequest, payload: CollectionIn):
    org, slash, name = payload.registry.partition("/")
    registry = find_registry(request.user, org if slash else None, name if slash else org)
    if registry is None:
        raise Http404(f"No registry “{payload.registry[:200]}” that you can see.")
    collection = services.create_collection(
        actor=request.user,
        registry=registry,
        name=payload.name,
        type=payload.type,
        description=payload.description or "",
        tags=payload.tags,
    )
    return Status(201, collection_out(collection))


@router.patch("/collections", response=CollectionOut)
def collection_update(request: HttpRequest, path: str, payload: CollectionPatch):
    collection = _collection_at(request.user, path)
    with transaction.atomic():
        if payload.name is not None and payload.name != collection.name:
            services.rename_collection(actor=request.user, collection=collection, name=payload.name)
        if payload.description is not None and payload.description != collection.description:
            services.update_collection_description(
                actor=request.user, collection=collection, description=payload.description
            )
    return collection_out(collection)


@router.delete("/collections", response={204: None})
def collection_delete(request: HttpRequest, path: str):
    services.delete_collection(actor=request.user, collection=_collection_at(request.user, path))
    return Status(204, None)


# --- Logging versions (the upload protocol is apps/artifacts/api.py's; this call can also link) ---


@router.post("/artifacts", response={201: CreatedVersionOut, 409: MissingOut})
def artifact_create(request: HttpRequest, payload: ArtifactIn):
    """Create a pending version and answer the blobs still to upload (one per distinct SHA-256).

    With `commit: true` the version is committed in the same call, and with `target_path` also linked
    (with `aliases`): one transaction, the same audit events as the separate calls. It needs every
    blob stored already (or no files); otherwise 409 lists the missing ones and nothing is written.
    """
    if not payload.commit and (payload.target_path is not None or payload.aliases):
        raise ValidationError({"target_path": "Linking in the same call needs “commit”: true."})
    if payload.aliases and payload.target_path is None:
        raise ValidationError({"aliases": "Aliases apply to a registry link: give “target_path”."})
    registry = target = None
    if payload.target_path is not None:
        target = _collection_target(payload.target_path)
        registry = _target_registry(request.user, target)
    project = project_at(request.user, payload.project, create=False, missing_ok=True)
    try:
        if project is not None:
            return _log_version(request, payload, project, registry, target)
        # The project is made on first use, in the same transaction as the version: refused input
        # leaves no project behind. (The common case, an existing project, needs no outer savepoint.)
        with transaction.atomic():
            project = project_at(request.user, payload.project, create=True)
            return _log_version(request, payload, project, registry, target)
    except BlobsMissing as exc:
        missing = [{"path": f["path"], "sha256": f["sha256"], "size": f["size"]} for f in exc.missing]
        return Status(409, {"detail": exc.messages[0], "missing": missing})


def _log_version(request: HttpRequest, payload: ArtifactIn, project, registry, target):
    fields = {
        "actor": request.user,
        "project": project,
        "name": payload.name,
        "type": payload.type,
        "files": [f.dict() for f in payload.files],
        "metadata": payload.metadata,
        "description": payload.description or "",
        "run": run_in(project, payload.run_id),
    }
    if registry is not None:
        link = services.create_linked_version(
            **fields, registry=registry, collection_name=target.name, aliases=payload.aliases
        )
        version = link.version
    else:
        version = create_version(**fields, commit=payload.commit)
    if payload.commit:
        source = version_out(version, tags=[])
        linked = _linked_out(link) if registry is not None else None
        return Status(201, {"version": source, "uploads": [], "linked": linked})
    # A new pending version: no tags; the upload targets name what the store still lacks.
    return Status(201, {"version": version_out(version, tags=[]), "uploads": upload_targets(request, version)})


# --- Links ---


def _source_version(user, payload: LinkIn) -> ArtifactVersion:
    """The version to link. By id it is not read here: the service reads it once, checking the caller sees it."""
    if (payload.source is None) == (payload.version_id is None):
        raise ValidationError({"source": "Give exactly one of “source” (a path) or “version_id”."})
    if payload.source is not None:
        return resolve_or_404(user, payload.source)[0]
    return ArtifactVersion(pk=payload.version_id)


def _visible_anywhere(user, version_id: int) -> bool:
    """Whether `user` sees a version from its project or through a registry it is linked into."""
    return (
        ArtifactVersion.objects.visible_to(user).filter(pk=version_id).exists()
        or Link.objects.visible_to(user).filter(version_id=version_id).exists()
    )


def _collection_target(path: str):
    """The parsed `[<org>/]wandb-registry-<registry>/<collection>` a link goes into; 400 for any other path."""
    target = parse_artifact_path(path)
    if target.registry is None or target.version is not None:
        raise ValidationError(
            {"target_path": "The target is a collection: “[<org>/]wandb-registry-<registry>/<collection>”."}
        )
    return target


def _target_registry(user, target):
    registry = find_registry(user, target.org, target.registry)
    if registry is None:
        raise Http404(f"No registry “{target.registry[:120]}” that you can see.")
    return registry


@router.post("/links", response={200: VersionOut, 201: VersionOut})
def link_create(request: HttpRequest, payload: LinkIn):
    """Link a version into a collection (created on first link); linking twice answers the existing link."""
    target = _collection_target(payload.target_path)
    registry = _target_registry(request.user, target)
    try:
        link = services.link_version(
            actor=request.user,
            version=_source_version(request.user, payload),
            registry=registry,
            collection_name=target.name,
            aliases=payload.aliases,
        )
    except PermissionDenied:
        # Only now tell "cannot see it" (404) from "may not link it" (403): the happy path pays nothing.
        if payload.version_id is not None and not _visible_anywhere(request.user, payload.version_id):
            raise Http404(f"No artifact version {payload.version_id} that you can see.") from None
        raise
    return Status(201 if link.is_new else 200, _linked_out(link))


@router.delete("/links", response={204: None})
def link_delete(request: HttpRequest, path: str):
    services.unlink_version(actor=request.user, link=_link_at(request.user, path))
    return Status(204, None)


@router.patch("/versions", response=VersionOut)
def version_update(request: HttpRequest, path: str, payload: VersionPatch):
    """Edit a version's description or metadata (both the source version's, shared by all its links).

    A registry path needs Member or more in that registry; a source path (metadata only) its team.
    """
    set_ttl = "ttl_seconds" in payload.model_fields_set
    if payload.description is None and payload.metadata is None and not set_ttl:
        raise ValidationError({"description": "Give a description, metadata or ttl_seconds to change."})
    version, link = resolve_or_404(request.user, path)
    with transaction.atomic():
        if link is None:
            if payload.description is not None:
                raise ValidationError(
                    {"path": "Descriptions are edited on registry versions: “[<org>/]wandb-registry-<r>/<c>:<v>”."}
                )
            if payload.metadata is not None:
                update_source_metadata(actor=request.user, version=version, metadata=payload.metadata)
            if set_ttl:
                set_version_ttl(actor=request.user, version=version, ttl_seconds=payload.ttl_seconds)
            return version_out(version)
        if set_ttl:
            raise ValidationError(
                {
                    "ttl_seconds": "A time-to-live is set on the source version (“<team>/<project>/<name>:vN”); "
                    "linked versions never expire."
                }
            )
        if payload.description is not None:
            services.update_version_description(actor=request.user, link=link, description=payload.description)
        if payload.metadata is not None:
            services.update_version_metadata(actor=request.user, link=link, metadata=payload.metadata)
    return _linked_out(link)


# --- Aliases and tags ---


@router.post("/aliases", response=VersionOut)
def alias_add(request: HttpRequest, payload: AliasIn):
    link = _link_at(request.user, payload.path)
    services.add_alias(actor=request.user, link=link, alias=payload.alias)
    return _linked_out(link)


@router.delete("/aliases", response=VersionOut)
def alias_remove(request: HttpRequest, path: str, alias: str):
    link = _link_at(request.user, path)
    services.remove_alias(actor=request.user, link=link, alias=alias)
    return _linked_out(link)


def _is_version_path(path: str) -> bool:
    return parse_artifact_path(path).version is not None


@router.post("/tags", response=VersionOut | CollectionOut)
def tag_add(request: HttpRequest, payload: TagIn):
    """Tag a registry version (`…:<v>`) or a collection (no version in the path)."""
    if _is_version_path(payload.path):
        link = _link_at(request.user, payload.path)
        services.add_version_tag(actor=request.user, link=link, tag=payload.tag)
        return _linked_out(link)
    collection = _collection_at(request.user, payload.path)
    services.add_collection_tag(actor=request.user, collection=collection, tag=payload.tag)
    return collection_out(collection)


@router.delete("/tags", response=VersionOut | CollectionOut)
def tag_remove(request: HttpRequest, path: str, tag: str):
    if _is_version_path(path):
        link = _link_at(request.user, path)
        services.remove_version_tag(actor=request.user, link=link, tag=tag)
        return _linked_out(link)
    collection = _collection_at(request.user, path)
    services.remove_collection_tag(actor=request.user, collection=collection, tag=tag)
    return collection_out(collection)


# --- Resolving paths: registry paths decide access by the registry they name ---


@router.get("/artifacts/resolve", response=ResolvedOut)
def artifact_resolve(request: HttpRequest, response: HttpResponse, path: str):
    """The version at a source or registry path, with its files and (if allowed) download URLs."""
    version, link = resolve_or_404(request.user, path)
    if warning := getattr(version, "deprecation_warning", ""):  # a migrated legacy path (apps/legacy)
        response["Warning"] = f'299 - "{warning}"'
    downloadable = services.can_download(request.user, version, link)
    if link is None:
        return {**version_out(version), "files": files_out(request, version, downloadable)}
    aliases, tags, files = sql.version_extras(link.pk, version.pk)  # one statement for the three
    return {
        **version_out(version, link, tags=tags, aliases=aliases),
        "files": files_out(request, version, downloadable, files),
    }


@router.get("/artifacts/file", response={302: None})
def artifact_file(request: HttpRequest, path: str, name: str):
    """Redirect to a signed download URL for one file of a version (403 for Restricted Viewers)."""
    version, link = resolve_or_404(request.user, path)
    # SECURITY: the path decides: a Restricted Viewer of the registry it names may not download,
    # even when the same version is also linked where they are a Viewer.
    if not services.can_download(request.user, version, link):
        raise PermissionDenied("Your role lets you see this version but not download its files.")
    entry = version.entries.filter(path=name).first()
    if entry is None:
        raise Http404(f"{version} has no file “{name[:200]}”.")
    return HttpResponseRedirect(
        absolute(request, get_store().download_url(entry.sha256, PurePosixPath(entry.path).name))
    )


@router.post("/runs/{team}/{project}/{run_id}/use", response=VersionOut)
def run_use(request: HttpRequest, team: str, project: str, run_id: str, payload: PathIn):
    run = get_object_or_404(
        Run.objects.filter(project__in=Project.objects.visible_to(request.user)).select_related("project__team__org"),
        project__team__name=team,
        project__name=project,
        run_id=run_id,
    )
    version, link = resolve_or_404(request.user, payload.path)
    services.use_artifact(actor=request.user, run=run, version=version, link=link)
    return version_out(version, link)


# --- Lineage: who logged a version, who used it, and a run's inputs and outputs ---
# Redacted as the Lineage tab is (collections/lineage.py): runs and versions in projects the caller is
# not in are "private", without names, unless a version is reachable through a registry they see.


class LineageRunOut(BaseModel):
    private: bool = Field(description="A run in a project you are not in: no name, id or path")
    run_id: str | None
    name: str | None
    state: str | None
    path: str | None = Field(description="<team>/<project>/<run_id>")
    created_at: datetime.datetime | None


class LoggedByOut(BaseModel):
    run: LineageRunOut | None = Field(description="null when no run logged the version")


class LineageRunPage(BaseModel):
    items: list[LineageRunOut]
    next_cursor: str | None


class RunDetailOut(LineageRunOut):
    config: dict[str, Any]
    summary: dict[str, Any]


class LineageVersionOut(BaseModel):
    private: bool = Field(description="A version you can reach neither at its source nor through a registry")
    version: VersionOut | None


class LineageVersionPage(BaseModel):
    items: list[LineageVersionOut]
    next_cursor: str | None


@router.get("/artifacts/logged-by", response=LoggedByOut)
def artifact_logged_by(request: HttpRequest, path: str):
    """The run that logged the version at `path` (W&B's `artifact.logged_by()`)."""
    version, _ = resolve_or_404(request.user, path)
    run = Run.objects.select_related("project__team").filter(pk=version.run_id).first() if version.run_id else None
    return {"run": runs_as_seen(request.user, [run])[0] if run else None}


@router.get("/artifacts/used-by", response=LineageRunPage)
def artifact_used_by(request: HttpRequest, path: str, cursor: str | None = None, per_page: int = 50):
    """Runs that used the version at `path` as an input, oldest use first (W&B's `artifact.used_by()`)."""
    version, _ = resolve_or_404(request.user, path)
    usages = ArtifactUsage.objects.filter(version=version, kind=UsageKind.INPUT).select_related("run__project__team")
    rows, next_cursor = cursor_page(usages, order="pk", cursor=cursor, per_page=per_page)
    return {"items": runs_as_seen(request.user, [usage.run for usage in rows]), "next_cursor": next_cursor}


def _run_or_404(user, team: str, project: str, run_id: str) -> Run:
    return get_object_or_404(
        Run.objects.filter(project__in=Project.objects.visible_to(user)).select_related("project__team"),
        project__team__name=team,
        project__name=project,
        run_id=run_id,
    )


@router.get("/runs/{team}/{project}/{run_id}", response=RunDetailOut)
def run_detail(request: HttpRequest, team: str, project: str, run_id: str):
    """A run of a project you are in: its state, config and summary."""
    run = _run_or_404(request.user, team, project, run_id)
    return {**run_row(run, True), "config": run.config, "summary": run.summary}


def _run_versions(request: HttpRequest, team: str, project: str, run_id: str, kind: str, cursor, per_page: int):
    run = _run_or_404(request.user, team, project, run_id)
    usages = (
        ArtifactUsage.objects.filter(run=run, kind=kind)
        .exclude(version__state=VersionState.DELETED)  # deleted versions are gone for everyone
        .select_related("version__sequence__project__team")
        .prefetch_related("version__tags")
    )
    rows, next_cursor = cursor_page(usages, order="pk", cursor=cursor, per_page=per_page)
    items = [
        {"private": False, "version": version_out(*seen)} if seen else {"private": True, "version": None}
        for seen in versions_as_seen(request.user, [usage.version for usage in rows])
    ]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/runs/{team}/{project}/{run_id}/inputs", response=LineageVersionPage)
def run_inputs(
    request: HttpRequest, team: str, project: str, run_id: str, cursor: str | None = None, per_page: int = 50
):
    """Versions the run used (W&B's `run.used_artifacts()`), in the order it used them."""
    return _run_versions(request, team, project, run_id, UsageKind.INPUT, cursor, per_page)


@router.get("/runs/{team}/{project}/{run_id}/outputs", response=LineageVersionPage)
def run_outputs(
    request: HttpRequest, team: str, project: str, run_id: str, cursor: str | None = None, per_page: int = 50
):
    """Versions the run logged (W&B's `run.logged_artifacts()`), in the order it logged them."""
    return _run_versions(request, team, project, run_id, UsageKind.OUTPUT, cursor, per_page)


# --- Deleting source versions (their team) ---


@router.delete("/versions", response={204: None})
def version_delete(request: HttpRequest, path: str):
    """Delete the source version at `path` (its team; W&B's `artifact.delete()`): it is unlinked from every
    collection and kept, restorable, for the retention period. Refused while a protected alias holds it."""
    version, link = resolve_or_404(request.user, path)
    if link is not None:
        raise ValidationError(
            {
                "path": "Give the source path “<team>/<project>/<name>:vN” to delete a version; "
                "DELETE /api/v1/links unlinks it from one collection."
            }
        )
    services.delete_source_version(actor=request.user, version=version)
    return Status(204, None)
