"""Source-artifact pages (`/<team>/<project>/artifacts/…`) and file serving shared with registry pages."""

import json
import os
import re
import tempfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from PIL import Image

from apps.artifacts.forms import TtlForm
from apps.artifacts.models import ArtifactVersion, ManifestEntry, Project, VersionState, render_markdown
from apps.artifacts.services import (
    can_write_project,
    deletion_retention,
    require_project_writer,
    restore_version,
    set_version_ttl,
    ttl_text,
)
from apps.artifacts.storage import get_store
from lib.forms import add_service_error
from lib.pagination import keyset_page

PAGE_SIZE = 50
FILES_PAGE_SIZE = 500
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
THUMB_SIZE = 256
THUMB_MAX_BYTES = 50 * 1024 * 1024  # larger images get no preview: decoding them would stall a worker
THUMB_MAX_PIXELS = 64_000_000


# --- Files: used by these pages and by the registry version page ---


def is_image(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in IMAGE_SUFFIXES


def file_rows(entries: list[ManifestEntry]) -> list[dict]:
    """Sorted manifest entries as a tree: a row per directory (once) and per file, with depth."""
    rows, previous = [], []
    for entry in entries:
        *dirs, filename = entry.path.split("/")
        shared = 0
        while shared < min(len(dirs), len(previous)) and dirs[shared] == previous[shared]:
            shared += 1
        for depth in range(shared, len(dirs)):
            rows.append({"kind": "dir", "name": dirs[depth], "depth": depth})
        rows.append({"kind": "file", "name": filename, "depth": len(dirs), "entry": entry, "image": is_image(filename)})
        previous = dirs
    return rows


def entries_page(version: ArtifactVersion, after: str | None) -> tuple[list[ManifestEntry], str | None]:
    """One keyset page of a version's files by path (versions can hold 100,000s of files)."""
    page = keyset_page(version.entries.all(), order=("path",), size=FILES_PAGE_SIZE, after=(after,) if after else None)
    return page.rows, page.next[0] if page.next else None


def file_response(entry: ManifestEntry) -> FileResponse:
    """Stream a file's bytes from the blob store as an attachment named like the file."""
    try:
        handle = get_store().open(entry.sha256)
    except FileNotFoundError:
        raise Http404("This file's contents are not in the store.") from None
    return FileResponse(handle, as_attachment=True, filename=PurePosixPath(entry.path).name)


def thumbnail_response(entry: ManifestEntry) -> FileResponse:
    """A PNG preview of an image file, made once per blob and cached under VAR_DIR/thumbs."""
    if not is_image(entry.path) or entry.size > THUMB_MAX_BYTES:
        raise Http404("No preview for this file.")
    # Blobs are content-addressed, so sha256 + size names the thumbnail for good.
    path = Path(settings.VAR_DIR) / "thumbs" / entry.sha256[:2] / f"{entry.sha256}-{THUMB_SIZE}.png"
    if not path.exists():
        try:
            _make_thumbnail(entry.sha256, path)
        except (OSError, ValueError, Image.DecompressionBombError):
            raise Http404("This image cannot be previewed.") from None
    response = FileResponse(path.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=604800, immutable"
    return response


def _make_thumbnail(sha256: str, path: Path) -> None:
    with get_store().open(sha256) as handle, Image.open(handle) as image:
        if image.width * image.height > THUMB_MAX_PIXELS:
            raise ValueError("image too large to preview")
        image.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))  # JPEG: decode at a reduced scale
        image.thumbnail((THUMB_SIZE, THUMB_SIZE))
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".thumb-", suffix=".png")
        try:
            with os.fdopen(fd, "wb") as out:
                image.save(out, "PNG")
            os.replace(tmp, path)  # atomic: concurrent requests never serve half a thumbnail
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


# --- Pages ---


def _project_or_404(request: HttpRequest, team: str, project: str) -> Project:
    return get_object_or_404(
        Project.objects.visible_to(request.user).select_related("team__org"), team__name=team, name=project
    )


def _version_or_404(request: HttpRequest, team: str, project: str, name: str, version: str) -> ArtifactVersion:
    match = re.fullmatch(r"v(\d+)", version)
    if match is None:
        raise Http404("Versions are named v0, v1, …")
    return get_object_or_404(
        ArtifactVersion.objects.visible_to(request.user).select_related(
            "sequence__project__team__org", "created_by__service_account", "run"
        ),
        sequence__project__team__name=team,
        sequence__project__name=project,
        sequence__name=name,
        index=int(match[1]),
    )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@require_GET
def artifact_list(request: HttpRequest, team: str, project: str) -> HttpResponse:
    """A project's artifacts (one row per name), keyset-paginated by name; `?run=` shows a run's I/O."""
    project = _project_or_404(request, team, project)
    sequences = project.sequences.order_by("name")
    if after := request.GET.get("after"):
        sequences = sequences.filter(name__gt=after)
    rows = list(sequences[: PAGE_SIZE + 1])
    run = None
    if run_id := request.GET.get("run"):
        run = get_object_or_404(project.runs.select_related("created_by__service_account"), run_id=run_id)
    context = {
        "project": project,
        "team": project.team,
        "sequences": rows[:PAGE_SIZE],
        "next_after": rows[PAGE_SIZE - 1].name if len(rows) > PAGE_SIZE else None,
        "run": run,
        "run_usages": run.usages.select_related("version__sequence").order_by("kind", "pk")[:200] if run else [],
    }
    return render(request, "artifacts/artifact_list.html", context)


