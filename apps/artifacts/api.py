"""API: runs, logging artifact versions (upload protocol), and blob transfer.

Upload: POST /artifacts with the manifest creates a pending version and answers only the
blobs the store lacks, each with a signed expiring upload URL; the client PUTs them; POST
/artifacts/{id}/commit checks every blob and assigns vN. Re-running an interrupted upload
sends only what is still missing, and identical bytes are stored once.
"""

import datetime
import re
from pathlib import PurePosixPath
from typing import Annotated, Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from ninja import Field, Router, Schema, Status
from ninja import Path as PathParam
from pydantic import BaseModel

from apps.artifacts.models import ArtifactVersion, Blob, ManifestEntry, Project, Run, VersionState
from apps.artifacts.services import (
    commit_version,
    create_project,
    create_run,
    find_project,
    missing_blobs,
    require_project_writer,
    restore_version,
)
from apps.artifacts.storage import CHUNK, get_store, unsign_download, unsign_upload
from apps.orgs.models import Team
from lib.pagination import cursor_page
from lib.schemas import Id, Payload, Size

PathId = Annotated[Id, PathParam()]

router = Router(tags=["artifacts"])


# --- Schemas ---


class FileIn(Payload):
    path: str
    sha256: str
    size: Size


# Answers built as dicts use pydantic's BaseModel: ninja's Schema wraps every object in an attribute
# resolver for model instances, which cost a third of a 100-version page.
class FileOut(BaseModel):
    path: str
    size: int
    sha256: str
    md5: str | None
    url: str | None = Field(description="Signed GET URL, valid 1 h; null when you may not download.")


class VersionOut(BaseModel):
    id: int
    name: str
    type: str
    version: str | None = Field(description="vN (null while pending)")
    aliases: list[str]
    tags: list[str]
    metadata: dict[str, Any]
    description: str
    size: int
    digest: str
    created_at: datetime.datetime
    state: str
    path: str | None
    source_path: str | None
    link_id: int | None
    collection: str | None
    # Source versions only: W&B's `ttl` (linked versions never expire).
    ttl_seconds: int | None = None
    expires_at: datetime.datetime | None = None


class ResolvedOut(VersionOut):
    files: list[FileOut]


class UploadTarget(Schema):
    path: str
    sha256: str
    size: int
    url: str
    method: str
    headers: dict[str, str]


class CreatedVersionOut(Schema):
    version: VersionOut
    uploads: list[UploadTarget]
    linked: VersionOut | None = Field(None, description="With `target_path`: the version as linked there.")


class ArtifactIn(Payload):
    project: str
    name: str
    type: str
    files: list[FileIn] = Field(max_length=1_000_000)
    metadata: dict[str, Any] | None = None
    description: str | None = Field(None, max_length=100_000)
    run_id: str | None = None
    commit: bool = Field(
        False,
        description="Commit in the same call: every file's bytes must be stored already (409 lists the missing "
        "ones and nothing is written).",
    )
    target_path: str | None = Field(
        None, description="With `commit`: also link into “[<org>/]wandb-registry-<registry>/<collection>”."
    )
    aliases: list[str] | None = Field(None, max_length=100, description="With `target_path`: aliases of the link.")


class RunIn(Payload):
    project: str
    run_id: str | None = None
    name: str | None = Field(None, max_length=128)
    config: dict[str, Any] | None = None


class RunOut(Schema):
    id: int
    run_id: str
    project: str
    name: str


class PathIn(Payload):
    path: str


# --- Shared with the collections API ---


def version_out(
    version: ArtifactVersion, link=None, *, tags: list[str] | None = None, aliases: list[str] | None = None
) -> dict:
    """A Version object (contract): the source version, or as linked into a collection.

    Expects `version.sequence.project.team` loaded, and for a link `collection.registry.org`.
    Tags and the link's aliases are read (prefetch them for lists) unless given: a service that just
    wrote them knows them.
    """
    sequence = version.sequence
    project = sequence.project
    source_path = f"{project.team.name}/{project.name}/{sequence.name}"
    committed = version.state == VersionState.COMMITTED
    data = {
        "id": version.pk,
        "type": sequence.type,
        "tags": sorted(tag.name for tag in version.tags.all()) if tags is None else sorted(tags),
        "metadata": version.metadata,
        "description": version.description,
        "size": version.size,
        "digest": version.digest,
        "state": version.state,
        "source_path": f"{source_path}:{version.version_label}" if committed else None,
    }
    if link is None:
        latest = committed and version.index == sequence.next_index - 1
        label = version.version_label if committed else None
        return {
            **data,
            "name": sequence.name,
            "version": label,
            "aliases": ["latest"] if latest else [],
            "created_at": version.created_at,
            "path": f"{source_path}:{label}" if label else None,
            "link_id": None,
            "collection": None,
            "ttl_seconds": version.ttl_seconds,
            "expires_at": version.expires_at,
        }
    collection = link.collection
    registry = collection.registry
    collection_path = f"{registry.org.slug}/{registry.full_name}/{collection.name}"
    return {
        **data,
        "name": collection.name,
        "version": link.version_label,
        "aliases": sorted(alias.alias for alias in link.aliases.all()) if aliases is None else sorted(aliases),
        "created_at": link.created_at,
        "path": f"{collection_path}:{link.version_label}",
        "link_id": link.pk,
        "collection": collection_path,
    }


