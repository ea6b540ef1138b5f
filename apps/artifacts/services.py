"""Every change to projects, runs, artifact versions and lineage."""

import base64
import datetime
import hashlib
import io
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.artifacts import sql
from apps.artifacts.models import (
    ArtifactSequence,
    ArtifactUsage,
    ArtifactVersion,
    Blob,
    ManifestEntry,
    Project,
    Run,
    RunState,
    UsageKind,
    VersionState,
    metadata_change,
    validate_artifact_name,
    validate_artifact_type,
    validate_manifest_path,
    validate_metadata,
    validate_reference_uri,
)
from apps.artifacts.storage import STALE_TEMP_AGE, Leftover, get_store
from apps.audit.models import Action
from apps.audit.services import record
from apps.orgs.models import Membership, Organization, OrgRole, Team
from apps.orgs.permissions import has_perm, remember, remembered, require, require_system
from lib.names import check_name_characters, check_unique_name
from lib.rows import insert
from lib.text import INT64_MAX, check_text

SHA256_HEX = set("0123456789abcdef")
RUN_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Pending versions, unreferenced blobs and staged uploads older than this are abandoned (`cleanup_storage`).
STALE_AFTER = datetime.timedelta(hours=24)
CLEANUP_BATCH = 100  # rows per transaction: each holds its locks while the bytes are deleted

logger = logging.getLogger(__name__)


def _project_access_key(project_pk: int) -> tuple:
    return ("artifacts.Project", project_pk)


def _with_writer_flag(projects, actor):
    """Annotate `org_viewer`: whether `actor` is a viewer of the project's organization (who may not write)."""
    viewer = Membership.objects.filter(org=OuterRef("team__org"), user=actor, role=OrgRole.VIEWER)
    return projects.annotate(org_viewer=Exists(viewer))


def find_project(actor, team_name: str, name: str) -> Project | None:
    """The project `<team>/<name>` if `actor` sees it, with its team and org; one statement (artifacts/sql.py),
    which also answers whether `actor` may write to it (require_project_writer then reads nothing).

    The rule is Project.objects.visible_to's: members of the team, and the org's admins; of those,
    the org's viewers may not write.
    """
    if not actor.is_authenticated:
        return None
    found = sql.find_project(actor.pk, team_name, name)
    if found is None:
        return None
    project, in_team, org_role = found
    if not in_team and org_role != OrgRole.ADMIN:
        return None
    remember(actor, _project_access_key(project.pk), "read" if org_role == OrgRole.VIEWER else "write")
    return project


def require_project_writer(actor, project: Project) -> None:
    """Team members (not org viewers) and org admins may write to a team's projects (one query per request)."""
    if not actor.is_authenticated:
        raise PermissionDenied("You are not in the team that owns this project.")

    def access() -> str:
        viewer = _with_writer_flag(Project.objects.visible_to(actor).filter(pk=project.pk), actor)
        found = viewer.values_list("org_viewer", flat=True).first()
        return "" if found is None else "read" if found else "write"

    held = remembered(actor, _project_access_key(project.pk), access)
    if not held:
        raise PermissionDenied("You are not in the team that owns this project.")
    if held != "write":
        raise PermissionDenied("Organization viewers cannot log artifacts.")


@transaction.atomic
def create_project(*, actor, team: Team, name: str, description: str = "") -> Project:
    """Create a project in a team."""
    if not actor.is_authenticated or not (
        team.memberships.filter(user=actor).exists() or has_perm(actor, "orgs.admin_organization", team.org)
    ):
        raise PermissionDenied("You are not in this team.")
    name = validate_artifact_name(name)
    check_unique_name(name, Project.objects.filter(team=team), what="Project", scope=f"team {team}")
    project = Project.objects.create(team=team, name=name, description=check_text(description, "description"))
    record(actor=actor, org=team.org, action=Action.PROJECT_CREATE, target=project, data={"name": name})
    return project


@transaction.atomic
def delete_project(*, actor, project: Project) -> None:
    """Delete a project and its runs. Refused while it holds artifact versions (published data)."""
    org = project.team.org
    require(actor, "orgs.admin_organization", org)
    versions = ArtifactVersion.objects.filter(sequence__project=project).count()
    if versions:
        raise ValidationError(
            f"Project “{project}” holds {versions} artifact version(s); published versions are never deleted."
        )
    record(
        actor=actor,
        org=org,
        action=Action.PROJECT_DELETE,
        target=project,
        data={"name": project.name, "team": project.team.name, "runs": project.runs.count()},
    )
    project.delete()


