"""The append-only audit log: one event per state change, written by services."""

import json

from django.conf import settings
from django.db import models
from django.db.models import Q

from lib.pagination import keyset_page


class Action(models.TextChoices):
    """What happened. `<object>:<verb>`, as in W&B's audit log."""

    ORG_CREATE = "organization:create"
    ORG_ADD_MEMBER = "organization:add_member"
    ORG_REMOVE_MEMBER = "organization:remove_member"
    ORG_UPDATE_MEMBER = "organization:update_member"
    ORG_DELETE = "organization:delete"
    TEAM_CREATE = "team:create"
    TEAM_ADD_MEMBER = "team:add_member"
    TEAM_REMOVE_MEMBER = "team:remove_member"
    TEAM_UPDATE_MEMBER = "team:update_member"
    TEAM_DELETE = "team:delete"
    INVITATION_CREATE = "invitation:create"
    INVITATION_REVOKE = "invitation:revoke"
    SERVICE_ACCOUNT_CREATE = "service_account:create"
    SERVICE_ACCOUNT_DEACTIVATE = "service_account:deactivate"
    PROJECT_CREATE = "project:create"
    PROJECT_DELETE = "project:delete"
    RUN_CREATE = "run:create"
    RUN_USE_ARTIFACT = "run:use_artifact"
    ARTIFACT_CREATE = "artifact:create"
    ARTIFACT_COMMIT = "artifact:commit"
    ARTIFACT_DELETE_PENDING = "artifact:delete_pending"
    ARTIFACT_DELETE = "artifact:delete"
    ARTIFACT_RESTORE = "artifact:restore"
    ARTIFACT_PURGE = "artifact:purge"
    BLOB_DELETE = "blob:delete"
    STORAGE_CLEANUP = "storage:cleanup"
    REGISTRY_CREATE = "registry:create"
    REGISTRY_RENAME = "registry:rename"
    REGISTRY_UPDATE = "registry:update"
    REGISTRY_VISIBILITY = "registry:update_visibility"
    REGISTRY_ADD_TYPES = "registry:add_types"
    REGISTRY_DELETE = "registry:delete"
    REGISTRY_SET_OWNER = "registry:set_owner"
    REGISTRY_STAR = "registry:star"
    REGISTRY_UNSTAR = "registry:unstar"
    ROLE_CREATE = "role:create"
    ROLE_UPDATE = "role:update"
    ROLE_DELETE = "role:delete"
    PROTECTED_ALIAS_CREATE = "protected_alias:create"
    PROTECTED_ALIAS_DELETE = "protected_alias:delete"
    COLLECTION_CREATE = "collection:create"
    COLLECTION_UPDATE = "collection:update"
    COLLECTION_RENAME = "collection:rename"
    COLLECTION_DELETE = "collection:delete"
    COLLECTION_LINK = "collection:link"
    COLLECTION_UNLINK = "collection:unlink"
    COLLECTION_ADD_TAG = "collection:add_tag"
    COLLECTION_REMOVE_TAG = "collection:remove_tag"
    ALIAS_ADD = "alias:add"
    ALIAS_REMOVE = "alias:remove"
    VERSION_ADD_TAG = "version:add_tag"
    VERSION_REMOVE_TAG = "version:remove_tag"
    VERSION_UPDATE = "version:update"
    API_KEY_CREATE = "api_key:create"
    API_KEY_REVOKE = "api_key:revoke"
    SECRET_CREATE = "secret:create"
    SECRET_UPDATE = "secret:update"
    SECRET_DELETE = "secret:delete"
    WEBHOOK_CREATE = "webhook:create"
    WEBHOOK_DELETE = "webhook:delete"
    WEBHOOK_TEST = "webhook:test"
    AUTOMATION_CREATE = "automation:create"
    AUTOMATION_UPDATE = "automation:update"
    AUTOMATION_DELETE = "automation:delete"
    AUTOMATION_REPLAY = "automation:replay"
    # A personal display choice (legacy banner), recorded as a preference rather than a change to shared data.
    PREFERENCE_UPDATE = "preference:update"
    LEGACY_MIGRATE = "legacy_registry:migrate"
    USER_LOCKOUT = "user:lockout"


class AuditEventQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AuditEventQuerySet":
        """Events `user` may read as a whole log: every event of the organizations they administer.

        Registry, collection and version histories are narrower: their pages first find the
        registry (or version) through its own `visible_to`, then read `for_registry` and the like.
        """
        organizations = self.model._meta.get_field("org").related_model.objects  # audit imports no app
        return self.filter(org__in=organizations.administered_by(user).values("pk"))

    def for_registry(self, registry_pk: int) -> "AuditEventQuerySet":
        """Events about one registry or anything inside it."""
        return self.filter(registry_pk=registry_pk)

    def for_collection(self, collection_pk: int) -> "AuditEventQuerySet":
        """Events about one collection or its links."""
        return self.filter(collection_pk=collection_pk)

    def newest_first(self) -> "AuditEventQuerySet":
        return self.order_by("-created_at", "-id")

    def matching(
        self,
        *,
        actor: str = "",
        action: str = "",
        target: str = "",
        start=None,
        end=None,
    ) -> "AuditEventQuerySet":
        """Filter by actor username, action (exact, or `registry:` for a prefix), target text and time range."""
        qs = self
        if actor:
            qs = qs.filter(actor_username__iexact=actor)
        if action:
            qs = qs.filter(action__startswith=action) if action.endswith(":") else qs.filter(action=action)
        if target:
            qs = qs.filter(target_repr__icontains=target)
        if start is not None:
            qs = qs.filter(created_at__gte=start)
        if end is not None:
            qs = qs.filter(created_at__lt=end)
        return qs

    def page(self, before: int | None, size: int) -> tuple[list["AuditEvent"], int | None]:
        """Keyset page, newest first: events with id < `before`. Returns (events, next cursor)."""
        page = keyset_page(self, order=("-id",), size=size, after=(before,) if before else None)
        return page.rows, page.next[0] if page.next else None