def absolute(request: HttpRequest, url: str) -> str:
    """Our own signed URLs are paths; S3's presigned URLs are already absolute."""
    return request.build_absolute_uri(url) if url.startswith("/") else url


def files_out(request: HttpRequest, version: ArtifactVersion, downloadable: bool, files=None) -> list[dict]:
    """Every file of a version with its MD5 and (when allowed) a signed download URL.

    `files`: (path, sha256, size, md5) rows by path, when already read; else two queries.
    """
    if files is None:
        entries = list(version.entries.order_by("path").values_list("path", "sha256", "size"))
        md5s = dict(Blob.objects.filter(sha256__in={e[1] for e in entries}).values_list("sha256", "md5"))
        files = [(path, sha256, size, md5s.get(sha256)) for path, sha256, size in entries]
    store = get_store()
    return [
        {
            "path": path,
            "size": size,
            "sha256": sha256,
            "md5": md5,
            "url": absolute(request, store.download_url(sha256, PurePosixPath(path).name)) if downloadable else None,
        }
        for path, sha256, size, md5 in files
    ]


def project_at(user, path: str, *, create: bool, missing_ok: bool = False) -> Project | None:
    """`<team>/<project>`; the project is created on first use, as W&B does. One query when it exists
    (find_project also answers whether `user` may write to it). With `missing_ok`, None if absent."""
    team_name, slash, name = (path or "").partition("/")
    if not slash or not team_name or not name or "/" in name:
        raise ValidationError({"project": "Give the project as “<team>/<project>”."})
    project = find_project(user, team_name, name)
    if project is not None or missing_ok:
        return project
    team = Team.objects.visible_to(user).filter(name=team_name).first()
    if team is None or not create:
        raise Http404(f"No project “{path[:200]}” that you can see.")
    return create_project(actor=user, team=team, name=name)


# --- Source projects ---


class ProjectOut(BaseModel):
    team: str
    name: str
    path: str
    description: str
    created_at: datetime.datetime


class ProjectPage(BaseModel):
    items: list[ProjectOut]
    next_cursor: str | None


class SourceVersionPage(BaseModel):
    items: list[VersionOut]
    next_cursor: str | None


