"""Every change to secrets, webhooks, automations and their runs; and the audit-event subscriber."""

import base64
import datetime
import re
from functools import partial

from django.core.exceptions import ValidationError
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
    METADATA_PREFIX,
    Automation,
    AutomationRun,
    EventType,
    RunStatus,
    Secret,
    Webhook,
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
)
from apps.collections.models import Collection
from apps.orgs.models import Organization
from apps.orgs.permissions import require
from apps.registries.models import Registry
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
        org=automation.registry.org,
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
    users = Webhook.objects.filter(Q(access_token=secret) | Q(signing_secret=secret)).values_list("name", flat=True)
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
    name = " ".join((name or "").split())
    if not name or len(name) > 64:
        raise ValidationError({"name": "Webhook names are 1–64 characters."})
    check_name_characters(name, "name", "Webhook names")
    try:
        webhook_name_validator(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from error
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
    webhook.full_clean(exclude=["org", "access_token", "signing_secret", "created_by"], validate_unique=False)
    resolve_public_addresses(webhook.url)
    if existing := lookalike(name, Webhook.objects.filter(org=org)):
        raise ValidationError({"name": f"A webhook named “{existing}” already exists."})
    webhook.save()
    _org_audit(actor, org, Action.WEBHOOK_CREATE, webhook, {"name": name, "url": webhook.url})
    return webhook


@transaction.atomic
def delete_webhook(*, actor, webhook: Webhook) -> None:
    """Delete a webhook no automation uses."""
    _require_org_admin(actor, webhook.org)
    users = list(webhook.automations.values_list("name", flat=True))
    if users:
        raise ValidationError(f"Webhook “{webhook.name}” is used by automation(s): {', '.join(sorted(users))}.")
    _org_audit(actor, webhook.org, Action.WEBHOOK_DELETE, webhook, {"name": webhook.name, "url": webhook.url})
    webhook.delete()


def send_test_webhook(*, actor, webhook: Webhook, payload: str = "") -> Response:
    """POST a test payload (not saved) now and return the endpoint's answer."""
    _require_org_admin(actor, webhook.org)
    template = payload.strip() or TEST_PAYLOAD
    values = sample_values({"entity_name": webhook.org.slug, "event_author": actor.get_username()})
    _check_template(template, webhook, "payload")
    body, _masked, headers = build_request(webhook, template, values)
    # The request goes out before the audit row's transaction: never hold a transaction over the network.
    response = post_json(webhook.url, body, headers)
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


def _clean_automation(registry: Registry, fields: dict) -> dict:
    """Validate an automation's fields against its registry; return them cleaned."""
    name = " ".join((fields.get("name") or "").split())
    if not name:
        raise ValidationError({"name": "An automation needs a name."})
    if len(name) > AUTOMATION_NAME_MAX:
        raise ValidationError({"name": f"Automation names must be {AUTOMATION_NAME_MAX} characters or less."})
    check_name_characters(name, "name", "Automation names")
    event_type = fields.get("event_type")
    if event_type not in EventType.values:
        raise ValidationError({"event_type": "Pick an event."})
    alias_regex = check_text((fields.get("alias_regex") or "").strip(), "alias_regex")
    if alias_regex and event_type != EventType.ADD_ARTIFACT_ALIAS:
        raise ValidationError({"alias_regex": "An alias regex applies only to “An artifact alias is added”."})
    if alias_regex:
        if len(alias_regex) > 255:
            raise ValidationError({"alias_regex": "Alias regexes must be 255 characters or less."})
        try:
            re.compile(alias_regex)
        except re.error as error:
            raise ValidationError({"alias_regex": f"Not a valid regular expression: {error}."}) from error
    collection = fields.get("collection")
    if collection is not None and collection.registry_id != registry.pk:
        raise ValidationError({"collection": "Pick a collection of this registry."})
    webhook = fields.get("webhook")
    if webhook is None or webhook.org_id != registry.org_id:
        raise ValidationError({"webhook": "Pick a webhook of this organization."})
    template = _check_template(fields.get("payload_template", DEFAULT_PAYLOAD), webhook)
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


def _check_unique_name(registry: Registry, name: str, exclude_pk: int | None = None) -> None:
    if existing := lookalike(name, Automation.objects.filter(registry=registry).exclude(pk=exclude_pk)):
        raise ValidationError({"name": f"An automation named “{existing}” already exists in {registry.name}."})


@transaction.atomic
def create_automation(*, actor, registry: Registry, enabled: bool = True, **fields) -> Automation:
    """Create an automation in a registry (registry Members and Admins)."""
    require(actor, "registries.write_registry", registry)
    cleaned = _clean_automation(registry, fields)
    _check_unique_name(registry, cleaned["name"])
    automation = Automation.objects.create(registry=registry, enabled=enabled, created_by=actor, **cleaned)
    _keep_has_automations(registry)
    _automation_audit(actor, automation, Action.AUTOMATION_CREATE, _snapshot(automation))
    return automation


def _keep_has_automations(registry: Registry) -> None:
    """Set `Registry.has_automations` from the rows (in the caller's transaction), on the row and on
    `registry`: collections' events skip the subscriber when it is false. Every service that adds or
    removes an automation calls this."""
    Registry.objects.filter(pk=registry.pk).update(
        has_automations=Exists(Automation.objects.filter(registry=OuterRef("pk")))
    )
    registry.has_automations = Automation.objects.filter(registry=registry.pk).exists()


def _snapshot(automation: Automation) -> dict:
    return {
        "name": automation.name,
        "event_type": automation.event_type,
        "alias_regex": automation.alias_regex,
        "collection": automation.collection.name if automation.collection else None,
        "webhook": automation.webhook.name,
        "enabled": automation.enabled,
        "rate_limit_per_minute": automation.rate_limit_per_minute,
        "cooldown_seconds": automation.cooldown_seconds,
    }


@transaction.atomic
def update_automation(*, actor, automation: Automation, **fields) -> Automation:
    """Change an automation's event, filter, scope, webhook, payload or limits (fields not given stay)."""
    require(actor, "registries.write_registry", automation.registry)
    current = {field: getattr(automation, field) for field in EDITABLE_FIELDS}
    cleaned = _clean_automation(automation.registry, {**current, **fields})
    _check_unique_name(automation.registry, cleaned["name"], exclude_pk=automation.pk)
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
    require(actor, "registries.write_registry", automation.registry)
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
    require(actor, "registries.write_registry", automation.registry)
    _automation_audit(actor, automation, Action.AUTOMATION_DELETE, _snapshot(automation))
    automation.delete()
    _keep_has_automations(automation.registry)


@transaction.atomic
def replay_run(*, actor, run: AutomationRun) -> AutomationRun:
    """Send a run's event again through its automation's current webhook and payload, as a new run."""
    automation = run.automation
    require(actor, "registries.write_registry", automation.registry)
    replay = AutomationRun.objects.create(
        automation=automation,
        registry_id=automation.registry_id,
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
    """The payload variables of an event (2 queries). Metadata is read when sending, by `version_pk`."""
    collection = (
        Collection.objects.select_related("registry").filter(pk=event.collection_pk).first()
        if event.collection_pk
        else None
    )
    registry = collection.registry if collection else None
    version = (
        ArtifactVersion.objects.select_related("sequence__project").filter(pk=event.version_pk).first()
        if event.version_pk
        else None
    )
    label = str(event.data.get("version") or "") if version else ""
    index = int(label[1:]) if re.fullmatch(r"v\d+", label) else ""
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
        "artifact_version_string": _version_string(event.org_slug, registry, collection, label),
        "artifact_version_index": index,
        "entity_name": event.org_slug,
        "project_name": version.sequence.project.name if version else "",
        "version_pk": version.pk if version else None,
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


def queue_runs_for_event(event: AuditEvent) -> list[AutomationRun]:
    """Create a run for every enabled automation the committed event matches, and queue its delivery.

    Called after the event's transaction commits. One query, and no transaction, for events no automation
    listens to.
    """
    event_type = EVENT_TYPE_FOR_ACTION.get(event.action)
    if event_type is None or event.registry_pk is None:
        return []
    # Read first, without a transaction: most events match nothing and must not take SQLite's write lock.
    candidates = [
        automation.pk
        for automation in Automation.objects.filter(enabled=True, event_type=event_type, registry_id=event.registry_pk)
        .filter(Q(collection__isnull=True) | Q(collection_id=event.collection_pk))
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
                registry_id=automation.registry_id,
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