@transaction.atomic
def create_run(*, actor, project: Project, run_id: str = "", name: str = "", config: dict | None = None) -> Run:
    """Start a run in a project (lineage: it logs and uses artifact versions)."""
    require_project_writer(actor, project)
    run_id = (run_id or secrets.token_hex(4)).strip()
    if not RUN_ID_RE.fullmatch(run_id):
        raise ValidationError({"run_id": "Run ids use letters, digits, '-' and '_' (at most 64)."})
    name = (name or "").strip()
    if name:
        check_name_characters(name, "name", "Run names")
    if Run.objects.filter(project=project, run_id=run_id).exists():
        raise ValidationError({"run_id": f"Run “{run_id}” already exists in {project}."})
    run = Run.objects.create(
        project=project,
        run_id=run_id,
        name=name or run_id,
        config=validate_metadata(config, "config"),
        created_by=actor,
    )
    record(actor=actor, org=project.team.org, action=Action.RUN_CREATE, target=run, data={"run_id": run_id})
    return run


@transaction.atomic
def update_run(
    *, actor, run: Run, config: dict | None = None, summary: dict | None = None, state: str | None = None
) -> Run:
    """Replace a run's config or summary, or change its state (what a training script reports as it goes).

    Not audited: a run's progress is its own record; its creation and the artifacts it logs are audited.
    """
    require_project_writer(actor, run.project)
    fields = []
    if config is not None:
        run.config = validate_metadata(config, "config")
        fields.append("config")
    if summary is not None:
        run.summary = validate_metadata(summary, "summary")
        fields.append("summary")
    if state is not None:
        if state not in RunState.values:
            raise ValidationError({"state": f"Run states are {', '.join(RunState.values)}."})
        run.state = state
        fields.append("state")
    if fields:
        run.save(update_fields=fields)
    return run


def can_read_source(user, version: ArtifactVersion) -> bool:
    """Whether `user` may read a version's files from its source project (a member of its team).

    Registry paths are decided by the registry they name (collections.services.can_download).
    """
    return ArtifactVersion.objects.visible_to(user).filter(pk=version.pk).exists()


def upload_blob(*, actor, stream: BinaryIO, sha256: str | None = None) -> Blob:
    """Store bytes once by SHA-256 and register the blob.

    Not audited: bytes become part of the product's state only when a version that
    references them is committed, and that commit is audited.
    """
    if not actor.is_authenticated:
        raise PermissionDenied
    digest, md5, size = get_store().put(stream, expected_sha256=sha256)
    blob, _ = Blob.objects.get_or_create(sha256=digest, defaults={"md5": md5, "size": size})
    return blob


def _clean_manifest(files: list[dict]) -> list[dict]:
    if not isinstance(files, list):
        raise ValidationError({"files": "The manifest must be a list of files."})
    seen, cleaned, total = set(), [], 0
    for item in files:
        path = validate_manifest_path(item.get("path"))
        sha = str(item.get("sha256") or "").lower()
        if len(sha) != 64 or not set(sha) <= SHA256_HEX:
            raise ValidationError({"files": f"{path}: sha256 must be 64 hexadecimal characters."})
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= INT64_MAX:
            raise ValidationError({"files": f"{path}: size must be a non-negative integer below 2^63."})
        total += size
        if total > INT64_MAX:
            raise ValidationError({"files": "The files' sizes add up to more than 2^63 - 1 bytes."})
        if path in seen:
            raise ValidationError({"files": f"{path} appears twice in the manifest."})
        seen.add(path)
        cleaned.append({"path": path, "sha256": sha, "size": size})
    return cleaned


class BlobsMissing(ValidationError):
    """A version cannot be committed: the store lacks some of its files' bytes (`missing`: manifest entries)."""

    def __init__(self, missing: list[dict]):
        self.missing = missing
        paths = ", ".join(f["path"] for f in missing[:5])
        super().__init__({"files": f"{len(missing)} file(s) not uploaded yet: {paths}"})


def _stored_blobs(files: list[dict]) -> dict[str, Blob]:
    """The blobs of a cleaned manifest, locked for the commit (docs/decisions.md, "Blob GC"); BlobsMissing
    if the store lacks any, ValidationError if a size differs. One query (none for an empty manifest)."""
    if not files:
        return {}
    # Lock the blob rows, then check their bytes: garbage collection locks a blob before deleting it,
    # so bytes checked here stay until this commit is visible.
    blobs = Blob.objects.held_for_commit(f["sha256"] for f in files)
    store = get_store()
    missing = [f for f in files if f["sha256"] not in blobs or not store.exists(f["sha256"])]
    if missing:
        raise BlobsMissing(missing)
    wrong = [f["path"] for f in files if blobs[f["sha256"]].size != f["size"]]
    if wrong:
        raise ValidationError({"files": f"Size does not match the uploaded bytes: {', '.join(wrong[:5])}"})
    return blobs


@transaction.atomic
def create_version(**fields) -> ArtifactVersion:
    """Create a pending version with its manifest (with `commit`, committed too); see create_version_in_transaction."""
    return create_version_in_transaction(**fields)