@router.get("/projects", response=ProjectPage)
def project_list(request: HttpRequest, team: str | None = None, cursor: str | None = None, per_page: int = 50) -> dict:
    """Projects of the caller's teams (every project of orgs they administer), by name."""
    projects = Project.objects.visible_to(request.user).select_related("team")
    if team:
        projects = projects.filter(team__name=team)
    rows, next_cursor = cursor_page(projects, order="name", cursor=cursor, per_page=per_page)
    items = [
        {
            "team": p.team.name,
            "name": p.name,
            "path": f"{p.team.name}/{p.name}",
            "description": p.description,
            "created_at": p.created_at,
        }
        for p in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/projects/{team}/{project}/versions", response=SourceVersionPage)
def project_versions(
    request: HttpRequest,
    team: str,
    project: str,
    name: str | None = None,
    cursor: str | None = None,
    per_page: int = 50,
) -> dict:
    """Committed source versions logged to a project (`name=` narrows to one artifact), newest first."""
    found = project_at(request.user, f"{team}/{project}", create=False)
    versions = ArtifactVersion.objects.filter(sequence__project=found, state=VersionState.COMMITTED)
    if name:
        versions = versions.filter(sequence__name=name)
    versions = versions.select_related("sequence__project__team").prefetch_related("tags")
    rows, next_cursor = cursor_page(versions, order="-pk", cursor=cursor, per_page=per_page)
    return {"items": [version_out(v) for v in rows], "next_cursor": next_cursor}


# --- Runs ---


@router.post("/runs", response={201: RunOut})
def run_create(request: HttpRequest, payload: RunIn):
    with transaction.atomic():
        project = project_at(request.user, payload.project, create=True)
        run = create_run(
            actor=request.user,
            project=project,
            run_id=payload.run_id or "",
            name=payload.name or "",
            config=payload.config,
        )
    return Status(201, {"id": run.pk, "run_id": run.run_id, "project": str(project), "name": run.name})


# --- Logging versions ---


def run_in(project: Project, run_id: str | None) -> Run | None:
    """The run `run_id` of a project (None without an id); 404 if there is none."""
    if not run_id:
        return None
    run = project.runs.filter(run_id=run_id).first()
    if run is None:
        raise Http404(f"No run “{run_id[:64]}” in {project}.")
    return run


def upload_targets(request: HttpRequest, version: ArtifactVersion) -> list[dict]:
    """Where to PUT the blobs the store lacks (one per distinct SHA-256), each a signed expiring URL."""
    missing = {entry.sha256: entry for entry in missing_blobs(version)}
    store = get_store()
    uploads = []
    for sha256, entry in missing.items():
        target = store.upload_target(sha256, entry.size)
        uploads.append({"path": entry.path, "sha256": sha256, "size": entry.size, **target})
        uploads[-1]["url"] = absolute(request, target["url"])
    return uploads


def _missing_entries(version: ArtifactVersion) -> list[ManifestEntry]:
    """Entries whose blob is not registered: one query (registered blobs are in the store)."""
    entries = list(version.entries.all())
    present = set(Blob.objects.filter(sha256__in={e.sha256 for e in entries}).values_list("sha256", flat=True))
    return [e for e in entries if e.sha256 not in present]


def _register(sha256: str, md5: str, size: int) -> Blob:
    """Record verified bytes. Not audited, like upload_blob: the commit that uses them is."""
    blob, _ = Blob.objects.get_or_create(sha256=sha256, defaults={"md5": md5, "size": size})
    return blob


@router.post("/artifacts/{version_id}/commit", response=VersionOut)
def artifact_commit(request: HttpRequest, version_id: PathId):
    """Check every blob is stored with the right size and digest, then assign vN."""
    version = get_object_or_404(
        ArtifactVersion.objects.visible_to(request.user).select_related("sequence__project__team"), pk=version_id
    )
    if version.state == VersionState.PENDING:
        require_project_writer(request.user, version.sequence.project)  # before touching the store
        # Direct-to-S3 uploads are verified (size, SHA-256) and registered here.
        store = get_store()
        for entry in {e.sha256: e for e in _missing_entries(version)}.values():
            md5 = store.finalize_upload(entry.sha256, entry.size)
            if md5 is not None:
                _register(entry.sha256, md5, entry.size)
    commit_version(actor=request.user, version=version)
    return version_out(ArtifactVersion.objects.select_related("sequence__project__team").get(pk=version.pk))


@router.post("/artifacts/{version_id}/restore", response=VersionOut)
def artifact_restore(request: HttpRequest, version_id: PathId):
    """Bring back a deleted source version within the retention period (its team)."""
    version = get_object_or_404(
        ArtifactVersion.objects.deleted_visible_to(request.user).select_related("sequence__project__team"),
        pk=version_id,
    )
    restore_version(actor=request.user, version=version)
    return version_out(ArtifactVersion.objects.select_related("sequence__project__team").get(pk=version.pk))


# --- Blob transfer for the filesystem store (S3 clients use presigned URLs instead) ---


def _token_error(exc: signing.BadSignature) -> PermissionDenied:
    if isinstance(exc, signing.SignatureExpired):
        return PermissionDenied("This link has expired; ask the API for a new one.")
    return PermissionDenied("This link is not valid.")


@router.put("/blobs/upload/{token}", auth=None, url_name="blob_upload", response={204: None})
def blob_upload(request: HttpRequest, token: str):
    """Stream the request body into the store, verifying size and SHA-256 against the token."""
    try:
        sha256, size = unsign_upload(token)
    except signing.BadSignature as exc:
        raise _token_error(exc) from None
    try:
        length = int(request.headers.get("content-length") or -1)
    except ValueError:
        length = -1
    if length != size:
        raise ValidationError(f"Send exactly {size} bytes with a Content-Length header.")
    store = get_store()
    if not (Blob.objects.filter(sha256=sha256).exists() and store.exists(sha256)):
        # `request` reads the WSGI input in chunks: the body is never held in memory whole.
        digest, md5, received = store.put(request, expected_sha256=sha256, size=size)
        _register(digest, md5, received)
    return Status(204, None)


RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


class BlobResponse(FileResponse):
    """FileResponse reading 1 MiB at a time (the default 4 KiB caps throughput on big files)."""

    block_size = CHUNK


def _ranged(handle, start: int, length: int):
    with handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk


@router.api_operation(["GET", "HEAD"], "/blobs/download/{token}", auth=None, url_name="blob_download")
def blob_download(request: HttpRequest, token: str):
    """Stream a blob; honours a single `Range: bytes=a-b` (206), so clients can resume."""
    try:
        sha256, filename = unsign_download(token)
    except signing.BadSignature as exc:
        raise _token_error(exc) from None
    blob = Blob.objects.filter(sha256=sha256).first()
    if blob is None:
        raise Http404("This file's contents are not in the store.")
    try:
        handle = get_store().open(sha256)
    except FileNotFoundError:
        raise Http404("This file's contents are not in the store.") from None
    match = RANGE_RE.fullmatch(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last), blob.size - 1) if last else blob.size - 1
        else:  # suffix range: the last N bytes
            start, end = max(blob.size - int(last), 0), blob.size - 1
        if start >= blob.size or start > end:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{blob.size}"
            return response
        response = StreamingHttpResponse(_ranged(handle, start, end - start + 1), status=206)
        response["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        response["Content-Length"] = str(end - start + 1)
        response["Content-Type"] = "application/octet-stream"
        response["Content-Disposition"] = content_disposition_header(True, filename)
    else:
        response = BlobResponse(handle, as_attachment=True, filename=filename)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{sha256}"'
    response["Cache-Control"] = "private, max-age=3600, immutable"
    return response
