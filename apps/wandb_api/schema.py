"""Resolvers for schema.graphql: W&B's object shapes, read through our querysets and finders.

Ids are opaque strings: an artifact is its version's primary key (`p<n>` while pending), a project is
`J<n>` (a team's project) or `R<n>` (a registry, W&B's `wandb-registry-<name>` project), a collection
`S<n>` (a logged sequence) or `C<n>` (a registry collection), a membership `L<n>` (a link) or `V<n>`
(a version in its own sequence).
"""

import base64
import datetime
import json
from pathlib import Path, PurePosixPath

from ariadne import (
    EnumType,
    InterfaceType,
    MutationType,
    ObjectType,
    QueryType,
    ScalarType,
    load_schema_from_path,
    make_executable_schema,
)
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from apps.artifacts.api import absolute
from apps.artifacts.models import ArtifactSequence, ArtifactVersion, Blob, Project, Run, VersionState
from apps.artifacts.services import set_version_ttl, update_source_metadata
from apps.artifacts.storage import get_store
from apps.collections import services as collections
from apps.collections.api import search_collections, search_links, version_page
from apps.collections.models import Collection, Link, find_collection, find_registry, find_version
from apps.orgs.models import Organization, Team
from apps.orgs.permissions import has_perm
from apps.registries.api import visible_registries
from apps.registries.models import REGISTRY_PREFIX, Visibility
from apps.wandb_api import services
from apps.wandb_api.models import PendingArtifact
from lib.filters import check_order, time_limited_search
from lib.pagination import MAX_PER_PAGE, cursor_page

MANIFEST_SALT = "wandb_api.manifest"
MANIFEST_UPLOAD_SALT = "wandb_api.manifest-upload"
FILE_UPLOAD_SALT = "wandb_api.file-upload"
TTL_NONE = -2  # W&B: no time-to-live
FILES_PAGE_MAX = 10_000

query = QueryType()
mutation = MutationType()
json_string = ScalarType("JSONString")


date_time = ScalarType("DateTime")


@json_string.serializer
def _serialize_json(value):
    return value if isinstance(value, str) or value is None else json.dumps(value)


@date_time.serializer
def _serialize_datetime(value):
    # W&B's format: UTC, seconds, no zone (what the SDK's pydantic models parse).
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S") if value else None


def _user(info):
    return info.context["request"].user


def _request(info):
    return info.context["request"]


# --- Shapes ---


def _registry_project(registry) -> dict:
    org = registry.org
    return {
        "id": f"R{registry.pk}",
        # W&B's encoding, which the SDK decodes to search "this registry" by id (else by name).
        "internalId": base64.b64encode(f"ProjectInternalId:{registry.pk}".encode()).decode(),
        "name": registry.full_name,
        "entityName": org.slug,
        "description": registry.description,
        "readOnly": False,
        "createdAt": registry.created_at,
        "updatedAt": registry.updated_at,
        "entity": _org_entity(org),
        "access": "RESTRICTED" if registry.visibility == Visibility.RESTRICTED else "PRIVATE",
        "allowAllArtifactTypesInRegistry": registry.allow_all_types,
        "artifactTypes": {"edges": [{"node": {"id": t, "name": t}} for t in registry.artifact_types]},
        "_registry": registry,
    }


def _source_project(project: Project) -> dict:
    return {
        "id": f"J{project.pk}",
        "internalId": f"J{project.pk}",
        "name": project.name,
        "entityName": project.team.name,
        "description": project.description,
        "readOnly": False,
        "createdAt": project.created_at,
        "entity": _team_entity(project.team),
        "_project": project,
    }


def _org(org: Organization) -> dict:
    return {"id": f"O{org.pk}", "name": org.name, "orgEntity": _org_entity(org)}


def _org_entity(org: Organization) -> dict:
    return {
        "id": f"O{org.pk}",
        "name": org.slug,
        "entityType": "organization",
        "isTeam": True,
        "organization": {"id": f"O{org.pk}", "name": org.name},
        "_org": org,
    }


def _team_entity(team: Team) -> dict:
    return {"id": f"T{team.pk}", "name": team.name, "entityType": "team", "isTeam": True, "_team": team}


def _sequence(sequence: ArtifactSequence) -> dict:
    return {
        "__typename": "ArtifactSequence",
        "id": f"S{sequence.pk}",
        "name": sequence.name,
        "description": "",
        "createdAt": sequence.created_at,
        "project": _source_project(sequence.project),
        "defaultArtifactType": {"id": sequence.type, "name": sequence.type},
        "tags": {"edges": []},
        "digestAlgorithm": "MANIFEST_MD5",
        "_sequence": sequence,
    }


