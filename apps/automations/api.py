"""API: automations of every scope (collection, registry, team, organization), with webhook or Slack actions,
and a collection's "notify on new version" switch."""

import datetime
from typing import Annotated

from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja import Path as PathParam

from apps.automations import services
from apps.automations.models import (
    AUTOMATION_NAME_MAX,
    Automation,
    AutomationRun,
    EventType,
    RunStatus,
    Scope,
    Webhook,
    managed_teams,
)
from apps.collections.models import find_collection, find_registry
from apps.orgs.models import Organization
from lib.pagination import cursor_page
from lib.schemas import Id, Payload

PathId = Annotated[Id, PathParam()]

router = Router(tags=["automations"])


class ActionOut(Schema):
    kind: str = Field(description="webhook or slack")
    name: str


class AutomationOut(Schema):
    id: int
    name: str
    description: str
    org: str
    scope: str
    registry: str | None
    collection: str | None
    team: str | None
    event_type: str
    alias_regex: str
    action: ActionOut
    enabled: bool
    new_version_notification: bool
    last_run_status: str | None
    finished_runs: int
    failed_runs: int
    created_at: datetime.datetime


class AutomationPage(Schema):
    items: list[AutomationOut]
    next_cursor: str | None


class AutomationIn(Payload):
    org: str | None = Field(None, description="Organization slug, for the organization scope")
    scope: str = Field(description="collection, registry, team or organization")
    registry: str | None = Field(None, description="[<org>/]wandb-registry-<name>, for registry and collection scopes")
    collection: str | None = Field(
        None, description="[<org>/]wandb-registry-<name>/<collection>, for the collection scope"
    )
    team: str | None = Field(None, description="Team name, for the team scope")
    event_type: str
    action: str = Field(description="Name of the organization's webhook or Slack channel")
    name: str = Field(max_length=AUTOMATION_NAME_MAX)
    description: str = Field("", max_length=10_000)
    alias_regex: str = Field("", max_length=255)
    payload_template: str | None = Field(None, max_length=100_000, description="JSON template (webhooks)")
    rate_limit_per_minute: int | None = Field(None, ge=1, le=1_000_000)
    cooldown_seconds: int = Field(0, ge=0, le=10_000_000)
    enabled: bool = True


class NotifyIn(Payload):
    enabled: bool
    action: str | None = Field(None, description="Webhook or Slack channel name (when enabling)")


class NotifyOut(Schema):
    enabled: bool
    automation: AutomationOut | None


def _rows(user):
    runs = AutomationRun.objects.filter(automation=OuterRef("pk"))

    def count(status):
        counted = runs.filter(status=status).order_by().values("automation").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted), 0)

    return (
        Automation.objects.visible_to(user)
        .select_related("org", "registry", "collection", "team", "webhook")
        .annotate(
            last_run_status=Subquery(runs.order_by("-id").values("status")[:1]),
            finished_runs=count(RunStatus.FINISHED),
            failed_runs=count(RunStatus.FAILED),
        )
    )


def automation_out(automation: Automation) -> dict:
    return {
        "id": automation.pk,
        "name": automation.name,
        "description": automation.description,
        "org": automation.org.slug,
        "scope": automation.scope,
        "registry": automation.registry.full_name if automation.registry else None,
        "collection": automation.collection.name if automation.collection else None,
        "team": automation.team.name if automation.team else None,
        "event_type": automation.event_type,
        "alias_regex": automation.alias_regex,
        "action": {"kind": automation.webhook.kind, "name": automation.webhook.name},
        "enabled": automation.enabled,
        "new_version_notification": automation.is_new_version_notification,
        "last_run_status": getattr(automation, "last_run_status", None),
        "finished_runs": getattr(automation, "finished_runs", 0),
        "failed_runs": getattr(automation, "failed_runs", 0),
        "created_at": automation.created_at,
    }


def _fresh(user, automation: Automation) -> dict:
    return automation_out(_rows(user).get(pk=automation.pk))


def _action(user, org: Organization, name: str | None) -> Webhook:
    webhook = Webhook.objects.visible_to(user).filter(org=org, name__iexact=(name or "").strip()).first()
    if webhook is None:
        raise ValidationError({"action": f"{org.slug} has no webhook or Slack channel named “{(name or '')[:64]}”."})
    return webhook


