"""Source artifacts: projects, runs, artifact sequences and versions, blobs and lineage."""

import json
import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Q
from django.urls import reverse
from django.utils.safestring import mark_safe

from apps.orgs.models import Membership, OrgRole, Team, TeamMembership
from lib.names import check_name_characters, name_problem
from lib.text import check_json, check_text


def _teams_of(user) -> models.QuerySet:
    """Ids of the teams whose projects `user` sees: teams they are in, and every team of orgs they administer.

    Two independent subqueries: one query joining teams to both membership tables multiplied every team by every
    org membership (100 teams × 1,000 members took a second per page on SQLite).
    SECURITY: the admin condition reads one membership row (user and role together).
    """
    in_team = TeamMembership.objects.filter(user=user).values("team_id")
    administered = Membership.objects.filter(user=user, role=OrgRole.ADMIN).values("org_id")
    return Team.objects.filter(Q(pk__in=in_team) | Q(org_id__in=administered)).values("pk")


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ProjectQuerySet":
        """Projects of the teams `user` is in, and every project in orgs they administer."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(team__in=_teams_of(user))


class Project(models.Model):
    """A team's project: runs log artifact versions into it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects", db_index=False)
    name = models.CharField(max_length=128)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="artifacts_project_unique_name_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.team.name}/{self.name}"


class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    CRASHED = "crashed", "Crashed"


class Run(models.Model):
    """One execution of a script in a project; it logs and uses artifact versions."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs", db_index=False)
    run_id = models.CharField(max_length=64)
    name = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=16, choices=RunState, default=RunState.FINISHED)
    config = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # the last value of each logged metric
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "run_id"], name="artifacts_run_unique_id_per_project"),
        ]

    def __str__(self) -> str:
        return f"{self.project}/runs/{self.run_id}"


class ArtifactSequence(models.Model):
    """A source collection: every version logged under one name and type in a project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sequences", db_index=False)
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=128)
    # Highest committed index so far; the next commit takes next_index.
    next_index = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="artifacts_sequence_unique_name_per_project"),
        ]

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"


class VersionState(models.TextChoices):
    PENDING = "pending", "Pending"
    COMMITTED = "committed", "Committed"
    # Deleted by its team or its time-to-live: invisible everywhere; its files are released (and their
    # blobs collected) once the retention period has passed (`purged_at`).
    DELETED = "deleted", "Deleted"


class ArtifactVersionQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ArtifactVersionQuerySet":
        """Versions in projects `user` can see (source side; registry access is per link)."""
        if not user.is_authenticated:
            return self.none()
        # The teams subquery of Project.visible_to, one level down (a nested subquery costs more to build).
        # Deleted versions are gone for everyone (they wait for their retention period out of sight).
        return self.filter(sequence__project__team__in=_teams_of(user)).exclude(state=VersionState.DELETED)

    def committed(self) -> "ArtifactVersionQuerySet":
        return self.filter(state=VersionState.COMMITTED)

    def deleted_visible_to(self, user) -> "ArtifactVersionQuerySet":
        """Deleted versions (restorable or not) in projects `user` can see: the only way to reach them."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(sequence__project__team__in=_teams_of(user), state=VersionState.DELETED)


class ArtifactVersion(models.Model):
    """One immutable version of an artifact: a manifest of files plus metadata."""

    sequence = models.ForeignKey(ArtifactSequence, on_delete=models.PROTECT, related_name="versions", db_index=False)
    index = models.PositiveIntegerField(null=True, blank=True)  # set on commit: v0, v1, …
    state = models.CharField(max_length=16, choices=VersionState, default=VersionState.PENDING)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    size = models.BigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    digest = models.CharField(max_length=64, blank=True)  # W&B artifact digest (MD5 over the manifest)
    # A reference version (an MLflow model version's `source`): its files live at this URI, outside
    # Registry, and it has no manifest entries. Empty for versions whose files Registry stores.
    reference_uri = models.CharField(max_length=2048, blank=True)
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="logged_versions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    # W&B's `ttl`: the version is deleted (by the worker) once `expires_at` has passed, unless it is
    # linked into a registry collection then. Both null: no time-to-live.
    ttl_seconds = models.BigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Soft delete: when it was deleted, and when its files were released after the retention period.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = ArtifactVersionQuerySet.as_manager()

    class Meta:
        ordering = ["sequence", "-index"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "index"], name="artifacts_version_unique_index_per_sequence"),
            models.CheckConstraint(
                condition=Q(state="pending") | Q(index__isnull=False),
                name="artifacts_version_committed_has_index",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence}:{self.version_label}"

    def get_absolute_url(self) -> str:
        project = self.sequence.project
        return reverse(
            "artifacts:version_detail",
            args=[project.team.name, project.name, self.sequence.name, self.version_label],
        )

    @property
    def version_label(self) -> str:
        return f"v{self.index}" if self.index is not None else "pending"

    @property
    def type(self) -> str:
        return self.sequence.type


class VersionTag(models.Model):
    """A tag on an artifact version (shared by the source and all its links)."""

    version = models.ForeignKey(ArtifactVersion, on_delete=models.CASCADE, related_name="tags", db_index=False)
    name = models.CharField(max_length=128, db_index=True)
    value = models.TextField(blank=True)  # MLflow tags are key (name) / value; W&B tags have none
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="artifacts_versiontag_unique_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.value}" if self.value else self.name


class BlobQuerySet(models.QuerySet):
    def held_for_commit(self, sha256s) -> dict[str, "Blob"]:
        """These blobs by SHA-256, locked until the transaction ends so garbage collection skips them.

        PostgreSQL: FOR KEY SHARE, the weakest lock a DELETE waits for, so commits sharing a blob never
        wait for each other. SQLite: every write transaction already holds the database's write lock
        (transaction_mode=IMMEDIATE), which keeps the collector out.
        """
        sha256s = sorted(set(sha256s))
        if connections[self.db].vendor != "postgresql":
            return self.in_bulk(sha256s)
        table = self.model._meta.db_table
        rows = self.raw(f"SELECT * FROM {table} WHERE sha256 = ANY(%s) ORDER BY sha256 FOR KEY SHARE", [sha256s])
        return {blob.sha256: blob for blob in rows}


class Blob(models.Model):
    """File contents, addressed by SHA-256 and stored once however many versions hold it.

    A blob no version's manifest names any more is garbage-collected (services.delete_unreferenced_blobs).
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    md5 = models.CharField(max_length=32)  # hex; W&B clients name files by base64 MD5
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BlobQuerySet.as_manager()

    def __str__(self) -> str:
        return self.sha256


class ManifestEntry(models.Model):
    """One file of a version: a path inside the artifact and its blob."""

    version = models.ForeignKey(ArtifactVersion, on_delete=models.CASCADE, related_name="entries", db_index=False)
    path = models.CharField(max_length=1024)
    sha256 = models.CharField(max_length=64)  # the declared digest; the blob exists once committed
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["version", "path"], name="artifacts_manifestentry_unique_path"),
        ]
        # Garbage collection asks "does any manifest still name this blob?"
        indexes = [models.Index(fields=["sha256"], name="artifacts_entry_sha256_idx")]

    def __str__(self) -> str:
        return self.path


class UsageKind(models.TextChoices):
    OUTPUT = "output", "Logged (output)"
    INPUT = "input", "Used (input)"


class ArtifactUsage(models.Model):
    """Lineage: a run logged (output) or used (input) an artifact version."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="usages", db_index=False)
    version = models.ForeignKey(ArtifactVersion, on_delete=models.CASCADE, related_name="usages")
    kind = models.CharField(max_length=8, choices=UsageKind)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "version", "kind"], name="artifacts_usage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run} {self.kind} {self.version}"


# --- Naming rules (W&B SDK `_validators.py`), shared by artifacts, collections and the API ---

NAME_MAX = 128
TAG_RE = r"^[-\w]+( +[-\w]+)*$"
METADATA_MAX_KEYS = 100
METADATA_MAX_BYTES = 1024 * 1024


def validate_artifact_name(name: str, field: str = "name") -> str:
    """Artifact and collection names: 1–128 characters, no '/' or ':'."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({field: "A name is required."})
    if len(name) > NAME_MAX:
        raise ValidationError({field: f"Names must be {NAME_MAX} characters or less."})
    check_name_characters(name, field)
    bad = sorted({ch for ch in name if ch in "/:\\"})
    if bad:
        raise ValidationError({field: f"Names cannot contain {' '.join(repr(ch) for ch in bad)}."})
    return name