@require_GET
def sequence_detail(request: HttpRequest, team: str, project: str, name: str) -> HttpResponse:
    """Every committed version of one artifact, newest first, keyset-paginated by index."""
    project = _project_or_404(request, team, project)
    sequence = get_object_or_404(project.sequences, name=name)
    versions = sequence.versions.committed().select_related("created_by__service_account").prefetch_related("tags")
    before = _int(request.GET.get("before"))
    page = keyset_page(versions, order=("-index",), size=PAGE_SIZE, after=None if before is None else (before,))
    # The project was found through visible_to: only the org-viewer check is left (one query).
    can_write = can_write_project(request.user, project, visible=True)
    context = {
        "project": project,
        "team": project.team,
        "sequence": sequence,
        "versions": page.rows,
        "next_before": page.next[0] if page.next else None,
        "can_write": can_write,
        # Deleted versions its team may still restore (their files are kept for the retention period).
        "deleted": _restorable(sequence) if can_write else [],
    }
    return render(request, "artifacts/sequence_detail.html", context)


def _restorable(sequence) -> list[dict]:
    retention = deletion_retention()
    versions = sequence.versions.filter(state=VersionState.DELETED, purged_at__isnull=True).order_by("-deleted_at")
    return [{"version": version, "until": version.deleted_at + retention} for version in versions[:50]]


@require_POST
def version_restore(request: HttpRequest, team: str, project: str, name: str, version: str) -> HttpResponse:
    """Bring back a deleted version within the retention period (its team)."""
    match = re.fullmatch(r"v(\d+)", version)
    found = get_object_or_404(
        ArtifactVersion.objects.deleted_visible_to(request.user).select_related("sequence__project__team"),
        sequence__project__team__name=team,
        sequence__project__name=project,
        sequence__name=name,
        index=int(match[1]) if match else -1,
    )
    restore_version(actor=request.user, version=found)
    messages.success(request, f"Restored {found}.")
    return redirect(found.get_absolute_url())


@require_GET
def version_detail(request: HttpRequest, team: str, project: str, name: str, version: str) -> HttpResponse:
    """A source version: description, metadata, files, and the registry links the user can see."""
    version = _version_or_404(request, team, project, name, version)
    entries, next_after = entries_page(version, request.GET.get("after"))
    context = {
        "version": version,
        "sequence": version.sequence,
        "project": version.sequence.project,
        "team": version.sequence.project.team,
        "description_html": render_markdown(version.description),
        "metadata_json": json.dumps(version.metadata, indent=2, sort_keys=True, ensure_ascii=False)
        if version.metadata
        else "",
        "tags": list(version.tags.all()),
        "rows": file_rows(entries),
        "next_after": next_after,
        # Reverse relation, so this app needs no import of collections: links in registries the user sees.
        "linked_to": list(
            version.links.visible_to(request.user).select_related("collection__registry__org").order_by("pk")[:100]
        ),
        "path": f"{team}/{project}/{name}:{version.version_label}",
        **_lifecycle(request, version),
    }
    return render(request, "artifacts/version_detail.html", context)


def _lifecycle(request: HttpRequest, version: ArtifactVersion, form: TtlForm | None = None) -> dict:
    """The time-to-live card: what is set, and the form for the version's team."""
    days = version.ttl_seconds // 86400 if version.ttl_seconds and version.ttl_seconds % 86400 == 0 else None
    return {
        # The version was found through visible_to: only the org-viewer check is left (one query).
        "can_write": can_write_project(request.user, version.sequence.project, visible=True),
        "ttl_text": ttl_text(version.ttl_seconds),
        "ttl_form": form or TtlForm(initial={"ttl_days": days}),
        "retention_days": f"{settings.ARTIFACT_DELETE_RETENTION_DAYS:g}",
    }


@require_POST
@vary_on_headers("HX-Request")
def version_ttl(request: HttpRequest, team: str, project: str, name: str, version: str) -> HttpResponse:
    """Set or clear a source version's time-to-live (its team), in place."""
    version = _version_or_404(request, team, project, name, version)
    require_project_writer(request.user, version.sequence.project)  # fail fast
    form = TtlForm(request.POST)
    if form.is_valid():
        try:
            set_version_ttl(actor=request.user, version=version, ttl_seconds=form.ttl_seconds())
        except ValidationError as error:
            add_service_error(form, error)
        else:
            if not request.htmx:
                return redirect(version.get_absolute_url())
            form = None
    context = {"version": version, "sequence": version.sequence, "project": version.sequence.project}
    context |= {"team": version.sequence.project.team, **_lifecycle(request, version, form)}
    return render(request, "artifacts/version_detail.html#lifecycle", context)


@require_GET
def version_file(request: HttpRequest, team: str, project: str, name: str, version: str, entry_id: int):
    """Download one file of a source version (project members may read every file)."""
    version = _version_or_404(request, team, project, name, version)
    return file_response(get_object_or_404(version.entries, pk=entry_id))


@require_GET
def version_thumbnail(request: HttpRequest, team: str, project: str, name: str, version: str, entry_id: int):
    version = _version_or_404(request, team, project, name, version)
    return thumbnail_response(get_object_or_404(version.entries, pk=entry_id))
