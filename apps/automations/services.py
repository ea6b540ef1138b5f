"""Every change to secrets, webhooks, automations and their runs; and the audit-event subscriber."""

import base64
import datetime
import re
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.artifacts.models import ArtifactVersion
from apps.audit.models import Action, AuditEvent
from apps.audit.services import record
from apps.automations.models import (
    ACCESS_TOKEN,
    AUTOMATION_NAME_MAX,
    DEFAULT_PAYLOAD,
    EVENT_TYPE_FOR_ACTION,
    EVENT_VARIABLES,
    EVENTS_FOR_SCOPE,
    METADATA_PREFIX,
    Automation,
    AutomationRun,
    EventType,
    RunStatus,
    Scope,
    Secret,
    Webhook,
    WebhookKind,
    managed_teams,
    render_payload,
    secret_name_validator,
    template_variables,
    webhook_name_validator,
)
from apps.automations.tasks import (
    Response,
    build_request,
    enqueue_delivery,
    is_json,
    post_json,
    resolve_public_addresses,
    sample_values,
    target_url,
)
from apps.collections.models import Collection, Link
from apps.orgs.models import Organization, Team
from apps.orgs.permissions import require
from apps.registries.models import Registry, Visibility
from lib.names import check_name_characters, lookalike
from lib.text import check_text

SECRET_VALUE_MAX = 10_000
PAYLOAD_MAX = 100_000
TEST_PAYLOAD = '{"event_type": "TEST", "message": "Test from Registry", "entity_name": "${entity_name}"}'


def _require_org_admin(actor, org: Organization) -> None:
    require(actor, "orgs.admin_organization", org)


def _org_audit(actor, org: Organization, action: Action, target, data: dict) -> None:
    record(actor=actor, org=org, action=action, target=target, data=data)


def _automation_audit(actor, automation: Automation, action: Action, data: dict) -> None:
    record(
        actor=actor,
        org=automation.org,
        action=action,
        target=automation,
        data=data,
        registry_pk=automation.registry_id,
        collection_pk=automation.collection_id,
    )


# --- secrets ------------------------------------------------------------------------------------


def _clean_secret_value(value: str) -> str:
    if not value:
        raise ValidationError({"value": "Enter the secret's value."})
    if len(value) > SECRET_VALUE_MAX:
        raise ValidationError({"value": f"Secret values must be {SECRET_VALUE_MAX:,} characters or less."})
    return value