def create_version_in_transaction(
    *,
    actor,
    project: Project,
    name: str,
    type: str,
    files: list[dict],
    metadata: dict | None = None,
    description: str = "",
    run: Run | None = None,
    commit: bool = False,
) -> ArtifactVersion:
    """Create a pending version with its manifest; commit_version makes it visible as vN.

    Runs in the caller's transaction, with no savepoint of its own: for services that compose it
    (collections.services.create_linked_version); everything else calls create_version. With `commit`, the version is committed in the same transaction (its bytes must all be stored
    already: BlobsMissing otherwise, and nothing is written), with the same two audit events as
    create then commit. `project` should come with its team and org (find_project).
    """
    require_project_writer(actor, project)
    name = validate_artifact_name(name)
    type = validate_artifact_type(type)
    metadata = validate_metadata(metadata)
    files = _clean_manifest(files)
    description = check_text(description or "", "description")
    if run is not None and run.project_id != project.pk:
        raise ValidationError({"run": "The run belongs to another project."})
    if commit:
        blobs = _stored_blobs(files)  # before any write
        sequence = _take_index(project, name, type)
        version = ArtifactVersion(
            sequence=sequence,
            index=sequence.next_index - 1,
            state=VersionState.COMMITTED,
            committed_at=timezone.now(),
            digest=manifest_digest(
                [(f["path"], base64.b64encode(bytes.fromhex(blobs[f["sha256"]].md5)).decode()) for f in files]
            ),
        )
    else:
        sequence = ArtifactSequence.objects.filter(project=project, name=name).first()
        if sequence is None:
            check_unique_name(name, project.sequences.all(), what="Artifact", scope=str(project))
            sequence, _ = ArtifactSequence.objects.get_or_create(project=project, name=name, defaults={"type": type})
        _check_sequence_type(sequence, name, type)
        version = ArtifactVersion(sequence=sequence)
    version.description = description
    version.metadata = metadata
    version.size = sum(f["size"] for f in files)
    version.file_count = len(files)
    version.run = run
    version.created_by = actor
    insert(version)
    if files:
        ManifestEntry.objects.bulk_create([ManifestEntry(version=version, **f) for f in files])
    record(
        actor=actor,
        org=project.team.org,
        action=Action.ARTIFACT_CREATE,
        target=version,
        data={"name": name, "type": type, "files": len(files)},
        version_pk=version.pk,
    )
    if commit:
        _committed(actor, project, version)
    return version


def _check_sequence_type(sequence: ArtifactSequence, name: str, type: str) -> None:
    if sequence.type != type:
        raise ValidationError(
            {"type": f"Artifact “{name}” has type “{sequence.type}”; a version cannot have type “{type}”."}
        )


def _take_index(project: Project, name: str, type: str) -> ArtifactSequence:
    """The artifact `name` in `project` (made on first use) with its next index taken (`next_index - 1`).

    One statement when the artifact exists; the row stays locked until the transaction ends.
    """
    taken = sql.take_sequence_index(project.pk, name)
    if taken is None:
        check_unique_name(name, project.sequences.all(), what="Artifact", scope=str(project))
        sequence, created = ArtifactSequence.objects.get_or_create(
            project=project, name=name, defaults={"type": type, "next_index": 1}
        )
        if created:
            _check_sequence_type(sequence, name, type)
            return sequence
        taken = sql.take_sequence_index(project.pk, name)  # a concurrent first version made it
    pk, found_type, index = taken
    sequence = ArtifactSequence(pk=pk, project=project, name=name, type=found_type, next_index=index + 1)
    _check_sequence_type(sequence, name, type)
    return sequence


def _committed(actor, project: Project, version: ArtifactVersion) -> None:
    """What every commit records: the run's output (lineage) and the audit event."""
    if version.run_id:
        ArtifactUsage.objects.get_or_create(run_id=version.run_id, version=version, kind=UsageKind.OUTPUT)
    org = project.team.org
    record(
        actor=actor,
        org=org,
        action=Action.ARTIFACT_COMMIT,
        target=version,
        data={"version": version.version_label, "digest": version.digest, "size": version.size},
        version_pk=version.pk,
        # Only organization and team automations watch commits in projects.
        notify=org.has_automations,
    )


def missing_blobs(version: ArtifactVersion) -> list[ManifestEntry]:
    """Manifest entries whose bytes the store does not hold yet."""
    entries = list(version.entries.all())
    present = set(Blob.objects.filter(sha256__in={e.sha256 for e in entries}).values_list("sha256", flat=True))
    store = get_store()
    return [e for e in entries if e.sha256 not in present or not store.exists(e.sha256)]


def manifest_digest(pairs: list[tuple[str, str]]) -> str:
    """W&B's artifact digest: MD5 over a header and sorted `path:base64-md5` lines (the SDK's own formula,
    so a re-logged identical artifact is recognised by its digest)."""
    md5 = hashlib.md5(b"wandb-artifact-manifest-v1\n", usedforsecurity=False)
    for path, b64 in sorted(pairs):
        md5.update(f"{path}:{b64}\n".encode())
    return md5.hexdigest()


