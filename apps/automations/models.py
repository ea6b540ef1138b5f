"""Automations: when something happens in a registry, POST a JSON payload to a webhook or a Slack channel.

Scopes, as W&B's: one collection, one registry (and its future collections), a team's projects, or the
whole organization. An automation subscribes to committed audit events (the audit event is the domain event). Each
firing is an `AutomationRun`, delivered by a background task (`manage.py db_worker`).
"""

import base64
import json
import re
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.collections.models import Collection
from apps.orgs.models import Organization, OrgRole, Team
from apps.registries.models import Registry

# W&B's limits and patterns (wandb/automations): webhook names ≤ 64, automation names ≤ 255.
WEBHOOK_NAME_MAX = 64
AUTOMATION_NAME_MAX = 255
RESPONSE_EXCERPT_MAX = 2048

secret_name_validator = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$", "Use capital letters, digits and underscores, not starting with a digit (e.g. GITHUB_TOKEN)."
)
webhook_name_validator = RegexValidator(
    r"^[-\w]+([ ]+[-\w]+)*$", "Use letters, digits, '-' and '_', with single words separated by spaces."
)


# --- secrets at rest ----------------------------------------------------------------------------


def _fernet_key(secret_key: str) -> bytes:
    """A Fernet key derived from a Django SECRET_KEY (HKDF-SHA256, bound to this purpose)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"registry.automations.secret").derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    """Encrypt with SECRET_KEY; also decrypt with SECRET_KEY_FALLBACKS, so keys can be rotated."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


class SecretQuerySet(models.QuerySet):
    def visible_to(self, user) -> "SecretQuerySet":
        """Secrets (names only; values are never shown) of the organizations `user` belongs to."""
        return self.filter(org__in=Organization.objects.visible_to(user))


class Secret(models.Model):
    """A named secret of an organization (an access token, a signing key), encrypted at rest."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="automation_secrets", db_index=False)
    name = models.CharField(max_length=64, validators=[secret_name_validator])
    # Fernet token over the value; the key is derived from SECRET_KEY, never stored.
    ciphertext = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SecretQuerySet.as_manager()

    class Meta:
        ordering = ["org", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="automations_secret_unique_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    def set_value(self, value: str) -> None:
        self.ciphertext = _fernet().encrypt(value.encode()).decode()

    def reveal(self) -> str:
        """The plain value, for signing and sending only. Never render it."""
        try:
            return _fernet().decrypt(self.ciphertext.encode()).decode()
        except InvalidToken as error:
            raise ValidationError(
                f"Secret {self.name} cannot be decrypted (was SECRET_KEY changed?); enter its value again."
            ) from error


# --- webhooks -----------------------------------------------------------------------------------


class WebhookKind(models.TextChoices):
    """What an automation's action sends: our JSON payload, or a Slack message (Block Kit)."""

    WEBHOOK = "webhook", "Webhook"
    SLACK = "slack", "Slack notification"


class WebhookQuerySet(models.QuerySet):
    def visible_to(self, user) -> "WebhookQuerySet":
        """Webhooks of the organizations `user` belongs to (members pick them for automations)."""
        return self.filter(org__in=Organization.objects.visible_to(user))


