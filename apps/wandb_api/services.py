"""The wandb SDK's writes, translated into our services: runs, logging artifacts, links, aliases, lineage.

Every rule (permissions, naming, linking, aliases, the audit event) stays in the services called here;
this module only bridges the SDK's protocol (files named by MD5, the manifest uploaded last) to them.
"""

import base64
import binascii
import json
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from apps.artifacts import services as artifacts
from apps.artifacts.models import (
    ArtifactVersion,
    Blob,
    ManifestEntry,
    Project,
    Run,
    RunState,
    VersionState,
    validate_artifact_name,
    validate_artifact_type,
    validate_manifest_path,
    validate_metadata,
)
from apps.artifacts.storage import S3Store, get_store
from apps.collections import services as collections
from apps.orgs.models import Team
from apps.wandb_api.models import PendingArtifact, StagedFile

MANIFEST_MAX_BYTES = 64 * 1024 * 1024
MANIFEST_MAX_FILES = 100_000
# W&B run states as the SDK reports them, to ours.
RUN_STATES = {"running": RunState.RUNNING, "finished": RunState.FINISHED, "failed": RunState.FAILED}


def md5_hex(b64: str, field: str = "md5") -> str:
    """The SDK's base64 MD5 as hex; ValidationError unless it is 16 bytes."""
    try:
        raw = base64.b64decode(b64 or "", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise ValidationError({field: f"“{str(b64)[:40]}” is not a base64 MD5 digest."})
    return raw.hex()


def md5_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def parse_json(value, field: str) -> dict | None:
    """A JSONString argument as a dict (None when absent)."""
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        raise ValidationError({field: f"{field} is not valid JSON."}) from None
    if not isinstance(parsed, dict):
        raise ValidationError({field: f"{field} must be a JSON object."})
    return parsed


def find_project(user, entity: str | None, name: str | None, *, create: bool = False) -> Project:
    """A team's project the user sees (created on first use, as W&B does); 404 otherwise."""
    if not entity or not name:
        raise ValidationError({"project": "Name the entity (team) and the project."})
    project = Project.objects.visible_to(user).filter(team__name__iexact=entity, name=name).select_related("team__org")
    found = project.first()
    if found is not None:
        return found
    team = Team.objects.visible_to(user).filter(name__iexact=entity).first()
    if team is None:
        raise Http404(f"No team “{entity[:64]}” that you belong to: log to a team entity of your organization.")
    if not create:
        raise Http404(f"No project “{entity[:64]}/{name[:128]}”.")
    return artifacts.create_project(actor=user, team=team, name=name)


def find_run(user, project: Project, run_id: str | None) -> Run | None:
    if not run_id:
        return None
    return Run.objects.filter(project=project, run_id=run_id).first()


@transaction.atomic
def upsert_run(
    *,
    actor,
    entity: str,
    project_name: str,
    run_id: str | None,
    display_name: str | None = None,
    config: dict | None = None,
    summary: dict | None = None,
    state: str | None = None,
) -> tuple[Run, bool]:
    """Create or update the run (entity, project, run id): `wandb.init()` and its later updates."""
    project = find_project(actor, entity, project_name, create=True)
    config = _unwrap_config(config)
    run = Run.objects.select_for_update().filter(project=project, run_id=run_id).first() if run_id else None
    inserted = run is None
    if inserted:
        run = artifacts.create_run(actor=actor, project=project, run_id=run_id or "", name=display_name or "")
    artifacts.update_run(
        actor=actor,
        run=run,
        config=config,
        summary=summary,
        state=RUN_STATES.get((state or "").lower()),
    )
    return run, inserted


def _unwrap_config(config: dict | None) -> dict | None:
    """The SDK sends config as `{key: {"value": v, "desc": …}}`; keep the values, drop its `_wandb` bookkeeping."""
    if config is None:
        return None
    plain = {}
    for key, item in config.items():
        if key == "_wandb":
            continue
        plain[key] = item.get("value") if isinstance(item, dict) and "value" in item else item
    return plain


def record_file_stream(*, actor, entity: str, project_name: str, run_id: str, body: dict) -> Run | None:
    """`file_stream`: the run's summary (last line of wandb-summary.json) and its end (`complete`)."""
    try:
        project = find_project(actor, entity, project_name)
    except Http404:
        return None
    run = find_run(actor, project, run_id)
    if run is None:
        return None
    summary = None
    files = body.get("files") if isinstance(body.get("files"), dict) else {}
    lines = (files.get("wandb-summary.json") or {}).get("content") or []
    if lines and isinstance(lines[-1], str):
        try:
            summary = json.loads(lines[-1])
        except ValueError:
            summary = None
        summary = {k: v for k, v in summary.items() if not k.startswith("_")} if isinstance(summary, dict) else None
    state = None
    if body.get("complete"):
        state = RunState.FINISHED if body.get("exitcode") in (0, None) else RunState.FAILED
    if summary is not None or state is not None:
        artifacts.update_run(actor=actor, run=run, summary=summary, state=state)
    return run


# --- Logging an artifact ---


@transaction.atomic
def create_artifact(
    *,
    actor,
    entity: str,
    project_name: str,
    name: str,
    type: str,
    digest: str,
    run_id: str | None = None,
    metadata: dict | None = None,
    description: str = "",
    client_id: str = "",
) -> PendingArtifact | ArtifactVersion:
    """Start logging: an existing committed version with the same digest in the sequence is the answer
    (nothing is uploaded again); otherwise a pending artifact that commit_artifact turns into a version."""
    project = find_project(actor, entity, project_name, create=True)
    artifacts.require_project_writer(actor, project)
    name = validate_artifact_name(name)
    type = validate_artifact_type(type)
    metadata = validate_metadata(metadata)
    if not isinstance(digest, str) or len(digest) != 32 or not all(c in "0123456789abcdef" for c in digest):
        raise ValidationError({"digest": "The artifact digest must be 32 hexadecimal characters (MD5)."})
    run = find_run(actor, project, run_id)
    same = (
        ArtifactVersion.objects.filter(
            sequence__project=project, sequence__name=name, state=VersionState.COMMITTED, digest=digest
        )
        .select_related("sequence__project__team")
        .order_by("-index")
        .first()
    )
    if same is not None:
        if same.sequence.type != type:
            raise ValidationError({"type": f"Artifact “{name}” has type “{same.sequence.type}”, not “{type}”."})
        return same
    return PendingArtifact.objects.create(
        project=project,
        run=run,
        name=name,
        type=type,
        digest=digest,
        description=description or "",
        metadata=metadata,
        client_id=(client_id or "")[:128],
        created_by=actor,
    )


def _reusable_blob(actor, md5: str) -> Blob | None:
    """Bytes with this MD5 that `actor` could already download from a version they see.

    SECURITY: knowing a file's MD5 is not having its bytes, so stored bytes are reused (the upload
    skipped) only when the caller can already read them through a visible version.
    """
    visible = ManifestEntry.objects.filter(version__in=ArtifactVersion.objects.visible_to(actor).values("pk"))
    return Blob.objects.filter(md5=md5, sha256__in=visible.values("sha256")).first()


@transaction.atomic
def declare_files(*, actor, pending: PendingArtifact, files: list[tuple[str, str]]) -> list[StagedFile]:
    """`createArtifactFiles`: one staged file per (path, base64 MD5); already-readable bytes need no upload."""
    _require_owner(actor, pending)
    if len(files) > MANIFEST_MAX_FILES:
        raise ValidationError({"files": f"An artifact can hold at most {MANIFEST_MAX_FILES} files."})
    staged = []
    s3 = isinstance(get_store(), S3Store)
    for name, b64 in files:
        validate_manifest_path(name)
        md5 = md5_hex(b64)
        blob = _reusable_blob(actor, md5)
        item, _ = StagedFile.objects.update_or_create(
            pending=pending,
            name=name,
            defaults={
                "md5": md5,
                "sha256": blob.sha256 if blob else "",
                "staging_key": "" if blob or not s3 else f"wandb-{uuid.uuid4().hex}",
            },
        )
        staged.append(item)
    return staged


def receive_file(*, staged: StagedFile, stream, length: int) -> Blob:
    """Store bytes PUT for a staged file (filesystem store), checking their MD5 against the declared one."""
    if length < 0:
        raise ValidationError("Send the file with a Content-Length header.")
    digest, md5, size = get_store().put(stream, size=length)
    if md5 != staged.md5:
        raise ValidationError(
            f"{staged.name}: the bytes have MD5 {md5_b64(md5)}, not the declared {md5_b64(staged.md5)}."
        )
    blob, _ = Blob.objects.get_or_create(sha256=digest, defaults={"md5": md5, "size": size})
    StagedFile.objects.filter(pk=staged.pk).update(sha256=digest)
    return blob


def store_manifest(*, pending: PendingArtifact, body: bytes) -> None:
    """Keep the uploaded manifest's `contents` (path → digest, size); it is checked at commit."""
    if len(body) > MANIFEST_MAX_BYTES:
        raise ValidationError("The manifest is too large.")
    try:
        manifest = json.loads(body)
    except ValueError:
        raise ValidationError("The manifest is not valid JSON.") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("contents"), dict):
        raise ValidationError("The manifest needs a `contents` object.")
    if manifest.get("storagePolicy") not in (None, "wandb-storage-policy-v1"):
        raise ValidationError(f"Storage policy “{str(manifest.get('storagePolicy'))[:60]}” is not supported.")
    contents = {}
    for path, entry in manifest["contents"].items():
        if not isinstance(entry, dict):
            raise ValidationError(f"Manifest entry “{str(path)[:80]}” is not an object.")
        if entry.get("ref"):
            raise ValidationError(f"{str(path)[:80]}: reference artifacts (files kept elsewhere) are not supported.")
        size = entry.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValidationError(f"{str(path)[:80]}: size must be a non-negative integer.")
        contents[path] = {"digest": entry.get("digest"), "size": size}
    PendingArtifact.objects.filter(pk=pending.pk).update(manifest=contents)