@transaction.atomic
def commit_version(*, actor, version: ArtifactVersion) -> ArtifactVersion:
    """Check every blob is stored with the right size, then give the version its vN."""
    project = version.sequence.project
    require_project_writer(actor, project)
    # Lock the version and read its state afresh: a concurrent commit, or the cleanup of stale
    # pending versions, may have got there first.
    state = ArtifactVersion.objects.select_for_update().filter(pk=version.pk).values_list("state", flat=True).first()
    if state is None:
        raise ValidationError(
            "This version was never committed and has been removed (pending versions are removed after "
            f"{STALE_AFTER.total_seconds() / 3600:g} hours). Log it again."
        )
    if state == VersionState.COMMITTED:
        version.refresh_from_db()
        return version
    entries = list(version.entries.values("path", "sha256", "size"))
    blobs = _stored_blobs(entries)
    # Lock the sequence row so concurrent commits take consecutive indexes.
    sequence = ArtifactSequence.objects.select_for_update().get(pk=version.sequence_id)
    version.index = sequence.next_index
    sequence.next_index += 1
    sequence.save(update_fields=["next_index"])
    version.state = VersionState.COMMITTED
    version.committed_at = timezone.now()
    version.digest = manifest_digest(
        [(e["path"], base64.b64encode(bytes.fromhex(blobs[e["sha256"]].md5)).decode()) for e in entries]
    )
    version.save(update_fields=["index", "state", "committed_at", "digest"])
    _committed(actor, project, version)
    return version


def log_artifact(
    *,
    actor,
    project: Project,
    name: str,
    type: str,
    files: dict[str, bytes],
    metadata: dict | None = None,
    description: str = "",
    run: Run | None = None,
) -> ArtifactVersion:
    """Upload small in-memory files, create and commit a version in one call (seeding, tests)."""
    manifest = []
    for path, data in files.items():
        blob = upload_blob(actor=actor, stream=io.BytesIO(data))
        manifest.append({"path": path, "sha256": blob.sha256, "size": blob.size})
    return create_version(
        actor=actor,
        project=project,
        name=name,
        type=type,
        files=manifest,
        metadata=metadata,
        description=description,
        run=run,
        commit=True,
    )


@transaction.atomic
def record_usage(*, actor, run: Run, version: ArtifactVersion) -> ArtifactUsage:
    """Record that a run used (consumed) a version, for lineage. The caller has checked the actor may read it.

    Only collections.services.use_artifact calls this: it decides read access by the path used.
    """
    require_project_writer(actor, run.project)
    if version.state != VersionState.COMMITTED:
        raise ValidationError("Only committed versions can be used.")
    try:
        with transaction.atomic():
            usage, created = ArtifactUsage.objects.get_or_create(run=run, version=version, kind=UsageKind.INPUT)
    except IntegrityError:
        usage, created = ArtifactUsage.objects.get(run=run, version=version, kind=UsageKind.INPUT), False
    if created:
        record(
            actor=actor,
            org=run.project.team.org,
            action=Action.RUN_USE_ARTIFACT,
            target=run,
            data={"version": str(version)},
            version_pk=version.pk,
        )
    return usage


def _org_entity_project(*, actor, org: Organization, name: str) -> Project:
    """The project `name` of the org's own entity team (the team named like the org), made on first use.

    Versions logged straight into a registry (MLflow model versions) live here: the team has no
    members, so people see these versions through the registries they are linked into (org admins
    also see the project, as they see every team's).
    """
    team = Team.objects.filter(name__iexact=org.slug).first()
    if team is None:
        # Team names never equal another org's slug (create_team refuses them), so the name is free.
        group, _ = Group.objects.get_or_create(name=f"team:{org.slug}")
        team = Team.objects.create(org=org, name=org.slug, group=group)
        record(actor=actor, org=org, action=Action.TEAM_CREATE, target=team, data={"name": team.name})
    elif team.org_id != org.pk:
        raise ValidationError({"source": f"The entity name “{org.slug}” belongs to another organization."})
    project, created = Project.objects.get_or_create(team=team, name=validate_artifact_name(name))
    if created:
        record(actor=actor, org=org, action=Action.PROJECT_CREATE, target=project, data={"name": project.name})
    return project