class Webhook(models.Model):
    """An organization's HTTP endpoint that automations POST to: a JSON webhook, or a Slack channel.

    A Slack channel's incoming-webhook URL is itself the credential, so it is kept as a `Secret`
    (`url_secret`) and `url` stays empty.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks", db_index=False)
    kind = models.CharField(max_length=16, choices=WebhookKind, default=WebhookKind.WEBHOOK)
    name = models.CharField(max_length=WEBHOOK_NAME_MAX, validators=[webhook_name_validator])
    url = models.URLField("endpoint URL", max_length=2000, blank=True)
    url_secret = models.ForeignKey(
        Secret, null=True, blank=True, on_delete=models.RESTRICT, related_name="+", verbose_name="URL secret"
    )
    # Where links in Slack messages point when settings.SITE_URL is unset (taken from the creating request).
    site_url = models.URLField("site URL", max_length=500, blank=True)
    # Sent as `Authorization: Bearer <value>`; also `${ACCESS_TOKEN}` in payloads.
    access_token = models.ForeignKey(
        Secret, null=True, blank=True, on_delete=models.RESTRICT, related_name="+", verbose_name="access token"
    )
    # Signs each body: X-Registry-Signature / X-Wandb-Signature = base64(HMAC-SHA256(body, value)).
    signing_secret = models.ForeignKey(
        Secret, null=True, blank=True, on_delete=models.RESTRICT, related_name="+", verbose_name="secret"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["org", "name"]
        constraints = [
            models.UniqueConstraint("org", Lower("name"), name="automations_webhook_unique_name_per_org"),
            models.CheckConstraint(
                condition=(models.Q(kind=WebhookKind.WEBHOOK) & ~models.Q(url=""))
                | models.Q(kind=WebhookKind.SLACK, url="", url_secret__isnull=False),
                name="automations_webhook_url_or_slack_secret",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_slack(self) -> bool:
        return self.kind == WebhookKind.SLACK

    @property
    def label(self) -> str:
        """How pickers name it: "Slack: #releases" or "Webhook: ci hook"."""
        return f"{'Slack' if self.is_slack else 'Webhook'}: {self.name}"

    @property
    def host_url(self) -> str:
        """Scheme and host only: paths can carry credentials (Slack-style URLs), so registry users see this."""
        if self.is_slack:
            return "Slack incoming webhook (secret)"
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}" + ("/…" if parts.path.strip("/") or parts.query else "")


# --- automations --------------------------------------------------------------------------------


class EventType(models.TextChoices):
    """W&B's automation event types, each fired by one audit action."""

    LINK_ARTIFACT = "LINK_ARTIFACT", "A new version is linked to a collection"
    ADD_ARTIFACT_ALIAS = "ADD_ARTIFACT_ALIAS", "An artifact alias is added"
    UNLINK_ARTIFACT = "UNLINK_ARTIFACT", "A version is unlinked from a collection"
    ADD_ARTIFACT_TAG = "ADD_ARTIFACT_TAG", "A tag is added to a version"
    REMOVE_ARTIFACT_TAG = "REMOVE_ARTIFACT_TAG", "A tag is removed from a version"
    ADD_COLLECTION_TAG = "ADD_COLLECTION_TAG", "A tag is added to a collection"
    REMOVE_COLLECTION_TAG = "REMOVE_COLLECTION_TAG", "A tag is removed from a collection"
    CREATE_ARTIFACT = "CREATE_ARTIFACT", "A new artifact version is created in a project"


EVENT_TYPE_FOR_ACTION = {
    Action.COLLECTION_LINK: EventType.LINK_ARTIFACT,
    Action.ALIAS_ADD: EventType.ADD_ARTIFACT_ALIAS,
    Action.COLLECTION_UNLINK: EventType.UNLINK_ARTIFACT,
    Action.VERSION_ADD_TAG: EventType.ADD_ARTIFACT_TAG,
    Action.VERSION_REMOVE_TAG: EventType.REMOVE_ARTIFACT_TAG,
    Action.COLLECTION_ADD_TAG: EventType.ADD_COLLECTION_TAG,
    Action.COLLECTION_REMOVE_TAG: EventType.REMOVE_COLLECTION_TAG,
    Action.ARTIFACT_COMMIT: EventType.CREATE_ARTIFACT,
}


class Scope(models.TextChoices):
    """What an automation watches (W&B's scopes; broader ones cover children created later)."""

    COLLECTION = "collection", "Collection"
    REGISTRY = "registry", "Registry"
    TEAM = "team", "Team"
    ORGANIZATION = "organization", "Organization"


# Which events each scope can see. A team's projects hold source versions: versions created there, and
# links of them into (organization-visible) registries. Registries see everything that happens in them;
# the organization sees all of it.
REGISTRY_EVENTS = [event for event in EventType if event != EventType.CREATE_ARTIFACT]
EVENTS_FOR_SCOPE = {
    Scope.COLLECTION: REGISTRY_EVENTS,
    Scope.REGISTRY: REGISTRY_EVENTS,
    Scope.TEAM: [EventType.CREATE_ARTIFACT, EventType.LINK_ARTIFACT],
    Scope.ORGANIZATION: list(EventType),
}