def _portfolio(collection: Collection) -> dict:
    return {
        "__typename": "ArtifactPortfolio",
        "id": f"C{collection.pk}",
        "name": collection.name,
        "description": collection.description,
        "createdAt": collection.created_at,
        "updatedAt": collection.updated_at,
        "project": _registry_project(collection.registry),
        "defaultArtifactType": {"id": collection.type, "name": collection.type},
        "tags": {"edges": [{"node": {"id": f"CT{t.pk}", "name": t.name}} for t in collection.tags.all()]},
        "_collection": collection,
    }


def _artifact(version: ArtifactVersion, link: Link | None = None) -> dict:
    """The Artifact shape of a version; its aliases are those of its sequence and its links. Reached
    through a registry `link`, its id names the link too: file access is decided by that path."""
    sequence = version.sequence
    seq = _sequence(sequence)
    return {
        "__typename": "Artifact",
        "id": f"{version.pk}@{link.pk}" if link else str(version.pk),
        "versionIndex": version.index,
        "description": version.description,
        "metadata": version.metadata,
        "ttlDurationSeconds": version.ttl_seconds or TTL_NONE,
        "ttlIsInherited": False,
        "historyStep": None,
        "state": {VersionState.COMMITTED: "COMMITTED", VersionState.DELETED: "DELETED"}.get(version.state, "PENDING"),
        "size": version.size,
        "digest": version.digest,
        "digestAlgorithm": "MANIFEST_MD5",
        "commitHash": None,
        "fileCount": version.file_count,
        "createdAt": version.created_at,
        "updatedAt": version.committed_at or version.created_at,
        "artifactType": {"id": sequence.type, "name": sequence.type},
        "tags": [{"__typename": "Tag", "id": f"VT{t.pk}", "name": t.name} for t in version.tags.all()],
        "artifactSequence": seq,
        # Read only when a document selects them (the default resolver calls it): a search page of
        # memberships takes aliases from each membership, and would pay two queries per row here.
        "aliases": lambda *_: _artifact_aliases(version, seq),
        "_version": version,
        "_link": link,
    }


def _artifact_aliases(version: ArtifactVersion, seq: dict) -> list[dict]:
    """`latest` of its own sequence, and the aliases it holds in every collection it is linked into."""
    aliases = []
    if version.state == VersionState.COMMITTED and version.index == version.sequence.next_index - 1:
        aliases.append({"id": f"V{version.pk}:latest", "alias": "latest", "artifactCollection": seq})
    for link in version.links.select_related("collection__registry__org").prefetch_related("aliases"):
        portfolio = _portfolio(link.collection)
        for alias in link.aliases.all():
            aliases.append({"id": f"A{alias.pk}", "alias": alias.alias, "artifactCollection": portfolio})
    return aliases


def _pending(pending: PendingArtifact) -> dict:
    sequence = ArtifactSequence.objects.filter(project=pending.project, name=pending.name).first()
    latest = (
        ArtifactVersion.objects.filter(sequence=sequence, state=VersionState.COMMITTED).order_by("-index").first()
        if sequence
        else None
    )
    return {
        "__typename": "Artifact",
        "id": f"p{pending.pk}",
        "state": "PENDING",
        "digest": pending.digest,
        "artifactSequence": {
            "__typename": "ArtifactSequence",
            "id": f"S{sequence.pk}" if sequence else f"p{pending.pk}",
            "name": pending.name,
            "latestArtifact": {"id": str(latest.pk)} if latest else None,
        },
    }


def _membership(version: ArtifactVersion, link: Link | None) -> dict:
    if link is None:
        sequence = version.sequence
        latest = version.index == sequence.next_index - 1
        seq = _sequence(sequence)
        return {
            "id": f"V{version.pk}",
            "versionIndex": version.index,
            "createdAt": version.created_at,
            "aliases": [{"id": f"V{version.pk}:latest", "alias": "latest", "artifactCollection": seq}]
            if latest
            else [],
            "artifactCollection": seq,
            "artifact": _artifact(version),
            "_version": version,
        }
    portfolio = _portfolio(link.collection)
    return {
        "id": f"L{link.pk}",
        "versionIndex": link.index,
        "createdAt": link.created_at,
        "aliases": [{"id": f"A{a.pk}", "alias": a.alias, "artifactCollection": portfolio} for a in link.aliases.all()],
        "artifactCollection": portfolio,
        "artifact": _artifact(version, link),
        "_version": version,
        "_link": link,
    }