@transaction.atomic
def create_reference_version(
    *,
    actor,
    org: Organization,
    project_name: str,
    name: str,
    type: str,
    uri: str,
    description: str = "",
    metadata: dict | None = None,
) -> ArtifactVersion:
    """Record a committed version whose files live at `uri`, outside Registry (no bytes are copied).

    It goes into the org's own entity project `project_name`. Only org members may record one;
    registry faces call it through collections.services.register_reference, which first checks
    that the actor may write to the registry the version is linked into.
    """
    if not actor.is_authenticated or not Membership.objects.filter(org=org, user=actor).exists():
        raise PermissionDenied("Only members of the organization can record versions in it.")
    uri = validate_reference_uri(uri)
    name = validate_artifact_name(name)
    type = validate_artifact_type(type)
    metadata = validate_metadata(metadata)
    project = _org_entity_project(actor=actor, org=org, name=project_name)
    sequence, _ = ArtifactSequence.objects.get_or_create(project=project, name=name, defaults={"type": type})
    if sequence.type != type:
        raise ValidationError({"type": f"Artifact “{name}” has type “{sequence.type}”, not “{type}”."})
    sequence = ArtifactSequence.objects.select_for_update().get(pk=sequence.pk)
    version = ArtifactVersion.objects.create(
        sequence=sequence,
        index=sequence.next_index,
        state=VersionState.COMMITTED,
        committed_at=timezone.now(),
        description=description or "",
        metadata=metadata,
        reference_uri=uri,
        created_by=actor,
    )
    sequence.next_index += 1
    sequence.save(update_fields=["next_index"])
    record(
        actor=actor,
        org=org,
        action=Action.ARTIFACT_COMMIT,
        target=version,
        data={"version": version.version_label, "reference": uri},
        version_pk=version.pk,
    )
    return version


# --- Curation (issue 16): edits of committed versions by their team ---


def locked_committed(version: ArtifactVersion) -> ArtifactVersion:
    """`version` read afresh under a row lock (edits of one version queue); 400 unless committed."""
    fresh = ArtifactVersion.objects.select_for_update().filter(pk=version.pk).first()
    if fresh is None or fresh.state != VersionState.COMMITTED:
        raise ValidationError({"version": "Only committed versions can be changed."})
    return fresh


@transaction.atomic
def update_source_metadata(*, actor, version: ArtifactVersion, metadata) -> ArtifactVersion:
    """Replace a committed version's metadata from its source project (its team), as W&B's
    `artifact.metadata[...] = …; artifact.save()`. Every registry it is linked into shows the change.

    Audited with the changed keys before and after (`version:update`); an edit that changes nothing
    writes nothing.
    """
    project = version.sequence.project
    require_project_writer(actor, project)
    metadata = validate_metadata(metadata)
    fresh = locked_committed(version)
    if metadata == fresh.metadata:
        return fresh
    change = metadata_change(fresh.metadata, metadata)
    fresh.metadata = metadata
    fresh.save(update_fields=["metadata"])
    record(
        actor=actor,
        org=project.team.org,
        action=Action.VERSION_UPDATE,
        target=fresh,
        data={"version": fresh.version_label, **change},
        version_pk=fresh.pk,
    )
    version.metadata = metadata
    return fresh


TTL_MAX_SECONDS = 100 * 365 * 24 * 3600  # a century: longer is "no time-to-live"


def can_write_project(user, project: Project, *, visible: bool = False) -> bool:
    """Whether `user` may log to, edit and delete versions of `project` (its team; not org viewers).

    `visible`: the caller found the project through `visible_to(user)` already (one query saved).
    """
    if visible:
        return not Membership.objects.filter(org=project.team.org_id, user=user, role=OrgRole.VIEWER).exists()
    try:
        require_project_writer(user, project)
    except PermissionDenied:
        return False
    return True


def deletion_retention() -> datetime.timedelta:
    """How long a deleted version keeps its files, restorable (settings.ARTIFACT_DELETE_RETENTION_DAYS)."""
    return datetime.timedelta(days=settings.ARTIFACT_DELETE_RETENTION_DAYS)


def ttl_text(seconds: int | None) -> str | None:
    """A time-to-live in words for the audit log and pages: "30 days", "12 hours", "90 seconds"."""
    if seconds is None:
        return None
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def _check_ttl(ttl_seconds) -> int | None:
    if ttl_seconds is None:
        return None
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or not 0 < ttl_seconds <= TTL_MAX_SECONDS:
        raise ValidationError(
            {"ttl": f"A time-to-live is a whole number of seconds from 1 to {TTL_MAX_SECONDS:,} (100 years), or none."}
        )
    return ttl_seconds


@transaction.atomic
def set_version_ttl(*, actor, version: ArtifactVersion, ttl_seconds: int | None) -> ArtifactVersion:
    """Set or clear a source version's time-to-live (W&B's `artifact.ttl`), by its team.

    It counts from the commit; once it has run out the worker deletes the version, unless it is
    linked into a registry collection then (linked versions never expire).
    """
    require_project_writer(actor, version.sequence.project)
    ttl_seconds = _check_ttl(ttl_seconds)
    fresh = locked_committed(version)
    if fresh.ttl_seconds == ttl_seconds:
        return fresh
    old = fresh.ttl_seconds
    fresh.ttl_seconds = ttl_seconds
    start = fresh.committed_at or fresh.created_at
    fresh.expires_at = start + datetime.timedelta(seconds=ttl_seconds) if ttl_seconds else None
    fresh.save(update_fields=["ttl_seconds", "expires_at"])
    record(
        actor=actor,
        org=version.sequence.project.team.org,
        action=Action.VERSION_UPDATE,
        target=fresh,
        data={
            "version": fresh.version_label,
            "ttl": {"from": ttl_text(old), "to": ttl_text(ttl_seconds)},
            "expires_at": fresh.expires_at.isoformat() if fresh.expires_at else None,
        },
        version_pk=fresh.pk,
    )
    version.ttl_seconds, version.expires_at = fresh.ttl_seconds, fresh.expires_at
    return fresh