DEFAULT_PAYLOAD = """{
  "event_type": "${event_type}",
  "author": "${event_author}",
  "version": "${artifact_version_string}",
  "collection": "${artifact_collection_name}",
  "alias": "${alias}"
}"""


def managed_teams(user):
    """Teams whose automations `user` may see and manage: their own teams (unless they are an org viewer),
    and every team of the orgs they administer."""
    if not user.is_authenticated:
        return Team.objects.none()
    # SECURITY: one Q per branch, so the team membership and the org role are the user's own rows; org
    # viewers in a team may see its projects but not act for it (as for logging artifacts).
    return Team.objects.filter(
        models.Q(
            memberships__user=user,
            org__memberships__user=user,
            org__memberships__role__in=[OrgRole.ADMIN, OrgRole.MEMBER],
        )
        | models.Q(org__in=Organization.objects.administered_by(user).values("pk"))
    ).distinct()


class AutomationQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AutomationQuerySet":
        """Automations `user` may see: those of the registries they may view, of their teams (or every team
        of an org they administer), and the organization-wide ones of the orgs they administer (those fire
        on events in every registry, restricted ones included)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            models.Q(registry__in=Registry.objects.visible_to(user).values("pk"))
            | models.Q(scope=Scope.TEAM, team__in=managed_teams(user).values("pk"))
            | models.Q(scope=Scope.ORGANIZATION, org__in=Organization.objects.administered_by(user).values("pk"))
        )


class Automation(models.Model):
    """When `event_type` happens in its scope, POST a payload to a webhook or a message to Slack."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="automations", db_index=False)
    scope = models.CharField(max_length=16, choices=Scope, default=Scope.REGISTRY)
    # Set for registry and collection scopes.
    registry = models.ForeignKey(
        Registry, null=True, blank=True, on_delete=models.CASCADE, related_name="automations", db_index=False
    )
    # Set for the collection scope only.
    collection = models.ForeignKey(
        Collection, null=True, blank=True, on_delete=models.CASCADE, related_name="automations"
    )
    # Set for the team scope only.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="automations")
    name = models.CharField(max_length=AUTOMATION_NAME_MAX)
    description = models.TextField(blank=True)
    event_type = models.CharField(max_length=32, choices=EventType)
    alias_regex = models.CharField("alias regex", max_length=255, blank=True)
    webhook = models.ForeignKey(Webhook, on_delete=models.RESTRICT, related_name="automations")
    payload_template = models.TextField(default=DEFAULT_PAYLOAD)
    enabled = models.BooleanField(default=True)
    # The collection's "notify on new version" switch (one per collection), as the legacy registry offered.
    is_new_version_notification = models.BooleanField(default=False)
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    cooldown_seconds = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AutomationQuerySet.as_manager()

    class Meta:
        ordering = ["registry", "name"]
        constraints = [
            models.UniqueConstraint("registry", Lower("name"), name="automations_automation_unique_name_per_registry"),
            models.UniqueConstraint(
                "org",
                Lower("name"),
                condition=models.Q(registry__isnull=True),
                name="automations_automation_unique_name_per_org",
            ),
            models.UniqueConstraint(
                fields=["collection"],
                condition=models.Q(is_new_version_notification=True),
                name="automations_automation_one_notification_per_collection",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    scope=Scope.COLLECTION, registry__isnull=False, collection__isnull=False, team__isnull=True
                )
                | models.Q(scope=Scope.REGISTRY, registry__isnull=False, collection__isnull=True, team__isnull=True)
                | models.Q(scope=Scope.TEAM, registry__isnull=True, collection__isnull=True, team__isnull=False)
                | models.Q(scope=Scope.ORGANIZATION, registry__isnull=True, collection__isnull=True, team__isnull=True),
                name="automations_automation_scope_fields",
            ),
        ]
        indexes = [
            models.Index(fields=["registry", "event_type", "enabled"], name="automation_match_idx"),
            models.Index(fields=["org", "event_type", "enabled"], name="automation_org_match_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        if self.registry_id:
            return reverse("automations:automation_detail", args=[self.org.slug, self.registry.slug, self.pk])
        return reverse("automations:org_automation_detail", args=[self.org.slug, self.pk])

    @property
    def scope_name(self) -> str:
        """What it watches, in words: "collection classifier in Golden Models", "team vision"…"""
        if self.scope == Scope.COLLECTION:
            return f"{self.collection.name} in {self.registry.name}"
        if self.scope == Scope.REGISTRY:
            return f"{self.registry.name} (whole registry)"
        if self.scope == Scope.TEAM:
            return f"team {self.team.name}"
        return f"organization {self.org.slug}"

    def matches(self, event: AuditEvent) -> bool:
        """Whether the event passes this automation's filter (scope and type are matched in SQL)."""
        if self.event_type == EventType.ADD_ARTIFACT_ALIAS and self.alias_regex:
            return re.search(self.alias_regex, str(event.data.get("alias", ""))) is not None
        return True


# --- runs ---------------------------------------------------------------------------------------


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class AutomationRunQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AutomationRunQuerySet":
        """Runs of automations `user` may see, for events in registries they may view (or in no registry:
        a team's source versions)."""
        if not user.is_authenticated:
            return self.none()
        # SECURITY: both conditions: a team automation's run about a restricted registry stays hidden.
        return self.filter(
            models.Q(registry__isnull=True) | models.Q(registry__in=Registry.objects.visible_to(user).values("pk")),
            automation__in=Automation.objects.visible_to(user).values("pk"),
        )

    def newest_first(self) -> "AutomationRunQuerySet":
        return self.order_by("-id")


class AutomationRun(models.Model):
    """One firing of an automation for one event: what was sent, what came back."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs", db_index=False)
    # The event's registry (empty for events outside registries), so a registry's history is one index range scan.
    registry = models.ForeignKey(
        Registry, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+")
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=RunStatus, default=RunStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The payload variables of the event, captured when it fired (no secrets).
    variables = models.JSONField(default=dict)
    # The body as sent, with secret values masked.
    payload = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # first 2 KB
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AutomationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["registry", "-id"], name="automation_run_registry_idx"),
            models.Index(fields=["automation", "-id"], name="automation_run_automation_idx"),
            models.Index(fields=["automation", "status", "created_at"], name="automation_run_throttle_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.automation} #{self.pk} ({self.get_status_display()})"

    @property
    def event_type(self) -> str:
        return self.variables.get("event_type", "")

    @property
    def event_author(self) -> str:
        return self.variables.get("event_author", "")


# --- payload templates --------------------------------------------------------------------------

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[^{}\s\"\\]+)?)\}")
EVENT_VARIABLES = [
    "event_type",
    "event_author",
    "alias",
    "tag",
    "artifact_collection_name",
    "artifact_version",
    "artifact_version_string",
    "artifact_version_index",
    "entity_name",
    "project_name",
    "automation_name",
]
METADATA_PREFIX = "artifact_metadata."
ACCESS_TOKEN = "ACCESS_TOKEN"


def template_variables(template: str) -> list[str]:
    """The `${…}` names a payload template uses, in order, without repeats."""
    return list(dict.fromkeys(VARIABLE.findall(template)))


def _in_string(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False)[1:-1]


def render_payload(template: str, values: dict) -> str:
    """Substitute `${name}` in a JSON template, escaping values so the result stays valid JSON.

    Inside a JSON string a value is inserted as escaped text; outside one (`"n": ${artifact_version_index}`)
    as a JSON value. A variable without a value becomes an empty string. `values` maps names to values;
    `artifact_metadata.KEY` reads `values["artifact_metadata"][KEY]` (top-level keys only).
    """
    metadata = values.get("artifact_metadata") or {}
    out: list[str] = []
    i, in_string = 0, False
    while i < len(template):
        char = template[i]
        if in_string and char == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "$" and (match := VARIABLE.match(template, i)):
            name = match.group(1)
            if name.startswith(METADATA_PREFIX):
                value = metadata.get(name[len(METADATA_PREFIX) :], "")
            else:
                value = values.get(name, "")
            value = "" if value is None else value
            out.append(_in_string(value) if in_string else json.dumps(value, ensure_ascii=False))
            i = match.end()
            continue
        out.append(char)
        i += 1
    return "".join(out)