def version_for_id(user, artifact_id) -> ArtifactVersion:
    """The committed version an artifact id names, if `user` can see it from its project or a registry."""
    return resolve_id(user, artifact_id)[0]


def resolve_id(user, artifact_id) -> tuple[ArtifactVersion, Link | None]:
    """(version, link) for an artifact id: `<version>`, `<version>@<link>` (reached through a registry) or
    `p<pending>` once committed; 404 unless `user` can see it."""
    text = str(artifact_id or "")
    head, _, link_id = text.partition("@")
    link = None
    if head.startswith("p") and head[1:].isdigit():
        pending = PendingArtifact.objects.filter(pk=int(head[1:]), created_by=user).first()
        version = pending.version if pending else None
    elif head.isdigit():
        version = ArtifactVersion.objects.filter(pk=int(head)).select_related("sequence__project__team").first()
    else:
        version = None
    if version is not None and link_id:
        link = (
            Link.objects.visible_to(user)
            .filter(pk=int(link_id) if link_id.isdigit() else 0, version=version)
            .select_related("collection__registry__org")
            .first()
        )
        if link is None:
            version = None
    if version is None or version.state != VersionState.COMMITTED or not _can_see(user, version):
        raise Http404(f"No artifact “{text[:40]}” that you can see.")
    return version, link


def _can_see(user, version: ArtifactVersion) -> bool:
    if ArtifactVersion.objects.visible_to(user).filter(pk=version.pk).exists():
        return True
    return Link.objects.visible_to(user).filter(version=version).exists()


def _pending_for_id(user, artifact_id) -> PendingArtifact:
    text = str(artifact_id or "")
    pending = None
    if text.startswith("p") and text[1:].isdigit():
        pending = PendingArtifact.objects.filter(pk=int(text[1:]), created_by=user).select_related("project").first()
    if pending is None:
        raise Http404(f"No artifact being logged with id “{text[:40]}”.")
    return pending


def _split_registry(name: str | None) -> bool:
    return bool(name) and name.lower().startswith(REGISTRY_PREFIX)


def _project(user, name: str | None, entity: str | None) -> dict | None:
    if not name:
        return None
    if _split_registry(name):
        registry = find_registry(user, entity or None, name[len(REGISTRY_PREFIX) :])
        return _registry_project(registry) if registry else None
    project = (
        Project.objects.visible_to(user).filter(team__name__iexact=entity or "", name=name).select_related("team__org")
    ).first()
    return _source_project(project) if project else None


def _version_path(project: dict, name: str) -> str:
    """The path find_version reads for `name` (`coll:alias`) inside a project shape."""
    if "_registry" in project:
        registry = project["_registry"]
        return f"{registry.org.slug}/{registry.full_name}/{name}"
    source = project["_project"]
    return f"{source.team.name}/{source.name}/{name}"


def _find(user, project: dict, name: str):
    if ":" not in name:
        name = f"{name}:latest"
    found = find_version(user, _version_path(project, name))
    return found


# --- Query ---


@query.field("viewer")
def resolve_viewer(_, info):
    user = _user(info)
    return _viewer(user)


def _viewer(user) -> dict:
    teams = Team.objects.visible_to(user).filter(memberships__user=user).distinct()
    return {
        "id": f"U{user.pk}",
        "name": user.get_full_name() or user.username,
        "username": user.username,
        "email": user.email,
        "entity": user.username,
        "admin": user.is_superuser,
        "flags": "{}",
        "apiKeys": {"edges": []},
        "teams": {"edges": [{"node": _team_entity(t)} for t in teams]},
        "organizations": [_org(o) for o in Organization.objects.visible_to(user)],
    }


@query.field("serverInfo")
def resolve_server_info(*_):
    # Only registry search (without it the SDK refuses `api.registries()`); with no other feature the
    # SDK uses its plainest, oldest-compatible requests.
    features = [{"name": "ARTIFACT_REGISTRY_SEARCH", "isEnabled": True}]
    return {"features": features, "latestLocalVersionInfo": None}


@query.field("entity")
def resolve_entity(_, info, name=None):
    user = _user(info)
    if not name:
        return None
    team = Team.objects.visible_to(user).filter(name__iexact=name).select_related("org").first()
    if team is not None:
        return {**_team_entity(team), "organization": _org(team.org), "user": None}
    if name.lower() == user.username.lower():
        return {
            "id": f"U{user.pk}",
            "name": user.username,
            "entityType": "user",
            "organization": None,
            "user": _viewer(user),
        }
    org = Organization.objects.visible_to(user).filter(slug=name).first()
    if org is not None:
        return {**_org_entity(org), "organization": _org(org), "user": None}
    return None