def _mark_deleted(actor, version: ArtifactVersion, reason: str, **data) -> ArtifactVersion:
    """Soft-delete a locked, committed, unlinked version and record it (one `artifact:delete` event)."""
    now = timezone.now()
    version.state = VersionState.DELETED
    version.deleted_at = now
    version.save(update_fields=["state", "deleted_at"])
    record(
        actor=actor,
        org=version.sequence.project.team.org,
        action=Action.ARTIFACT_DELETE,
        target=version,
        data={
            "version": version.version_label,
            "reason": reason,
            "files": version.file_count,
            "size": version.size,
            "purge_after": (now + deletion_retention()).isoformat(),
            **data,
        },
        version_pk=version.pk,
    )
    return version


@transaction.atomic
def delete_version(*, actor, version: ArtifactVersion, **data) -> ArtifactVersion:
    """Delete a committed source version, by its team: it disappears at once, and its files are released
    after the retention period (`purge_deleted_versions`), unless it is restored before.

    Refused while it is linked into a registry collection: `collections.services.delete_source_version`
    unlinks it first (and refuses while a protected alias holds it).
    """
    require_project_writer(actor, version.sequence.project)
    fresh = locked_committed(version)
    if fresh.links.exists():  # reverse relation: this app names no collections model
        raise ValidationError({"version": f"{fresh} is linked into a registry collection; unlink it first."})
    fresh.sequence = version.sequence
    _mark_deleted(actor, fresh, "deleted", **data)
    version.state, version.deleted_at = fresh.state, fresh.deleted_at
    return fresh


@transaction.atomic
def restore_version(*, actor, version: ArtifactVersion) -> ArtifactVersion:
    """Bring back a deleted source version within its retention period, by its team.

    A time-to-live that has run out is cleared, or the worker would delete it again within the hour.
    """
    require_project_writer(actor, version.sequence.project)
    fresh = ArtifactVersion.objects.select_for_update().filter(pk=version.pk).first()
    if fresh is None or fresh.state != VersionState.DELETED:
        raise ValidationError({"version": "Only deleted versions can be restored."})
    if fresh.purged_at is not None:
        raise ValidationError({"version": f"The files of {fresh} were released after the retention period."})
    fresh.sequence = version.sequence
    return _restore(actor, fresh, "restored")


def _restore(actor, version: ArtifactVersion, reason: str) -> ArtifactVersion:
    expired = version.expires_at is not None and version.expires_at <= timezone.now()
    version.state, version.deleted_at = VersionState.COMMITTED, None
    if expired:
        version.ttl_seconds = version.expires_at = None
    version.save(update_fields=["state", "deleted_at", "ttl_seconds", "expires_at"])
    record(
        actor=actor,
        org=version.sequence.project.team.org,
        action=Action.ARTIFACT_RESTORE,
        target=version,
        data={"version": version.version_label, "reason": reason, "ttl_cleared": expired},
        version_pk=version.pk,
    )
    return version


def _lock_version(versions, pk: int):
    """Version `pk` of `versions`, locked with its organization loaded, for a sweep that takes one row per
    transaction; None when another process holds it or it no longer matches `versions`."""
    return (
        versions.select_for_update(skip_locked=True, of=("self",))
        .select_related("sequence__project__team__org")
        .filter(pk=pk)
        .first()
    )


def expire_versions(*, actor, dry_run: bool = False) -> list[str]:
    """Delete committed versions whose time-to-live has run out, unless they are linked into a registry
    collection (linked versions never expire). One `artifact:delete` event each (reason "ttl").
    """
    require_system(actor)
    due = ArtifactVersion.objects.filter(state=VersionState.COMMITTED, expires_at__lte=timezone.now())
    expired = []
    for pk in list(due.filter(links__isnull=True).order_by("pk").values_list("pk", flat=True)[:10_000]):
        with transaction.atomic():
            # Lock, then check the links again: a version linked meanwhile stays.
            version = _lock_version(due, pk)
            if version is None or version.links.exists():
                continue
            expired.append(str(version))
            if not dry_run:
                _mark_deleted(actor, version, "ttl", ttl=ttl_text(version.ttl_seconds))
    return expired