@transaction.atomic
def create_secret(*, actor, org: Organization, name: str, value: str) -> Secret:
    """Store a new organization secret, encrypted. Its value is never shown again."""
    _require_org_admin(actor, org)
    name = (name or "").strip()
    try:
        secret_name_validator(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from error
    if len(name) > 64:
        raise ValidationError({"name": "Secret names must be 64 characters or less."})
    if name == ACCESS_TOKEN:
        raise ValidationError(
            {"name": "ACCESS_TOKEN is the payload variable of a webhook's access token; pick another name."}
        )
    if Secret.objects.filter(org=org, name=name).exists():
        raise ValidationError({"name": f"A secret named {name} already exists."})
    secret = Secret(org=org, name=name, created_by=actor)
    secret.set_value(_clean_secret_value(value))
    secret.save()
    _org_audit(actor, org, Action.SECRET_CREATE, secret, {"name": name})
    return secret


@transaction.atomic
def update_secret(*, actor, secret: Secret, value: str) -> Secret:
    """Replace a secret's value (webhooks using it sign and authenticate with the new one)."""
    _require_org_admin(actor, secret.org)
    secret.set_value(_clean_secret_value(value))
    secret.save(update_fields=["ciphertext", "updated_at"])
    _org_audit(actor, secret.org, Action.SECRET_UPDATE, secret, {"name": secret.name})
    return secret


@transaction.atomic
def delete_secret(*, actor, secret: Secret) -> None:
    """Delete a secret no webhook uses."""
    _require_org_admin(actor, secret.org)
    users = Webhook.objects.filter(
        Q(access_token=secret) | Q(signing_secret=secret) | Q(url_secret=secret)
    ).values_list("name", flat=True)
    if users:
        raise ValidationError(f"Secret {secret.name} is used by webhook(s): {', '.join(sorted(users))}.")
    _org_audit(actor, secret.org, Action.SECRET_DELETE, secret, {"name": secret.name})
    secret.delete()


# --- webhooks -----------------------------------------------------------------------------------


@transaction.atomic
def create_webhook(
    *,
    actor,
    org: Organization,
    name: str,
    url: str,
    access_token: Secret | None = None,
    signing_secret: Secret | None = None,
) -> Webhook:
    """Register an endpoint that automations may POST to. Its URL must resolve to public addresses."""
    _require_org_admin(actor, org)
    name = _clean_webhook_name(org, name)
    if not (url or "").strip():
        raise ValidationError({"url": "Enter the endpoint URL."})
    for field, secret in [("access_token", access_token), ("signing_secret", signing_secret)]:
        if secret is not None and secret.org_id != org.pk:
            raise ValidationError({field: "Pick a secret of this organization."})
    if access_token is not None and access_token == signing_secret:
        raise ValidationError({"signing_secret": "Use different secrets for the access token and the signature."})
    webhook = Webhook(
        org=org,
        name=name,
        url=(url or "").strip(),
        access_token=access_token,
        signing_secret=signing_secret,
        created_by=actor,
    )
    webhook.full_clean(
        exclude=["org", "access_token", "signing_secret", "url_secret", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    resolve_public_addresses(webhook.url)
    webhook.save()
    _org_audit(actor, org, Action.WEBHOOK_CREATE, webhook, {"name": name, "url": webhook.url})
    return webhook


def _clean_webhook_name(org: Organization, name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 64:
        raise ValidationError({"name": "Webhook names are 1–64 characters."})
    check_name_characters(name, "name", "Webhook names")
    try:
        webhook_name_validator(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from error
    if existing := lookalike(name, Webhook.objects.filter(org=org)):
        raise ValidationError({"name": f"A webhook or Slack channel named “{existing}” already exists."})
    return name


def _slack_secret_name(org: Organization, name: str) -> str:
    """SLACK_<NAME>, made unique among the org's secrets."""
    base = "SLACK_" + (re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "CHANNEL")
    base = base[:56]
    taken = set(Secret.objects.filter(org=org, name__startswith=base).values_list("name", flat=True))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


@transaction.atomic
def create_slack_channel(*, actor, org: Organization, name: str, url: str, site_url: str = "") -> Webhook:
    """Connect a Slack channel through its incoming-webhook URL, which is kept encrypted as an org secret.

    `site_url` is where links in its messages point when settings.SITE_URL is unset (the creating request's).
    """
    _require_org_admin(actor, org)
    name = _clean_webhook_name(org, name)
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": "Paste the channel's incoming-webhook URL (https://hooks.slack.com/services/…)."})
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as error:
        raise ValidationError({"url": "Enter a valid URL."}) from error
    if len(url) > SECRET_VALUE_MAX:
        raise ValidationError({"url": "The URL is too long."})
    resolve_public_addresses(url)
    secret = Secret(org=org, name=_slack_secret_name(org, name), created_by=actor)
    secret.set_value(url)
    secret.save()
    webhook = Webhook.objects.create(
        org=org,
        kind=WebhookKind.SLACK,
        name=name,
        url="",
        url_secret=secret,
        site_url=(site_url or "")[:500],
        created_by=actor,
    )
    # One event: the secret exists only for this channel and is deleted with it.
    _org_audit(actor, org, Action.WEBHOOK_CREATE, webhook, {"name": name, "kind": "slack", "secret": secret.name})
    return webhook


@transaction.atomic
def delete_webhook(*, actor, webhook: Webhook) -> None:
    """Delete a webhook no automation uses."""
    _require_org_admin(actor, webhook.org)
    users = list(webhook.automations.values_list("name", flat=True))
    if users:
        raise ValidationError(f"Webhook “{webhook.name}” is used by automation(s): {', '.join(sorted(users))}.")
    _org_audit(
        actor,
        webhook.org,
        Action.WEBHOOK_DELETE,
        webhook,
        {"name": webhook.name, "kind": webhook.kind, "url": webhook.url},
    )
    url_secret = webhook.url_secret
    webhook.delete()
    if url_secret is not None:  # a Slack channel's URL: nothing else may use it
        url_secret.delete()


def send_test_webhook(*, actor, webhook: Webhook, payload: str = "") -> Response:
    """POST a test payload (not saved) now and return the endpoint's answer."""
    _require_org_admin(actor, webhook.org)
    template = payload.strip() or TEST_PAYLOAD
    values = sample_values({"entity_name": webhook.org.slug, "event_author": actor.get_username()})
    if not webhook.is_slack:
        _check_template(template, webhook, "payload")
    body, _masked, headers = build_request(webhook, template, values)
    # The request goes out before the audit row's transaction: never hold a transaction over the network.
    response = post_json(target_url(webhook), body, headers)
    with transaction.atomic():
        _org_audit(
            actor,
            webhook.org,
            Action.WEBHOOK_TEST,
            webhook,
            {"name": webhook.name, "status": response.status, "error": response.error},
        )
    return response


# --- automations --------------------------------------------------------------------------------


def _check_template(template: str, webhook: Webhook, field: str = "payload_template") -> str:
    """The template uses known variables only and is valid JSON once filled in."""
    if len(template) > PAYLOAD_MAX:
        raise ValidationError({field: f"Payloads must be {PAYLOAD_MAX:,} characters or less."})
    secrets = {}
    if webhook.access_token_id:
        secrets[ACCESS_TOKEN] = "sample-token"
    if webhook.signing_secret_id:
        secrets[webhook.signing_secret.name] = "sample-secret"
    for name in template_variables(template):
        if name in EVENT_VARIABLES or name in secrets or name.startswith(METADATA_PREFIX):
            continue
        if name == ACCESS_TOKEN:
            raise ValidationError({field: f"${{{name}}} needs a webhook with an access token."})
        raise ValidationError(
            {
                field: f"Unknown variable ${{{name}}}. Use {', '.join('${' + v + '}' for v in EVENT_VARIABLES)}, "
                "${artifact_metadata.KEY}, or the webhook's secrets (${ACCESS_TOKEN}, ${SECRET_NAME})."
            }
        )
    if not is_json(render_payload(template, sample_values(secrets))):
        raise ValidationError({field: "The payload must be valid JSON (check quotes and commas)."})
    return template


EDITABLE_FIELDS = [
    "name",
    "description",
    "event_type",
    "alias_regex",
    "collection",
    "webhook",
    "payload_template",
    "rate_limit_per_minute",
    "cooldown_seconds",
]


def _clean_automation(scope: Scope, org: Organization, registry: Registry | None, fields: dict) -> dict:
    """Validate an automation's fields against its scope; return them cleaned."""
    name = " ".join((fields.get("name") or "").split())
    if not name:
        raise ValidationError({"name": "An automation needs a name."})
    if len(name) > AUTOMATION_NAME_MAX:
        raise ValidationError({"name": f"Automation names must be {AUTOMATION_NAME_MAX} characters or less."})
    check_name_characters(name, "name", "Automation names")
    event_type = fields.get("event_type")
    if event_type not in EventType.values:
        raise ValidationError({"event_type": "Pick an event."})
    if event_type not in EVENTS_FOR_SCOPE[scope]:
        allowed = ", ".join(f"“{EventType(e).label}”" for e in EVENTS_FOR_SCOPE[scope])
        raise ValidationError({"event_type": f"A {Scope(scope).label.lower()} automation can watch {allowed}."})
    alias_regex = check_text((fields.get("alias_regex") or "").strip(), "alias_regex")
    if alias_regex and event_type != EventType.ADD_ARTIFACT_ALIAS:
        raise ValidationError({"alias_regex": "An alias regex applies only to “An artifact alias is added”."})
    if alias_regex:
        if alias_regex not in (".", ".."):  # aliases hold no control or invisible characters: nor may their regex
            check_name_characters(alias_regex, "alias_regex", "Alias regexes")
        if len(alias_regex) > 255:
            raise ValidationError({"alias_regex": "Alias regexes must be 255 characters or less."})
        try:
            re.compile(alias_regex)
        except re.error as error:
            raise ValidationError({"alias_regex": f"Not a valid regular expression: {error}."}) from error
    collection = fields.get("collection")
    if collection is not None and (registry is None or collection.registry_id != registry.pk):
        raise ValidationError({"collection": "Pick a collection of this registry."})
    webhook = fields.get("webhook")
    if webhook is None or webhook.org_id != org.pk:
        raise ValidationError({"webhook": "Pick a webhook or Slack channel of this organization."})
    # Slack gets a Block Kit message; a payload template does not apply.
    template = "" if webhook.is_slack else _check_template(fields.get("payload_template") or DEFAULT_PAYLOAD, webhook)
    rate_limit = fields.get("rate_limit_per_minute")
    cooldown = fields.get("cooldown_seconds") or 0
    if rate_limit is not None and rate_limit < 1:
        raise ValidationError({"rate_limit_per_minute": "Leave it empty for no limit, or allow at least 1."})
    if cooldown < 0:
        raise ValidationError({"cooldown_seconds": "The cooldown cannot be negative."})
    return {
        "name": name,
        "description": check_text((fields.get("description") or "").strip(), "description"),
        "event_type": event_type,
        "alias_regex": alias_regex,
        "collection": collection,
        "webhook": webhook,
        "payload_template": template,
        "rate_limit_per_minute": rate_limit,
        "cooldown_seconds": cooldown,
    }


def _check_unique_name(org: Organization, registry: Registry | None, name: str, exclude_pk: int | None = None) -> None:
    """Registry automations are unique per registry; team and organization ones per organization."""
    siblings = (
        Automation.objects.filter(registry=registry)
        if registry
        else Automation.objects.filter(org=org, registry__isnull=True)
    )
    if existing := lookalike(name, siblings.exclude(pk=exclude_pk)):
        where = registry.name if registry else org.slug
        raise ValidationError({"name": f"An automation named “{existing}” already exists in {where}."})


def require_manage(actor, *, org: Organization, registry: Registry | None = None, team: Team | None = None) -> None:
    """Who manages automations of a scope: registry Members and Admins for a registry and its collections;
    the team's members (not org viewers) and org admins for a team; org admins for the organization."""
    if registry is not None:
        require(actor, "registries.write_registry", registry)
    elif team is not None:
        if not managed_teams(actor).filter(pk=team.pk).exists():
            raise PermissionDenied("Only the team's members and organization admins manage its automations.")
    else:
        _require_org_admin(actor, org)


def _require_manage_automation(actor, automation: Automation) -> None:
    require_manage(actor, org=automation.org, registry=automation.registry, team=automation.team)


@transaction.atomic
def create_automation(
    *,
    actor,
    registry: Registry | None = None,
    team: Team | None = None,
    org: Organization | None = None,
    enabled: bool = True,
    **fields,
) -> Automation:
    """Create an automation for a registry (or one collection of it: `collection=`), a team's projects, or
    a whole organization: give exactly one of `registry`, `team`, `org`."""
    if sum(x is not None for x in (registry, team, org)) != 1:
        raise ValidationError("Give one scope: a registry (optionally a collection), a team, or an organization.")
    org = registry.org if registry else team.org if team else org
    require_manage(actor, org=org, registry=registry, team=team)
    if registry is not None:
        scope = Scope.COLLECTION if fields.get("collection") is not None else Scope.REGISTRY
    else:
        scope = Scope.TEAM if team is not None else Scope.ORGANIZATION
        if fields.get("collection") is not None:
            raise ValidationError({"collection": "Only a registry automation can watch one collection."})
    cleaned = _clean_automation(scope, org, registry, fields)
    _check_unique_name(org, registry, cleaned["name"])
    automation = Automation.objects.create(
        org=org, scope=scope, registry=registry, team=team, enabled=enabled, created_by=actor, **cleaned
    )
    _keep_has_automations(org, registry)
    _automation_audit(actor, automation, Action.AUTOMATION_CREATE, _snapshot(automation))
    return automation


def _keep_has_automations(org: Organization, registry: Registry | None = None) -> None:
    """Set `Registry.has_automations` and `Organization.has_automations` from the rows (in the caller's
    transaction), on the rows, on `org` and on `registry`: collections' events skip the subscriber when
    their registry's flag is false, commits in projects when their org's is. Every service that adds or
    removes an automation calls this. Organization and team automations watch every registry of the org,
    so while one exists every registry of the org is flagged (new registries too: see the subscriber)."""
    registries = Registry.objects.filter(pk=registry.pk) if registry is not None else Registry.objects.filter(org=org)
    org.has_automations = Automation.objects.filter(org=org, registry__isnull=True).exists()
    Organization.objects.filter(pk=org.pk).update(has_automations=org.has_automations)
    if org.has_automations:
        registries.update(has_automations=True)
    else:
        registries.update(has_automations=Exists(Automation.objects.filter(registry=OuterRef("pk"))))
    if registry is not None:
        registry.has_automations = Registry.objects.filter(pk=registry.pk).values_list("has_automations", flat=True)[0]


def _snapshot(automation: Automation) -> dict:
    return {
        "name": automation.name,
        "scope": automation.scope,
        "registry": automation.registry.name if automation.registry else None,
        "team": automation.team.name if automation.team else None,
        "event_type": automation.event_type,
        "alias_regex": automation.alias_regex,
        "collection": automation.collection.name if automation.collection else None,
        "action": automation.webhook.kind,
        "webhook": automation.webhook.name,
        "enabled": automation.enabled,
        "rate_limit_per_minute": automation.rate_limit_per_minute,
        "cooldown_seconds": automation.cooldown_seconds,
    }


@transaction.atomic
def update_automation(*, actor, automation: Automation, **fields) -> Automation:
    """Change an automation's event, filter, webhook, payload or limits, or a registry automation's collection
    (fields not given stay)."""
    _require_manage_automation(actor, automation)
    current = {field: getattr(automation, field) for field in EDITABLE_FIELDS}
    merged = {**current, **fields}
    if automation.registry_id:
        automation.scope = Scope.COLLECTION if merged.get("collection") is not None else Scope.REGISTRY
    elif merged.get("collection") is not None:
        raise ValidationError({"collection": "Only a registry automation can watch one collection."})
    cleaned = _clean_automation(automation.scope, automation.org, automation.registry, merged)
    _check_unique_name(automation.org, automation.registry, cleaned["name"], exclude_pk=automation.pk)
    before = _snapshot(automation)
    old_template = automation.payload_template
    for field, value in cleaned.items():
        setattr(automation, field, value)
    automation.save()
    after = _snapshot(automation)
    changes = {key: {"from": before[key], "to": after[key]} for key in after if before[key] != after[key]}
    if old_template != automation.payload_template:
        changes["payload_template"] = {"from": old_template, "to": automation.payload_template}
    _automation_audit(actor, automation, Action.AUTOMATION_UPDATE, {"name": automation.name, **changes})
    return automation


@transaction.atomic
def set_automation_enabled(*, actor, automation: Automation, enabled: bool) -> Automation:
    """Turn an automation on or off."""
    _require_manage_automation(actor, automation)
    if automation.enabled != enabled:
        automation.enabled = enabled
        automation.save(update_fields=["enabled", "updated_at"])
        _automation_audit(
            actor,
            automation,
            Action.AUTOMATION_UPDATE,
            {"name": automation.name, "enabled": {"from": not enabled, "to": enabled}},
        )
    return automation


@transaction.atomic
def delete_automation(*, actor, automation: Automation) -> None:
    """Delete an automation and its history."""
    _require_manage_automation(actor, automation)
    _automation_audit(actor, automation, Action.AUTOMATION_DELETE, _snapshot(automation))
    automation.delete()
    _keep_has_automations(automation.org, automation.registry)


@transaction.atomic
def replay_run(*, actor, run: AutomationRun) -> AutomationRun:
    """Send a run's event again through its automation's current webhook and payload, as a new run."""
    automation = run.automation
    _require_manage_automation(actor, automation)
    replay = AutomationRun.objects.create(
        automation=automation,
        registry_id=run.registry_id,
        event_id=run.event_id,
        replay_of=run,
        replayed_by=actor,
        variables=run.variables,
    )
    _automation_audit(actor, automation, Action.AUTOMATION_REPLAY, {"name": automation.name, "run": run.pk})
    transaction.on_commit(partial(enqueue_delivery, replay.pk))
    return replay


# --- the audit-event subscriber -------------------------------------------------------------------


def _version_string(org_slug: str, registry: Registry | None, collection: Collection | None, label: str) -> str:
    if registry is None or collection is None or not label:
        return ""
    return f"{org_slug}/{registry.full_name}/{collection.name}:{label}"


def event_variables(event: AuditEvent, event_type: EventType) -> dict:
    """The payload variables of an event (2 queries). Metadata is read when sending, by `version_pk`.

    Also `registry_name`, `version_url` (a path: the version's page) and `registry_pk`, for Slack messages
    and the run's registry; they are not payload variables.
    """
    collection = (
        Collection.objects.select_related("registry").filter(pk=event.collection_pk).first()
        if event.collection_pk
        else None
    )
    registry = collection.registry if collection else None
    version = (
        ArtifactVersion.objects.select_related("sequence__project__team").filter(pk=event.version_pk).first()
        if event.version_pk
        else None
    )
    label = str(event.data.get("version") or "") if version else ""
    index = int(label[1:]) if re.fullmatch(r"v\d+", label) else ""
    version_string = _version_string(event.org_slug, registry, collection, label)
    version_url = ""
    if collection is not None and index != "":
        version_url = Link(collection=collection, index=index).get_absolute_url()
    elif version is not None and collection is None and version.index is not None:  # a source version
        project = version.sequence.project
        version_string = f"{project.team.name}/{project.name}/{version.sequence.name}:{version.version_label}"
        version_url = version.get_absolute_url()
    return {
        "event_type": str(event_type),
        "event_author": event.actor_username,
        "alias": str(event.data.get("alias") or ""),
        "tag": str(event.data.get("tag") or ""),
        "artifact_collection_name": collection.name if collection else "",
        "artifact_version": (
            "wandb-artifact://_id/" + base64.b64encode(f"ArtifactVersion:{version.pk}".encode()).decode()
            if version
            else ""
        ),
        "artifact_version_string": version_string,
        "artifact_version_index": index,
        "entity_name": event.org_slug,
        "project_name": version.sequence.project.name if version else "",
        "version_pk": version.pk if version else None,
        "registry_pk": registry.pk if registry else None,
        "registry_name": registry.name if registry else "",
        "version_url": version_url,
    }


def _throttled(automation: Automation, now: datetime.datetime) -> str:
    """Why the automation must skip this event (rate limit, cooldown), or ''."""
    fired = automation.runs.filter(status__in=[RunStatus.PENDING, RunStatus.FINISHED, RunStatus.FAILED])
    if automation.rate_limit_per_minute:
        recent = fired.filter(created_at__gt=now - datetime.timedelta(minutes=1)).count()
        if recent >= automation.rate_limit_per_minute:
            return f"Rate limit: {recent} runs in the last minute (limit {automation.rate_limit_per_minute})."
    if automation.cooldown_seconds:
        since = now - datetime.timedelta(seconds=automation.cooldown_seconds)
        last = (
            fired.filter(status__in=[RunStatus.PENDING, RunStatus.FINISHED], created_at__gt=since)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if last is not None:
            ago = (now - last).total_seconds()
            return f"Cooldown: the last run fired {ago:.0f} s ago (cooldown {automation.cooldown_seconds} s)."
    return ""


def _scopes_of(event: AuditEvent, event_type: EventType) -> Q:
    """The automations whose scope holds the event (all in one SQL condition)."""
    scopes = Q(scope=Scope.ORGANIZATION, org_id=event.org_id)
    if event.registry_pk is not None:
        scopes |= Q(registry_id=event.registry_pk) & (Q(collection__isnull=True) | Q(collection_id=event.collection_pk))
    if event.version_pk is not None and event_type in (EventType.CREATE_ARTIFACT, EventType.LINK_ARTIFACT):
        # A team's projects: versions created there, and links of them into registries.
        owner = ArtifactVersion.objects.filter(pk=event.version_pk).values("sequence__project__team_id")
        team = Q(scope=Scope.TEAM, team_id__in=owner)
        if event.registry_pk is not None:
            # SECURITY: a team's automation never reports on a restricted registry (its members may not see it).
            team &= Exists(Registry.objects.filter(pk=event.registry_pk, visibility=Visibility.ORGANIZATION))
        scopes |= team
    return scopes


def queue_runs_for_event(event: AuditEvent) -> list[AutomationRun]:
    """Create a run for every enabled automation the committed event matches, and queue its delivery.

    Called after the event's transaction commits. One query, and no transaction, for events no automation
    listens to.
    """
    if event.action == Action.REGISTRY_CREATE and event.registry_pk is not None:
        # A new registry of an org with organization or team automations is watched from its start.
        if Automation.objects.filter(org_id=event.org_id, registry__isnull=True).exists():
            Registry.objects.filter(pk=event.registry_pk).update(has_automations=True)
        return []
    event_type = EVENT_TYPE_FOR_ACTION.get(event.action)
    if event_type is None or event.org_id is None:
        return []
    # Read first, without a transaction: most events match nothing and must not take SQLite's write lock.
    candidates = [
        automation.pk
        for automation in Automation.objects.filter(enabled=True, event_type=event_type)
        .filter(_scopes_of(event, event_type))
        .only("pk", "event_type", "alias_regex")
        .order_by()
        if automation.matches(event)
    ]
    if not candidates:
        return []
    with transaction.atomic():
        # Lock the matching automations: concurrent events queue here, so rate limits and cooldowns hold.
        automations = list(
            Automation.objects.select_for_update().filter(pk__in=candidates, enabled=True).order_by("pk")
        )
        variables = event_variables(event, event_type)
        now = timezone.now()
        runs = []
        for automation in automations:
            reason = _throttled(automation, now)
            run = AutomationRun.objects.create(
                automation=automation,
                registry_id=variables["registry_pk"] or automation.registry_id,
                event=event,
                variables=variables,
                status=RunStatus.SKIPPED if reason else RunStatus.PENDING,
                error=reason,
                finished_at=now if reason else None,
            )
            if not reason:
                transaction.on_commit(partial(enqueue_delivery, run.pk))
            runs.append(run)
    return runs


# --- the collection's "notify on new version" switch ---------------------------------------------


def new_version_notification(collection: Collection) -> Automation | None:
    """The collection's "notify on new version" automation, if it has one."""
    return (
        Automation.objects.filter(collection=collection, is_new_version_notification=True)
        .select_related("webhook")
        .first()
    )


@transaction.atomic
def set_new_version_notification(
    *, actor, collection: Collection, action: Webhook | None = None, enabled: bool
) -> Automation | None:
    """Turn a collection's "notify on new version" on (a "new version linked" automation sending to `action`,
    a Slack channel or a webhook) or off (the automation is deleted). Registry Members and Admins.

    What the legacy Model Registry's "New model version linked" toggle did; it calls this too.
    One audit event: automation:create, :update or :delete (none when nothing changes).
    """
    registry = collection.registry
    require(actor, "registries.write_registry", registry)
    # Lock the collection's switch (ordered by pk: the default order would join the nullable registry, which
    # PostgreSQL cannot lock).
    current = (
        Automation.objects.select_for_update(of=("self",))
        .filter(collection=collection, is_new_version_notification=True)
        .order_by("pk")
        .first()
    )
    if not enabled:
        if current is not None:
            current.registry = registry
            delete_automation(actor=actor, automation=current)
        return None
    if action is None or action.org_id != registry.org_id:
        raise ValidationError({"action": "Pick a Slack channel or webhook of this organization."})
    if current is None:
        name = f"New version in {collection.name}"
        if lookalike(name, Automation.objects.filter(registry=registry)):
            name = f"{name} ({collection.pk})"
        automation = create_automation(
            actor=actor,
            registry=registry,
            collection=collection,
            name=name,
            description="Sends a notification when a new version is linked to this collection.",
            event_type=EventType.LINK_ARTIFACT,
            webhook=action,
        )
        automation.is_new_version_notification = True
        automation.save(update_fields=["is_new_version_notification"])
        return automation
    if current.webhook_id == action.pk and current.enabled:
        return current
    before = {"webhook": current.webhook.name, "enabled": current.enabled}
    current.webhook = action
    current.enabled = True
    if action.is_slack:
        current.payload_template = ""
    elif not current.payload_template:
        current.payload_template = DEFAULT_PAYLOAD
    current.save(update_fields=["webhook", "enabled", "payload_template", "updated_at"])
    current.registry = registry
    after = {"webhook": action.name, "enabled": True}
    changes = {key: {"from": before[key], "to": after[key]} for key in after if before[key] != after[key]}
    _automation_audit(actor, current, Action.AUTOMATION_UPDATE, {"name": current.name, **changes})
    return current