def validate_artifact_type(type_: str, field: str = "type") -> str:
    """Artifact types: 1–128 characters, no '/' or ':'; the `wandb-` prefix is reserved."""
    type_ = (type_ or "").strip()
    if not type_:
        raise ValidationError({field: "An artifact type is required."})
    if len(type_) > NAME_MAX:
        raise ValidationError({field: f"Artifact types must be {NAME_MAX} characters or less."})
    check_name_characters(type_, field, "Artifact types")
    if "/" in type_ or ":" in type_:
        raise ValidationError({field: "Artifact types cannot contain '/' or ':'."})
    if type_.startswith("wandb-"):
        raise ValidationError({field: "Artifact types starting with 'wandb-' are reserved."})
    return type_


def validate_tag(tag: str, field: str = "tag") -> str:
    """Tags: words of letters, digits, '_' or '-', separated by single spaces."""
    tag = (tag or "").strip()
    if not tag:
        raise ValidationError({field: "A tag cannot be empty."})
    check_name_characters(tag, field, "Tags")
    if len(tag) > NAME_MAX or not re.match(TAG_RE, tag):
        raise ValidationError(
            {field: f"“{tag[:40]}” is not a valid tag: use letters, digits, '_' and '-', words separated by spaces."}
        )
    return tag


TAG_KEY_RE = r"^[\w\-.:/ ]+$"
TAG_VALUE_MAX = 5000
REFERENCE_URI_MAX = 2048


def validate_tag_key(key: str, field: str = "key") -> str:
    """Keys of key/value tags (MLflow's): letters, digits and `_ - . : /` or spaces, at most 128."""
    import re

    from django.core.exceptions import ValidationError

    if not isinstance(key, str) or not key.strip():
        raise ValidationError({field: "A tag key cannot be empty."})
    if len(key) > NAME_MAX or not re.fullmatch(TAG_KEY_RE, key):
        raise ValidationError(
            {field: f"“{key[:40]}” is not a valid tag key: use letters, digits, spaces and '_ - . : /' (at most 128)."}
        )
    return key


def validate_tag_value(value, field: str = "value") -> str:
    """Values of key/value tags: text of at most 5,000 characters."""
    from django.core.exceptions import ValidationError

    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > TAG_VALUE_MAX:
        raise ValidationError({field: f"A tag value is text of at most {TAG_VALUE_MAX:,} characters."})
    return check_text(value, field)


def validate_reference_uri(uri, field: str = "source") -> str:
    """Where a reference version's files live: a URI or path, one line, at most 2,048 characters."""
    from django.core.exceptions import ValidationError

    if not isinstance(uri, str) or not uri.strip():
        raise ValidationError({field: "A source URI is required."})
    if len(uri) > REFERENCE_URI_MAX or any(ord(ch) < 32 for ch in uri):
        raise ValidationError({field: f"A source URI is one line of at most {REFERENCE_URI_MAX:,} characters."})
    return check_text(uri.strip(), field)