class AuditEvent(models.Model):
    """Something that changed, who changed it and from where. Never updated or deleted."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    # How the actor acted: "web", "api-key:<name>", "admin", "system".
    actor_detail = models.CharField(max_length=200, blank=True)
    actor_ip = models.GenericIPAddressField(null=True, blank=True)
    # The request that made the change (its X-Request-ID, also in the request's log line); empty outside requests.
    request_id = models.CharField(max_length=128, blank=True, default="")
    org = models.ForeignKey(
        "orgs.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    org_slug = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, choices=Action, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=500, blank=True)
    # Plain numbers, not foreign keys: the event outlives what it talks about.
    registry_pk = models.BigIntegerField(null=True, blank=True)
    collection_pk = models.BigIntegerField(null=True, blank=True)
    version_pk = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Lists read these newest first, scanning them backwards, always for one registry, collection, version or
        # organization. Ascending, a new event goes at the end of its registry's (…) entries, where the B-tree
        # appends; descending, it went at their start, where pages split and rebalance more often. And events
        # about no registry (collection, version) are left out of that index: one create-and-link call's three
        # events then change one page of each index, not two or three (docs/performance.md, "Audit indexes").
        indexes = [
            models.Index(
                fields=["registry_pk", "created_at"],
                name="audit_registry_at_idx",
                condition=Q(registry_pk__isnull=False),
            ),
            # The registry's audit page and export read newest first by id (keyset on id): with only
            # the index above, SQLite sorted all of a registry's events (21,000 at company size) per page.
            models.Index(
                fields=["registry_pk", "id"], name="audit_registry_id_idx", condition=Q(registry_pk__isnull=False)
            ),
            # History lists read newest first by (created_at, id): with the id in the index PostgreSQL reads
            # one collection's page off it; without, it walked created_at backwards past every other
            # collection's events (20 ms per page of the 20,000-version collection at company size).
            models.Index(
                fields=["collection_pk", "created_at", "id"],
                name="audit_collection_at_idx",
                condition=Q(collection_pk__isnull=False),
            ),
            models.Index(
                fields=["version_pk", "created_at", "id"],
                name="audit_version_at_idx",
                condition=Q(version_pk__isnull=False),
            ),
            models.Index(fields=["org", "created_at"], name="audit_org_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username or 'system'} {self.action} {self.target_repr}"

    def save(self, *args, **kwargs):
        # SECURITY: the log is append-only; an existing row is never rewritten.
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit events are append-only")

    def describe(self) -> str:
        """One line of a History list: what this event did, in words."""
        data = self.data or {}
        version = data.get("version", "")
        match self.action:
            case Action.COLLECTION_LINK:
                return f"linked {version} (source {data.get('source', '?')})"
            case Action.COLLECTION_UNLINK:
                return f"unlinked {version} (source {data.get('source', '?')})"
            case Action.ALIAS_ADD:
                moved = f", moving it from {data['moved_from']}" if data.get("moved_from") else ""
                return f"added alias “{data.get('alias')}” to {version}{moved}"
            case Action.ALIAS_REMOVE:
                return f"removed alias “{data.get('alias')}” from {version}"
            case Action.COLLECTION_ADD_TAG:
                return f"tagged the collection “{data.get('tag')}”"
            case Action.COLLECTION_REMOVE_TAG:
                return f"removed the collection tag “{data.get('tag')}”"
            case Action.VERSION_ADD_TAG:
                return f"tagged {version} “{data.get('tag')}”"
            case Action.VERSION_REMOVE_TAG:
                return f"removed tag “{data.get('tag')}” from {version}"
            case Action.COLLECTION_UPDATE:
                return "edited the description"
            case Action.VERSION_UPDATE:
                if "metadata" in data:
                    keys = ", ".join(data.get("keys") or [])
                    return f"edited the metadata of {version}" + (f" ({keys})" if keys else "")
                if "ttl" in data:
                    return f"set the time-to-live of {version or self.target_repr} to {data['ttl'].get('to') or 'none'}"
                return f"edited the description of {version}"
            case Action.COLLECTION_CREATE:
                return f"created the collection ({data.get('type', '')})"
            case Action.COLLECTION_RENAME:
                return f"renamed the collection from “{data.get('from')}” to “{data.get('to')}”"
            case Action.ARTIFACT_CREATE:
                files = data.get("files", 0)
                return f"logged {data.get('name', 'the artifact')} with {files} file{'' if files == 1 else 's'}"
            case Action.ARTIFACT_COMMIT:
                return f"committed {self.target_repr}"
            case Action.RUN_USE_ARTIFACT:
                return f"used it in run {self.target_repr}"
            case Action.ARTIFACT_DELETE:
                why = " (its time-to-live ran out)" if data.get("reason") == "ttl" else ""
                return f"deleted {self.target_repr}{why}"
            case Action.ARTIFACT_RESTORE:
                return f"restored {self.target_repr}"
            case Action.ARTIFACT_PURGE:
                return f"released the files of deleted {self.target_repr} ({data.get('files', 0)} files)"
            case Action.ARTIFACT_DELETE_PENDING:
                return f"removed {self.target_repr}, never committed ({data.get('files', 0)} files)"
        return f"{self.get_action_display()} {self.target_repr}"

    def details(self) -> list[dict]:
        """The event's data as readable items for the audit tables: `{"label", "value"}` facts and
        `{"label", "before", "after"}` changes (never Python's dict text). Empty facts are left out."""
        data = dict(self.data or {})
        items = []
        if "from" in data or "to" in data:  # the event's own change: role, name, visibility, owner
            items.append(_change("", data.pop("from", None), data.pop("to", None)))
        moved_from = data.pop("moved_from", None)
        for key, value in data.items():
            if isinstance(value, dict) and ("from" in value or "to" in value):
                items.append(_change(key, value.get("from"), value.get("to")))
            elif value not in (None, "", [], {}):
                items.append({"label": key.replace("_", " "), "value": _text(value)})
        if moved_from:  # an alias taken from another version
            items.append(_change("moved", moved_from, data.get("version")))
        return items

    def as_wandb(self, anonymize: bool = False) -> dict:
        """This event in the shape of W&B's audit log entries (spec §5), plus our registry fields."""
        return {
            "timestamp": self.created_at.isoformat().replace("+00:00", "Z"),
            "action": self.action,
            "actor_user_id": None if anonymize else self.actor_id,
            "actor_email": None if anonymize else (self.actor.email if self.actor_id and self.actor else None),
            "actor_username": "anonymous" if anonymize else self.actor_username,
            "actor_ip": None if anonymize else self.actor_ip,
            "actor_detail": self.actor_detail,
            "entity_name": self.org_slug,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "artifact_qualified_name": self.target_repr,
            "registry_id": self.registry_pk,
            "collection_id": self.collection_pk,
            "artifact_id": self.version_pk,
            "response_code": 200,
            "data": self.data,
        }


DETAIL_MAX = 80  # characters of one value in a table cell; the exports keep everything


def _text(value) -> str:
    """A value as a short line: lists comma-joined, nested objects as compact JSON, long text cut."""
    if isinstance(value, list | tuple):
        text = ", ".join(_text(item) for item in value)
    elif isinstance(value, dict):
        text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False, default=str)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


def _change(label: str, before, after) -> dict:
    """One before → after item; a missing side reads "none"."""
    return {
        "label": label.replace("_", " "),
        "before": "none" if before in (None, "") else _text(before),
        "after": "none" if after in (None, "") else _text(after),
    }