@query.field("organization")
def resolve_organization(_, info, name=None, id=None):
    orgs = Organization.objects.visible_to(_user(info))
    org = orgs.filter(name=name).first() or orgs.filter(slug=name).first() if name else None
    return _org(org) if org else None


@query.field("project")
@query.field("model")
def resolve_project(_, info, name=None, entityName=None):
    return _project(_user(info), name, entityName)


@query.field("artifact")
def resolve_artifact(_, info, id):
    user = _user(info)
    text = str(id)
    if text.startswith("p") and text[1:].isdigit():
        pending = PendingArtifact.objects.filter(pk=int(text[1:]), created_by=user).first()
        if pending is None:
            return None
        return _artifact(pending.version) if pending.version_id else _pending(pending)
    try:
        return _artifact(*resolve_id(user, id))
    except Http404:
        return None


@query.field("clientIDMapping")
def resolve_client_id_mapping(_, info, clientID):
    pending = PendingArtifact.objects.filter(client_id=clientID, created_by=_user(info)).first()
    if pending is None:
        return None
    return {"serverID": str(pending.version_id) if pending.version_id else f"p{pending.pk}"}


project_type = ObjectType("Project")


@project_type.field("run")
@project_type.field("bucket")
def resolve_project_run(project, info, name, missingOk=None):
    if "_project" not in project:
        return None
    run = Run.objects.filter(project=project["_project"], run_id=name).first()
    return _run(run) if run else None


def _run(run: Run) -> dict:
    return {
        "id": f"N{run.pk}",
        "name": run.run_id,
        "displayName": run.name,
        "state": run.state,
        "stopped": run.state != "running",
        "config": run.config,
        "summaryMetrics": run.summary,
        "tags": [],
        "historyLineCount": 0,
        "logLineCount": 0,
        "eventsLineCount": 0,
        "historyTail": "[]",
        "eventsTail": "[]",
        "createdAt": run.created_at,
        "project": _source_project(run.project),
    }


@project_type.field("artifact")
def resolve_project_artifact(project, info, name, enableTracking=None):
    found = _find(_user(info), project, name)
    return _artifact(found[0]) if found else None


@project_type.field("artifactCollectionMembership")
def resolve_project_membership(project, info, name):
    found = _find(_user(info), project, name)
    if not found:
        return None
    membership = _membership(*found)
    if found[1] is None and "_project" in project and project["_project"].name in collections.PROJECT_LINKERS:
        # A registered model's version (apps/legacy): its collection is the registered model, its index the model's.
        collection = {**membership["artifactCollection"], "name": name.split(":")[0], "project": project}
        index = getattr(found[0], "legacy_index", membership["versionIndex"])
        membership = {**membership, "artifactCollection": collection, "versionIndex": index, "aliases": []}
    return membership


@project_type.field("artifactCollection")
def resolve_project_collection(project, info, name):
    return _collection(_user(info), project, name)


def _collection(user, project: dict, name: str) -> dict | None:
    if "_registry" in project:
        registry = project["_registry"]
        collection = find_collection(user, f"{registry.org.slug}/{registry.full_name}/{name}")
        return _portfolio(collection) if collection else None
    sequence = ArtifactSequence.objects.filter(project=project["_project"], name=name).first()
    if sequence is None and project["_project"].name in collections.PROJECT_LINKERS:
        # `<team>/model-registry/<name>` (apps/legacy): a registered model, whose memberships find_version resolves.
        found = _find(user, project, f"{name}:latest")
        return {**_sequence(found[0].sequence), "name": name, "project": project} if found else None
    return _sequence(sequence) if sequence else None


@project_type.field("artifactType")
def resolve_project_artifact_type(project, info, name):
    return {"id": name, "name": name, "_project": project}


artifact_type = ObjectType("ArtifactType")


@artifact_type.field("artifactCollection")
def resolve_type_collection(type_, info, name):
    if "_project" not in type_:
        return None
    return _collection(_user(info), type_["_project"], name)


@artifact_type.field("artifact")
def resolve_type_artifact(type_, info, name):
    """Older SDKs (0.25) look an artifact up by `name:alias` under its type."""
    if "_project" not in type_:
        return None
    return resolve_project_artifact(type_["_project"], info, name)


collection_interface = InterfaceType("ArtifactCollection")


@collection_interface.type_resolver
def resolve_collection_type(obj, *_):
    return obj["__typename"]


def resolve_collection_membership(collection, info, aliasName):
    user = _user(info)
    project = collection["project"]
    return resolve_project_membership(project, info, f"{collection['name']}:{aliasName}") if user else None