def purge_deleted_versions(*, actor, dry_run: bool = False) -> list[str]:
    """Release the files of versions deleted more than the retention period ago: their manifest entries
    go (the blobs nothing else names are then collected), the row stays as a tombstone (`purged_at`),
    so its vN is never reused and its audit history keeps its name. One `artifact:purge` event each.

    A deleted version that got linked after all (a link racing the deletion) is restored instead.
    """
    require_system(actor)
    due = ArtifactVersion.objects.filter(
        state=VersionState.DELETED, deleted_at__lte=timezone.now() - deletion_retention(), purged_at__isnull=True
    )
    purged = []
    for pk in list(due.order_by("pk").values_list("pk", flat=True)[:10_000]):
        with transaction.atomic():
            version = _lock_version(due, pk)
            if version is None:
                continue
            if version.links.exists():
                if not dry_run:
                    _restore(actor, version, "linked while deleted")
                continue
            purged.append(str(version))
            if dry_run:
                continue
            files, _ = version.entries.all().delete()
            version.purged_at = timezone.now()
            version.save(update_fields=["purged_at"])
            record(
                actor=actor,
                org=version.sequence.project.team.org,
                action=Action.ARTIFACT_PURGE,
                target=version,
                data={"version": version.version_label, "files": files, "size": version.size},
                version_pk=version.pk,
            )
    return purged


# --- Cleanup: what interrupted uploads leave behind (`manage.py cleanup_storage`, run by the worker) ---


# Apps above this one that name blobs outside a version's manifest (the wandb SDK's staged files, between
# upload and commit) register (model, field) here, as automations subscribe to audit events: garbage
# collection keeps every blob those rows name.
_blob_holders: list[tuple[type, str]] = []


def hold_blobs(model: type, column: str = "sha256") -> None:
    """Keep blobs whose SHA-256 `model.column` names out of garbage collection."""
    if (model, column) not in _blob_holders:
        _blob_holders.append((model, column))


def _named_blobs(sha256s) -> set[str]:
    """Which of these blobs a manifest entry or a registered holder names."""
    sha256s = list(sha256s)
    named = set(ManifestEntry.objects.filter(sha256__in=sha256s).values_list("sha256", flat=True))
    for model, column in _blob_holders:
        named |= set(model._default_manager.filter(**{f"{column}__in": sha256s}).values_list(column, flat=True))
    return named


@dataclass
class CleanupReport:
    """What one cleanup removed (or, in a dry run, would remove)."""

    versions: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)  # versions whose time-to-live ran out (now deleted)
    purged: list[str] = field(default_factory=list)  # deleted versions whose files were released
    blobs: list[tuple[str, int]] = field(default_factory=list)  # (sha256, size): rows and their bytes
    orphans: list[tuple[str, int]] = field(default_factory=list)  # bytes no blob row named
    leftovers: list[Leftover] = field(default_factory=list)  # temp files, staged objects, multipart uploads