def _registry(user, path: str | None):
    org, slash, name = (path or "").partition("/")
    registry = find_registry(user, org if slash else None, name if slash else org)
    if registry is None:
        raise Http404(f"No registry “{(path or '')[:200]}” that you can see.")
    return registry


def _collection(user, path: str | None):
    collection = find_collection(user, path or "")
    if collection is None:
        raise Http404(f"No collection “{(path or '')[:200]}” that you can see.")
    return collection


@router.get("/automations", response=AutomationPage)
def automation_list(
    request: HttpRequest,
    org: str | None = None,
    scope: str | None = None,
    cursor: str | None = None,
    per_page: int = 50,
):
    """Automations you may see (newest first): of your organizations' registries you can view, your teams,
    and (org admins) the organizations'."""
    rows = _rows(request.user)
    if org:
        rows = rows.filter(org__slug=org)
    if scope:
        if scope not in Scope.values:
            raise ValidationError({"scope": f"Use one of {', '.join(Scope.values)}."})
        rows = rows.filter(scope=scope)
    items, next_cursor = cursor_page(rows, order="-created_at", cursor=cursor, per_page=per_page)
    return {"items": [automation_out(a) for a in items], "next_cursor": next_cursor}


@router.post("/automations", response={201: AutomationOut})
def automation_create(request: HttpRequest, payload: AutomationIn):
    user = request.user
    scope = {}
    collection = None
    # Exactly the field the scope names: a stray one is a client mistake, not something to ignore.
    targets = {"collection": payload.collection, "registry": payload.registry, "team": payload.team, "org": payload.org}
    wanted = {Scope.COLLECTION: "collection", Scope.REGISTRY: "registry", Scope.TEAM: "team"}.get(payload.scope, "org")
    stray = [name for name, value in targets.items() if value is not None and name != wanted]
    if stray:
        raise ValidationError({"scope": f"A {payload.scope[:20]} automation takes “{wanted}”, not {', '.join(stray)}."})
    if payload.scope == Scope.COLLECTION:
        collection = _collection(user, payload.collection)
        scope["registry"] = collection.registry
    elif payload.scope == Scope.REGISTRY:
        scope["registry"] = _registry(user, payload.registry)
    elif payload.scope == Scope.TEAM:
        team = managed_teams(user).filter(name__iexact=(payload.team or "").strip()).select_related("org").first()
        if team is None:
            raise Http404(f"No team “{(payload.team or '')[:64]}” whose automations you manage.")
        scope["team"] = team
    elif payload.scope == Scope.ORGANIZATION:
        scope["org"] = get_object_or_404(Organization.objects.visible_to(user), slug=payload.org or "")
    else:
        raise ValidationError({"scope": f"Use one of {', '.join(Scope.values)}."})
    org = next(iter(scope.values())).org if "org" not in scope else scope["org"]
    if payload.event_type not in EventType.values:
        raise ValidationError({"event_type": f"Use one of {', '.join(EventType.values)}."})
    automation = services.create_automation(
        actor=user,
        **scope,
        collection=collection,
        name=payload.name,
        description=payload.description,
        event_type=payload.event_type,
        alias_regex=payload.alias_regex,
        webhook=_action(user, org, payload.action),
        payload_template=payload.payload_template,
        rate_limit_per_minute=payload.rate_limit_per_minute,
        cooldown_seconds=payload.cooldown_seconds,
        enabled=payload.enabled,
    )
    return Status(201, _fresh(user, automation))


@router.delete("/automations/{automation_id}", response={204: None})
def automation_delete(request: HttpRequest, automation_id: PathId):
    automation = _rows(request.user).filter(pk=automation_id).first()
    if automation is None:
        raise Http404("No automation with that id that you can see.")
    services.delete_automation(actor=request.user, automation=automation)
    return Status(204, None)


@router.put("/collections/notify", response=NotifyOut)
def collection_notify(request: HttpRequest, path: str, payload: NotifyIn):
    """Turn a collection's "notify on new version" on (to a Slack channel or webhook) or off."""
    collection = _collection(request.user, path)
    action = _action(request.user, collection.registry.org, payload.action) if payload.enabled else None
    automation = services.set_new_version_notification(
        actor=request.user, collection=collection, action=action, enabled=payload.enabled
    )
    return {"enabled": automation is not None, "automation": _fresh(request.user, automation) if automation else None}