def _require_owner(actor, pending: PendingArtifact) -> None:
    if pending.created_by_id != actor.pk:
        raise Http404("No such artifact.")
    if pending.version_id is not None:
        raise ValidationError("This artifact is already committed.")


@transaction.atomic
def commit_artifact(*, actor, pending: PendingArtifact) -> ArtifactVersion:
    """Check the manifest against the stored bytes (size, MD5, the artifact digest), then create and commit
    the version through the artifacts services."""
    pending = PendingArtifact.objects.select_for_update().get(pk=pending.pk)
    if pending.version_id is not None and pending.created_by_id == actor.pk:
        return pending.version  # a retried commit
    _require_owner(actor, pending)
    if pending.manifest is None:
        raise ValidationError("Upload the manifest before committing.")
    staged = {f.name: f for f in pending.files.all()}
    store = get_store()
    files, pairs = [], []
    for path, entry in sorted(pending.manifest.items()):
        validate_manifest_path(path)
        md5 = md5_hex(entry["digest"], field="digest")
        item = staged.get(path)
        if item is None or item.md5 != md5:
            raise ValidationError({"files": f"{path[:200]}: not declared with this digest before the commit."})
        if not item.sha256 and item.staging_key and isinstance(store, S3Store):
            adopted = store.adopt_staged(item.staging_key, size_limit=entry["size"])
            if adopted is not None:
                sha256, got_md5, size = adopted
                if got_md5 != md5:
                    raise ValidationError({"files": f"{path[:200]}: the uploaded bytes do not match its MD5."})
                Blob.objects.get_or_create(sha256=sha256, defaults={"md5": got_md5, "size": size})
                item.sha256 = sha256
                StagedFile.objects.filter(pk=item.pk).update(sha256=sha256)
        if not item.sha256:
            raise ValidationError({"files": f"{path[:200]}: the file was not uploaded."})
        blob = Blob.objects.get(sha256=item.sha256)
        if blob.size != entry["size"] or blob.md5 != md5:
            raise ValidationError({"files": f"{path[:200]}: the manifest's size or digest does not match the bytes."})
        files.append({"path": path, "sha256": blob.sha256, "size": blob.size})
        pairs.append((path, entry["digest"]))
    if artifacts.manifest_digest(pairs) != pending.digest:
        raise ValidationError({"digest": "The artifact digest does not match its manifest."})
    same = ArtifactVersion.objects.filter(
        sequence__project=pending.project_id,
        sequence__name=pending.name,
        state=VersionState.COMMITTED,
        digest=pending.digest,
    ).first()
    if same is None:
        # The one-call path the API's `POST /artifacts` with `commit` takes: created and committed together.
        same = artifacts.create_version(
            actor=actor,
            project=pending.project,
            name=pending.name,
            type=pending.type,
            files=files,
            metadata=pending.metadata,
            description=pending.description,
            run=pending.run,
            commit=True,
        )
    pending.version = same
    pending.save(update_fields=["version"])
    return same


def require_download(user, version: ArtifactVersion, link=None) -> None:
    """Files are readable as the path they were reached by allows (collections.services.can_download)."""
    if not collections.can_download(user, version, link):
        raise PermissionDenied("Your role lets you see this version but not download its files.")