sequence_type = ObjectType("ArtifactSequence")
portfolio_type = ObjectType("ArtifactPortfolio")
sequence_type.set_field("artifactMembership", resolve_collection_membership)
portfolio_type.set_field("artifactMembership", resolve_collection_membership)


@sequence_type.field("latestArtifact")
def resolve_latest(sequence, info):
    if "latestArtifact" in sequence:
        return sequence["latestArtifact"]
    latest = (
        ArtifactVersion.objects.filter(sequence=sequence["_sequence"], state=VersionState.COMMITTED)
        .order_by("-index")
        .first()
    )
    return _artifact(latest) if latest else None


artifact_type_obj = ObjectType("Artifact")
membership_type = ObjectType("ArtifactCollectionMembership")


@artifact_type_obj.field("currentManifest")
def resolve_current_manifest(artifact, info):
    version = artifact.get("_version")
    if version is None:
        return None
    services.require_download(_user(info), version, artifact.get("_link"))
    token = signing.TimestampSigner(salt=MANIFEST_SALT).sign_object({"v": version.pk})
    url = absolute(_request(info), reverse("wandb_api:manifest_download", args=[token]))
    return {
        "id": f"M{version.pk}",
        "type": "FULL",
        "file": {"id": f"M{version.pk}", "name": "wandb_manifest.json", "directUrl": url},
    }