def delete_pending_versions(*, actor, older_than: datetime.timedelta = STALE_AFTER, dry_run: bool = False) -> list[str]:
    """Remove versions created more than `older_than` ago and never committed, one audit event each.

    One event per version (not one summary): each belongs to an organization, whose admins then see
    it in their own log and in the version's history. Each removal is its own short transaction.
    """
    require_system(actor)
    stale = ArtifactVersion.objects.filter(state=VersionState.PENDING, created_at__lt=timezone.now() - older_than)
    removed = []
    for pk in list(stale.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            # Lock and re-check: a commit that locked the row first wins, and one that comes later
            # finds the row gone (commit_version locks the same row).
            version = _lock_version(stale, pk)
            if version is None:
                continue
            removed.append(str(version))
            if dry_run:
                continue
            record(
                actor=actor,
                org=version.sequence.project.team.org,
                action=Action.ARTIFACT_DELETE_PENDING,
                target=version,
                data={
                    "name": version.sequence.name,
                    "created_at": version.created_at.isoformat(),
                    "files": version.file_count,
                    "size": version.size,
                },
                version_pk=version.pk,
            )
            # Its manifest entries and tags go with it (CASCADE); the blobs they named are left to
            # delete_unreferenced_blobs. The sequence stays: a client may be logging to its name now.
            version.delete()
    return removed


def delete_unreferenced_blobs(
    *, actor, older_than: datetime.timedelta = STALE_AFTER, dry_run: bool = False
) -> list[tuple[str, int]]:
    """Garbage-collect blobs nothing names (a version's manifest, or a `hold_blobs` holder) and not uploaded
    within `older_than`: row and bytes.

    Mark and sweep, safe against a commit at the same moment (docs/decisions.md, "Blob GC"): each
    batch locks its candidates (skipping rows a commit holds), checks again that no manifest names
    them, and deletes the bytes before the rows, still holding the locks.
    """
    require_system(actor)
    store = get_store()
    unreferenced = Blob.objects.filter(created_at__lt=timezone.now() - older_than).exclude(
        sha256__in=ManifestEntry.objects.values("sha256")
    )
    for model, column in _blob_holders:
        unreferenced = unreferenced.exclude(sha256__in=model._default_manager.values(column))
    removed: list[tuple[str, int]] = []
    after = ""
    while batch := list(
        unreferenced.filter(sha256__gt=after).order_by("sha256").values_list("sha256", flat=True)[:CLEANUP_BATCH]
    ):
        after = batch[-1]
        if dry_run:
            removed += Blob.objects.filter(sha256__in=batch).order_by("sha256").values_list("sha256", "size")
            continue
        with transaction.atomic():
            # The lock comes first, the check second: a check read before the lock could miss a
            # commit that held the lock and committed in between.
            locked = {
                blob.sha256: blob
                for blob in unreferenced.select_for_update(skip_locked=True).filter(sha256__in=batch).order_by("sha256")
            }
            named = _named_blobs(locked)
            doomed = [blob for sha256, blob in locked.items() if sha256 not in named]
            for blob in doomed:
                # Bytes first: if this transaction fails after, a row without bytes is left, which
                # commits treat as missing and the next run deletes; never bytes a row promises.
                store.delete(blob.sha256)
                record(
                    actor=actor,
                    org=None,
                    action=Action.BLOB_DELETE,
                    target=blob,
                    data={"size": blob.size, "md5": blob.md5, "created_at": blob.created_at.isoformat()},
                )
            Blob.objects.filter(sha256__in=[blob.sha256 for blob in doomed]).delete()
            removed += [(blob.sha256, blob.size) for blob in doomed]
    return removed


def delete_orphan_bytes(
    *, actor, older_than: datetime.timedelta = STALE_AFTER, dry_run: bool = False
) -> list[tuple[str, int]]:
    """Delete stored bytes that no blob row names (a server died between storing and registering them).

    Only bytes last written more than `older_than` ago. Each deletion claims the SHA-256 first by
    inserting its row: a registration of the same bytes at that moment waits on the row's unique
    key and then finds the bytes gone (its commit asks for them again) instead of registering
    bytes that are being deleted.
    """
    require_system(actor)
    store = get_store()
    removed: list[tuple[str, int]] = []
    found = store.stored_blobs(before=(timezone.now() - older_than).timestamp())
    while chunk := [item for _, item in zip(range(CLEANUP_BATCH), found, strict=False)]:
        known = set(Blob.objects.filter(sha256__in=[sha256 for sha256, _ in chunk]).values_list("sha256", flat=True))
        for sha256, size in chunk:
            if sha256 in known:
                continue
            if dry_run:
                removed.append((sha256, size))
                continue
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        claim = Blob.objects.create(sha256=sha256, md5="", size=size)
                except IntegrityError:
                    continue  # registered meanwhile: not an orphan
                store.delete(sha256)
                record(
                    actor=actor, org=None, action=Action.BLOB_DELETE, target=claim, data={"size": size, "orphan": True}
                )
                claim.delete()
            removed.append((sha256, size))
    return removed


def cleanup_storage(*, actor, older_than: datetime.timedelta = STALE_AFTER, dry_run: bool = False) -> CleanupReport:
    """Remove what interrupted uploads left (stale pending versions, blobs nothing names, orphan bytes, temp
    files), delete versions whose time-to-live ran out, and release deleted versions' files after retention.

    Versions go first, so the blobs only they named are collected in the same run (once old enough).
    Temp files count as stale after an hour without a write, or `older_than` if that is shorter;
    staged uploads wait `older_than`, as the pending version they belong to may still commit.
    """
    require_system(actor)
    report = CleanupReport()
    report.versions = delete_pending_versions(actor=actor, older_than=older_than, dry_run=dry_run)
    # Expired versions are deleted (kept for the retention period); versions deleted longer ago release
    # their files, whose blobs the collection below then removes.
    report.expired = expire_versions(actor=actor, dry_run=dry_run)
    report.purged = purge_deleted_versions(actor=actor, dry_run=dry_run)
    report.blobs = delete_unreferenced_blobs(actor=actor, older_than=older_than, dry_run=dry_run)
    report.orphans = delete_orphan_bytes(actor=actor, older_than=older_than, dry_run=dry_run)
    report.leftovers = remove_storage_leftovers(actor=actor, older_than=older_than, dry_run=dry_run)
    return report


def remove_storage_leftovers(
    *, actor, older_than: datetime.timedelta = STALE_AFTER, dry_run: bool = False
) -> list[Leftover]:
    """Delete interrupted uploads' temp files, staged objects and multipart uploads; one summary audit event.

    A summary rather than one event each: these never were rows or blobs (nothing could name or
    download them), so the event records how much went, and the names of the first hundred.
    """
    require_system(actor)
    now = timezone.now()
    idle = min(older_than, datetime.timedelta(seconds=STALE_TEMP_AGE))
    leftovers = get_store().remove_leftovers(
        idle_before=(now - idle).timestamp(), staged_before=(now - older_than).timestamp(), dry_run=dry_run
    )
    if leftovers and not dry_run:
        kinds: dict[str, int] = {}
        for leftover in leftovers:
            kinds[leftover.kind] = kinds.get(leftover.kind, 0) + 1
        record(
            actor=actor,
            org=None,
            action=Action.STORAGE_CLEANUP,
            target=None,
            data={
                "removed": kinds,
                "bytes": sum(leftover.size for leftover in leftovers),
                "names": [leftover.name for leftover in leftovers[:100]],
            },
        )
    return leftovers