def validate_metadata(metadata, field: str = "metadata") -> dict:
    """Metadata: a JSON object with at most 100 top-level keys, ≤ 1 MB, no infinities, no NUL anywhere."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationError({field: "Metadata must be a JSON object."})
    if len(metadata) > METADATA_MAX_KEYS:
        raise ValidationError({field: f"Metadata can have at most {METADATA_MAX_KEYS} top-level keys."})

    def clean(value):
        if isinstance(value, float):
            if math.isinf(value):
                raise ValidationError({field: "Metadata cannot contain Infinity."})
            return None if math.isnan(value) else value
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    metadata = check_json(clean(metadata), field)
    if len(json.dumps(metadata)) > METADATA_MAX_BYTES:
        raise ValidationError({field: "Metadata must be 1 MB or smaller as JSON."})
    return metadata


def metadata_change(old: dict, new: dict) -> dict:
    """The audit data of a metadata edit: the top-level keys that changed, before and after.

    Only changed keys (a version's metadata may be 1 MB; an event says what the edit did): `from`
    holds their old values, `to` their new ones; a key missing on one side was added or removed.
    """
    old, new = old or {}, new or {}
    changed = sorted(key for key in old.keys() | new.keys() if old.get(key, _MISSING) != new.get(key, _MISSING))
    return {
        "keys": changed,
        "metadata": {
            "from": {key: old[key] for key in changed if key in old},
            "to": {key: new[key] for key in changed if key in new},
        },
    }


_MISSING = object()


def validate_manifest_path(path: str) -> str:
    """A file path inside an artifact: relative, '/'-separated, no '..' or empty parts."""
    if not isinstance(path, str) or not path:
        raise ValidationError({"path": "A file path is required."})
    if path.startswith("/") or "\\" in path or "\x00" in path or (len(path) > 1 and path[1] == ":"):
        raise ValidationError({"path": f"“{path[:80]}” must be a relative path with '/' separators."})
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValidationError({"path": f"“{path[:80]}” may not contain '..', '.' or empty parts."})
    for part in parts:
        if problem := name_problem(part):  # a file is named like anything else: no bidi tricks
            raise ValidationError({"path": f"“{path[:80]}”: file names {problem}."})
    if len(path) > 1024:
        raise ValidationError({"path": "File paths must be 1024 characters or less."})
    return path


# --- Reads shared by the artifact and registry pages ---

MARKDOWN_EXTENSIONS = ["fenced_code", "tables", "sane_lists"]


def render_markdown(text: str):
    """Markdown to HTML that is safe to embed: rendered, then sanitized with nh3's allow-list."""
    import markdown
    import nh3

    if not text:
        return ""
    return mark_safe(nh3.clean(markdown.markdown(text, extensions=MARKDOWN_EXTENSIONS)))  # noqa: S308


def numeric_metadata(metadata: dict, prefix: str = "") -> dict[str, int | float]:
    """The numbers in a metadata object, nested keys joined with dots (`eval.acc`)."""
    found: dict[str, int | float] = {}
    for key, value in (metadata or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(numeric_metadata(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[name] = value
    return found


LINEAGE_MAX_PER_LEVEL = 100


def lineage(version: ArtifactVersion, depth: int) -> tuple[dict[int, list], set[tuple[str, str]]]:
    """The runs and versions around `version`, `depth` artifact→run→artifact steps each way.

    Returns levels (0 is `version`; negative upstream, positive downstream; odd levels are
    runs) and data-flow edges between node keys (`a<pk>` versions, `r<pk>` runs). Two
    queries per level, whatever the graph's size; each level keeps its first 100 nodes.
    """
    levels: dict[int, list] = {0: [version]}
    edges: set[tuple[str, str]] = set()
    seen = {f"a{version.pk}"}
    for sign in (-1, 1):
        frontier = [version]
        for step in range(depth):
            # Upstream: who logged the frontier, then what those runs used. Downstream: who
            # used the frontier, then what those runs logged.
            to_run, from_run = (UsageKind.OUTPUT, UsageKind.INPUT) if sign < 0 else (UsageKind.INPUT, UsageKind.OUTPUT)
            runs = _lineage_step(
                ArtifactUsage.objects.filter(version__in=frontier, kind=to_run).select_related("run__project__team"),
                "run",
                edges,
                seen,
            )
            if not runs:
                break
            levels[sign * (2 * step + 1)] = runs
            frontier = _lineage_step(
                ArtifactUsage.objects.filter(run__in=runs, kind=from_run)
                .exclude(version__state=VersionState.DELETED)
                .select_related("version__sequence__project__team"),
                "version",
                edges,
                seen,
            )
            if not frontier:
                break
            levels[sign * (2 * step + 2)] = frontier
    return levels, edges


def _lineage_step(usages, field: str, edges: set, seen: set) -> list:
    """Follow usages to their `field` side; record edges in data-flow direction."""
    found = []
    for usage in usages.order_by("pk")[: LINEAGE_MAX_PER_LEVEL * 4]:
        run_key, version_key = f"r{usage.run_id}", f"a{usage.version_id}"
        # Outputs flow run → version; inputs flow version → run.
        edges.add((run_key, version_key) if usage.kind == UsageKind.OUTPUT else (version_key, run_key))
        node = getattr(usage, field)
        key = run_key if field == "run" else version_key
        if key not in seen and len(found) < LINEAGE_MAX_PER_LEVEL:
            seen.add(key)
            found.append(node)
    return found