def resolve_files(obj, info, names=None, after=None, first=None):
    """Every file of a version (or the `names` asked for) with a signed download URL."""
    version = obj.get("_version")
    if version is None:
        return {"edges": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}, "totalCount": 0}
    services.require_download(_user(info), version, obj.get("_link"))
    entries = version.entries.order_by("path")
    if names:
        entries = entries.filter(path__in=names)
    if after:
        entries = entries.filter(path__gt=after)
    size = max(1, min(int(first or FILES_PAGE_MAX), FILES_PAGE_MAX))
    rows = list(entries[: size + 1])
    md5s = dict(Blob.objects.filter(sha256__in={e.sha256 for e in rows}).values_list("sha256", "md5"))
    store, request = get_store(), _request(info)
    edges = []
    for entry in rows[:size]:
        url = absolute(request, store.download_url(entry.sha256, PurePosixPath(entry.path).name))
        md5 = services.md5_b64(md5s[entry.sha256]) if entry.sha256 in md5s else None
        node = {
            "id": f"F{entry.pk}",
            "name": entry.path,
            "displayName": entry.path,
            "url": url,
            "directUrl": url,
            "sizeBytes": entry.size,
            "storagePath": entry.sha256,
            "mimetype": None,
            "updatedAt": entry.created_at,
            "digest": md5,
            "md5": md5,
        }
        edges.append({"node": node, "cursor": entry.path})
    more = len(rows) > size
    return {
        "totalCount": version.file_count,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": False,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


artifact_type_obj.set_field("files", resolve_files)
membership_type.set_field("files", resolve_files)


# --- Registry search: the org entity's projects, artifactCollections and artifactMemberships ---
# The same searches as /api/v1's (visible registries, the W&B filter compiler, keyset cursors); the
# SDK pages with `first`/`after` and stops when pageInfo.hasNextPage is false.

entity_type = ObjectType("Entity")


@entity_type.field("project")
def resolve_entity_project(entity, info, name=None):
    return _project(_user(info), name, entity["name"])


def _page_size(first) -> int:
    """The SDK asks for 100 by default and follows hasNextPage, so a larger `first` is served in pages."""
    return max(1, min(first or MAX_PER_PAGE, MAX_PER_PAGE))


def _connection(nodes: list, next_cursor: str | None, **extra) -> dict:
    edges = [{"node": node, "cursor": None} for node in nodes]
    if edges:
        edges[-1]["cursor"] = next_cursor
    page_info = {"endCursor": next_cursor, "hasNextPage": next_cursor is not None, "hasPreviousPage": False}
    return {"edges": edges, "pageInfo": page_info, **extra}


@entity_type.field("projects")
def resolve_entity_projects(entity, info, filters=None, after=None, first=None, order=None):
    """`api.registries(filter=, order=)`: the registries of this org the caller sees."""
    if "_org" not in entity:
        return _connection([], None)
    registries = visible_registries(_user(info), entity["_org"].slug, filters).select_related("org")
    with time_limited_search(filters):
        rows, next_cursor = cursor_page(
            registries, order=check_order(order, "name"), cursor=after, per_page=_page_size(first)
        )
    return _connection([_registry_project(r) for r in rows], next_cursor)


@entity_type.field("artifactCollections")
def resolve_entity_collections(
    entity, info, projectFilters=None, filters=None, collectionTypes=None, after=None, first=None, order=None
):
    """`registries(...).collections(filter=)` and `registry.collections()`: registry collections only."""
    if "_org" not in entity or (collectionTypes is not None and "PORTFOLIO" not in collectionTypes):
        return _connection([], None, totalCount=0)
    collections = search_collections(_user(info), entity["_org"].slug, projectFilters, filters)
    with time_limited_search(projectFilters, filters):
        total = collections.count()
        rows, next_cursor = cursor_page(
            collections.select_related("registry__org").prefetch_related("tags"),
            order=check_order(order, "name"),
            cursor=after,
            per_page=_page_size(first),
        )
    return _connection([_portfolio(c) for c in rows], next_cursor, totalCount=total)


@entity_type.field("artifactMemberships")
def resolve_entity_memberships(
    entity, info, projectFilters=None, collectionFilters=None, filters=None, after=None, first=None, order=None
):
    """`….versions(filter=)`: registry versions, newest collection first and newest version first in each."""
    if order:
        # We advertise no advanced search, so the SDK itself refuses `order` before asking.
        raise ValidationError("Registry lists versions newest collection first; it does not sort them otherwise.")
    if "_org" not in entity:
        return _connection([], None)
    with time_limited_search(projectFilters, collectionFilters, filters):
        links = search_links(_user(info), entity["_org"].slug, projectFilters, collectionFilters, filters)
        links = links.select_related("collection__registry__org", "version__sequence__project__team")
        links = links.prefetch_related("aliases", "collection__tags", "version__tags")
        rows, next_cursor = version_page(links, cursor=after, per_page=_page_size(first))
    return _connection([_membership(link.version, link) for link in rows], next_cursor)


# --- Mutations ---


@mutation.field("upsertBucket")
def resolve_upsert_bucket(_, info, input):
    run, inserted = services.upsert_run(
        actor=_user(info),
        entity=input.get("entityName"),
        project_name=input.get("modelName"),
        run_id=input.get("name"),
        display_name=input.get("displayName"),
        config=services.parse_json(input.get("config"), "config"),
        summary=services.parse_json(input.get("summaryMetrics"), "summaryMetrics"),
        state=input.get("state"),
    )
    return {"bucket": _run(run), "inserted": inserted}


@mutation.field("createArtifact")
def resolve_create_artifact(_, info, input):
    result = services.create_artifact(
        actor=_user(info),
        entity=input["entityName"],
        project_name=input["projectName"],
        name=input.get("artifactCollectionName") or "",
        type=input["artifactTypeName"],
        digest=input["digest"],
        run_id=input.get("runName"),
        metadata=services.parse_json(input.get("metadata"), "metadata"),
        description=input.get("description") or "",
        client_id=input.get("clientID") or "",
    )
    if isinstance(result, PendingArtifact):
        return {"artifact": _pending(result)}
    return {"artifact": _artifact(result)}


def _manifest_payload(info, pending: PendingArtifact) -> dict:
    token = signing.TimestampSigner(salt=MANIFEST_UPLOAD_SALT).sign_object({"p": pending.pk})
    url = absolute(_request(info), reverse("wandb_api:manifest_upload", args=[token]))
    return {
        "artifactManifest": {
            "id": f"m{pending.pk}",
            "type": "FULL",
            "file": {
                "id": f"m{pending.pk}",
                "name": "wandb_manifest.json",
                "uploadUrl": url,
                "uploadHeaders": [],
                "directUrl": url,
            },
        }
    }


@mutation.field("createArtifactManifest")
def resolve_create_manifest(_, info, input):
    pending = _pending_for_id(_user(info), input["artifactID"])
    if pending.version_id is not None:
        raise ValidationError("This artifact is already committed.")
    return _manifest_payload(info, pending)


@mutation.field("updateArtifactManifest")
def resolve_update_manifest(_, info, input):
    text = str(input["artifactManifestID"])
    return resolve_create_manifest(None, info, {"artifactID": "p" + text[1:] if text.startswith("m") else text})


@mutation.field("createArtifactFiles")
def resolve_create_files(_, info, input):
    user = _user(info)
    specs = input["artifactFiles"]
    pendings: dict[str, PendingArtifact] = {}
    grouped: dict[str, list] = {}
    for spec in specs:
        key = str(spec["artifactID"])
        if key not in pendings:
            pendings[key] = _pending_for_id(user, key)
        grouped.setdefault(key, []).append((spec["name"], spec["md5"]))
    staged = {}
    for key, files in grouped.items():
        for item in services.declare_files(actor=user, pending=pendings[key], files=files):
            staged[(key, item.name)] = item
    store, request = get_store(), _request(info)
    edges = []
    for spec in specs:
        key = str(spec["artifactID"])
        item = staged[(key, spec["name"])]
        node = {
            "id": f"F{item.pk}",
            "name": item.name,
            "storagePath": item.staging_key or f"staged/{item.pk}",
            "uploadUrl": None,
            "uploadHeaders": [],
            "uploadMultipartUrls": None,
            "artifact": {"id": key},
        }
        if not item.sha256:
            node["uploadHeaders"] = [f"Content-MD5:{spec['md5']}"]
            if item.staging_key:
                node["uploadUrl"] = store.upload_target(item.staging_key, 0)["url"]
            else:
                token = signing.TimestampSigner(salt=FILE_UPLOAD_SALT).sign_object({"f": item.pk})
                node["uploadUrl"] = absolute(request, reverse("wandb_api:file_upload", args=[token]))
        edges.append({"node": node})
    return {"files": {"edges": edges, "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}}}


@mutation.field("commitArtifact")
def resolve_commit(_, info, input):
    user = _user(info)
    text = str(input["artifactID"])
    if text.split("@")[0].isdigit():  # a version matched by digest at create time is committed already
        return {"artifact": _artifact(version_for_id(user, text))}
    version = services.commit_artifact(actor=user, pending=_pending_for_id(user, text))
    return {"artifact": _artifact(version)}


@mutation.field("linkArtifact")
def resolve_link(_, info, input):
    user = _user(info)
    version = version_for_id(user, input.get("artifactID") or _client_id(user, input.get("clientID")))
    project = input["projectName"]
    aliases = [a["alias"] for a in input.get("aliases") or [] if a["alias"] != "latest"]
    if project in collections.PROJECT_LINKERS:  # `<team>/model-registry/<name>`: the legacy registry (apps/legacy)
        version, link, index = collections.PROJECT_LINKERS[project](
            actor=user,
            version=version,
            entity=input.get("entityName") or "",
            name=input["artifactPortfolioName"],
            aliases=aliases,
        )
        if link is not None:
            link = Link.objects.select_related("collection__registry__org", "version__sequence__project__team").get(
                pk=link.pk
            )
        return {"versionIndex": index, "artifactMembership": _membership(version, link)}
    if not _split_registry(project):
        raise ValidationError(f"Link into a registry: the target project must be “{REGISTRY_PREFIX}<registry>”.")
    registry = find_registry(user, input.get("entityName") or None, project[len(REGISTRY_PREFIX) :])
    if registry is None:
        raise Http404(f"No registry “{project[:140]}” in “{str(input.get('entityName'))[:64]}” that you can see.")
    link = collections.link_version(
        actor=user, version=version, registry=registry, collection_name=input["artifactPortfolioName"], aliases=aliases
    )
    link = Link.objects.select_related("collection__registry__org", "version__sequence__project__team").get(pk=link.pk)
    return {"versionIndex": link.index, "artifactMembership": _membership(link.version, link)}


def _client_id(user, client_id):
    pending = PendingArtifact.objects.filter(client_id=client_id or "", created_by=user).first() if client_id else None
    return f"p{pending.pk}" if pending else None


@mutation.field("unlinkArtifact")
def resolve_unlink(_, info, input):
    user = _user(info)
    version = version_for_id(user, input["artifactID"])
    text = str(input["artifactPortfolioID"])
    link = None
    if text.startswith("C") and text[1:].isdigit():
        link = Link.objects.visible_to(user).filter(collection_id=int(text[1:]), version=version).first()
    if link is None:
        raise Http404("That version is not linked into that collection.")
    collections.unlink_version(actor=user, link=link)
    return {"success": True}


@mutation.field("useArtifact")
def resolve_use(_, info, input):
    user = _user(info)
    project = services.find_project(user, input["entityName"], input["projectName"])
    run = services.find_run(user, project, input["runName"])
    if run is None:
        raise Http404(f"No run “{input['runName'][:64]}” in {project}.")
    version, link = resolve_id(user, input["artifactID"])
    collections.use_artifact(actor=user, run=run, version=version, link=link)
    return {"artifact": _artifact(version, link)}


def _alias_links(user, version: ArtifactVersion, targets: list[dict]) -> list[tuple[Link, str]]:
    """(link, alias) for each ArtifactCollectionAliasInput, in a registry collection holding the version."""
    found = []
    for target in targets:
        project = target["projectName"]
        if not _split_registry(project):
            raise ValidationError("Source artifacts carry only `latest`; set aliases on a registry version.")
        path = f"{target['entityName']}/{project}/{target['artifactCollectionName']}"
        collection = find_collection(user, path)
        link = collection.links.filter(version=version).first() if collection else None
        if link is None:
            raise Http404(f"This version is not in “{path[:200]}”.")
        link.collection = collection
        found.append((link, target["alias"]))
    return found


@mutation.field("addAliases")
def resolve_add_aliases(_, info, input):
    user = _user(info)
    version = version_for_id(user, input["artifactID"])
    for link, alias in _alias_links(user, version, input["aliases"]):
        collections.add_alias(actor=user, link=link, alias=alias)
    return {"success": True}


@mutation.field("deleteAliases")
def resolve_delete_aliases(_, info, input):
    user = _user(info)
    version = version_for_id(user, input["artifactID"])
    for link, alias in _alias_links(user, version, input["aliases"]):
        collections.remove_alias(actor=user, link=link, alias=alias)
    return {"success": True}


@mutation.field("updateArtifact")
def resolve_update_artifact(_, info, input):
    """Description, tags and metadata go through a registry link the caller may write (metadata also
    through the source project, for its team); other edits are refused."""
    user = _user(info)
    version = version_for_id(user, input["artifactID"])
    metadata = services.parse_json(input.get("metadata"), "metadata")
    if metadata is not None and metadata != version.metadata:
        # `artifact.metadata[...] = …; artifact.save()`: a registry Member edits through a link, the team at the source.
        link = _writable_link_or_none(user, version)
        if link is not None:
            collections.update_version_metadata(actor=user, link=link, metadata=metadata)
        else:
            update_source_metadata(actor=user, version=version, metadata=metadata)
    # `artifact.ttl = timedelta(…); artifact.save()`: -1 is "inherit" (no change here), -2 "none". Only the
    # version's team may change it, so an unchanged value sent along with other edits is no change.
    ttl = input.get("ttlDurationSeconds")
    if ttl not in (None, -1):
        wanted = None if ttl == TTL_NONE else ttl
        if wanted != version.ttl_seconds:
            set_version_ttl(actor=user, version=version, ttl_seconds=wanted)
    description = input.get("description")
    adds = [t["tagName"] for t in input.get("tagsToAdd") or []]
    removes = [t["tagName"] for t in input.get("tagsToDelete") or []]
    if (description is not None and description != version.description) or adds or removes:
        link = _writable_link(user, version)
        if description is not None and description != version.description:
            collections.update_version_description(actor=user, link=link, description=description)
        for tag in adds:
            collections.add_version_tag(actor=user, link=link, tag=tag)
        for tag in removes:
            collections.remove_version_tag(actor=user, link=link, tag=tag)
    version.refresh_from_db()
    return {"artifact": _artifact(version)}


def _writable_link_or_none(user, version: ArtifactVersion) -> Link | None:
    for link in Link.objects.visible_to(user).filter(version=version).select_related("collection__registry__org"):
        if has_perm(user, "registries.write_registry", link.collection.registry):
            return link
    return None


def _writable_link(user, version: ArtifactVersion) -> Link:
    link = _writable_link_or_none(user, version)
    if link is None:
        raise ValidationError("Edit a version's description and tags through a registry collection you may write to.")
    return link


@mutation.field("deleteArtifact")
def resolve_delete_artifact(_, info, input):
    """`artifact.delete()`: an id reached through a registry unlinks that link; a source id deletes the version
    (its team; unlinked everywhere, restorable for the retention period; refused while a protected alias holds it)."""
    user = _user(info)
    version, link = resolve_id(user, input["artifactID"])
    if link is not None:
        collections.unlink_version(actor=user, link=link)
    else:
        collections.delete_source_version(actor=user, version=version)
        version.refresh_from_db()
    return {"artifact": _artifact(version)}


@mutation.field("createRunFiles")
def resolve_create_run_files(*_args, **_kwargs):
    raise ValidationError("Registry does not store run files (code, logs, media); artifacts are stored.")


artifact_state = EnumType("ArtifactState", {"PENDING": "PENDING", "COMMITTED": "COMMITTED", "DELETED": "DELETED"})

type_defs = load_schema_from_path(str(Path(__file__).with_name("schema.graphql")))
schema = make_executable_schema(
    type_defs,
    query,
    mutation,
    entity_type,
    json_string,
    date_time,
    project_type,
    artifact_type,
    collection_interface,
    sequence_type,
    portfolio_type,
    artifact_type_obj,
    membership_type,
    artifact_state,
)
