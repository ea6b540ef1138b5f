"""API: registries (search, create, settings, delete), their members and stars."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Concat
from django.http import Http404, HttpRequest
from guardian.core import ObjectPermissionChecker
from ninja import Field, Router, Schema, Status

from apps.orgs.models import Organization
from apps.orgs.permissions import effective_role, require
from apps.registries import services
from apps.registries.models import (
    Registry,
    Visibility,
    find_principal,
    registry_members,
)
from lib.filters import Field as FilterField
from lib.filters import apply_filter, check_order, parse_json_param, time_limited_search
from lib.pagination import cursor_page
from lib.paths import REGISTRY_PREFIX, strip_registry_prefix
from lib.schemas import Payload

REGISTRY_FIELDS = {
    "id": FilterField("pk", "int"),
    "name": FilterField(
        "name",
        clean=strip_registry_prefix,
        regex_on=lambda: Concat(Value(REGISTRY_PREFIX), "name", output_field=CharField()),
    ),
    "description": FilterField("description"),
    "visibility": FilterField("visibility"),
    "created_at": FilterField("created_at", "datetime"),
    "updated_at": FilterField("updated_at", "datetime"),
}

router = Router(tags=["registries"])


class RegistryOut(Schema):
    id: int
    org: str
    name: str
    full_name: str
    description: str
    visibility: str
    allow_all_types: bool
    artifact_types: list[str]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    role: str | None


class RegistryPage(Schema):
    items: list[RegistryOut]
    next_cursor: str | None


class RegistryIn(Payload):
    org: str
    name: str
    description: str | None = Field(None, max_length=10_000)
    visibility: str | None = None
    artifact_types: list[str] | None = None


class RegistryPatch(Payload):
    name: str | None = None
    description: str | None = Field(None, max_length=10_000)
    visibility: str | None = None
    artifact_types: list[str] | None = Field(None, description="Types to add (types are never removed).")
    owner: str | None = Field(None, description="Username of the new owner.")


class MemberOut(Schema):
    user: str | None
    team: str | None
    role: str
    service_account: bool = Field(False, description="Extension: the user is a service account.")


class MemberIn(Payload):
    user: str | None = Field(None, description="A member's username, or their email address.")
    team: str | None = None
    role: str | None = Field(
        None, description="Default: restricted_viewer for people and teams, member for service accounts."
    )


def registry_out(registry: Registry, role: str | None) -> dict:
    return {
        "id": registry.pk,
        "org": registry.org.slug,
        "name": registry.name,
        "full_name": registry.full_name,
        "description": registry.description,
        "visibility": registry.visibility,
        "allow_all_types": registry.allow_all_types,
        "artifact_types": registry.artifact_types,
        "created_at": registry.created_at,
        "updated_at": registry.updated_at,
        "role": role,
    }


def get_registry(user, org: str, name: str) -> Registry:
    """The registry `user` sees by org slug and name (prefix optional); 404 when invisible."""
    name = strip_registry_prefix(name)
    registries = Registry.objects.visible_to(user).filter(org__slug=org).select_related("org")
    # A name the registry had before a rename resolves when no registry holds it now.
    registry = (
        registries.filter(name__iexact=name).first() or registries.filter(former_names__name__iexact=name).first()
    )
    if registry is None:
        raise Http404(f"No registry “{name[:120]}” in “{org[:64]}” that you can see.")
    return registry


def visible_registries(user, org: str | None, filter_json: str | None, param: str = "filter"):
    """Registries the user sees, narrowed by org and a W&B filter (used by collection and version search)."""
    registries = Registry.objects.visible_to(user)
    if org:
        registries = registries.filter(org__slug=org)
    return apply_filter(registries, parse_json_param(filter_json, param), REGISTRY_FIELDS, "registry")


@router.get("/registries", response=RegistryPage)
def registry_list(
    request: HttpRequest,
    org: str | None = None,
    filter: str | None = None,
    order: str | None = None,
    cursor: str | None = None,
    per_page: int = 50,
):
    registries = visible_registries(request.user, org, filter).select_related("org")
    with time_limited_search(filter):
        rows, next_cursor = cursor_page(registries, order=check_order(order, "name"), cursor=cursor, per_page=per_page)
    checker = ObjectPermissionChecker(request.user)
    checker.prefetch_perms(rows)
    items = [registry_out(r, effective_role(request.user, r, checker)) for r in rows]
    return {"items": items, "next_cursor": next_cursor}


@router.post("/registries", response={201: RegistryOut})
def registry_create(request: HttpRequest, payload: RegistryIn):
    org = Organization.objects.visible_to(request.user).filter(slug=payload.org).first()
    if org is None:
        raise Http404(f"No organization “{payload.org[:64]}” that you belong to.")
    registry = services.create_registry(
        actor=request.user,
        org=org,
        name=strip_registry_prefix(payload.name),
        description=payload.description or "",
        visibility=payload.visibility or Visibility.ORGANIZATION,
        artifact_types=payload.artifact_types,
    )
    return Status(201, registry_out(registry, effective_role(request.user, registry)))


@router.get("/registries/{org}/{name}", response=RegistryOut)
def registry_detail(request: HttpRequest, org: str, name: str):
    registry = get_registry(request.user, org, name)
    return registry_out(registry, effective_role(request.user, registry))


@router.patch("/registries/{org}/{name}", response=RegistryOut)
def registry_update(request: HttpRequest, org: str, name: str, payload: RegistryPatch):
    """Change settings; all of them or none (one transaction)."""
    registry = get_registry(request.user, org, name)
    user = request.user
    with transaction.atomic():
        if payload.name is not None and payload.name != registry.name:
            services.rename_registry(actor=user, registry=registry, name=strip_registry_prefix(payload.name))
        if payload.description is not None and payload.description != registry.description:
            services.update_registry_description(actor=user, registry=registry, description=payload.description)
        if payload.visibility is not None:
            services.change_registry_visibility(actor=user, registry=registry, visibility=payload.visibility)
        if payload.artifact_types:
            services.add_registry_types(actor=user, registry=registry, artifact_types=payload.artifact_types)
        if payload.owner is not None:
            owner = get_user_model().objects.filter(username=payload.owner).first()
            if owner is None:
                raise ValidationError({"owner": f"No user named “{payload.owner[:150]}”."})
            services.set_registry_owner(actor=user, registry=registry, user=owner)
    return registry_out(registry, effective_role(user, registry))


@router.delete("/registries/{org}/{name}", response={204: None})
def registry_delete(request: HttpRequest, org: str, name: str):
    registry = get_registry(request.user, org, name)
    # The API caller names the registry in the URL: that is the confirmation the UI asks for.
    services.delete_registry(actor=request.user, registry=registry, confirm_name=registry.name)
    return Status(204, None)


# --- Members ---


@router.get("/registries/{org}/{name}/members", response=list[MemberOut])
def member_list(request: HttpRequest, org: str, name: str):
    """Users and teams holding a role of their own on the registry (org-wide access not listed)."""
    registry = get_registry(request.user, org, name)
    return [
        {"user": row.name if row.kind == "user" else None, "team": row.name if row.kind == "team" else None,
         "role": row.role, "service_account": row.is_service_account}
        for row in registry_members(registry)
        if row.role
    ]  # fmt: skip


def _principal(registry: Registry, user: str | None, team: str | None):
    if bool(user) == bool(team):
        raise ValidationError({"principal": "Name exactly one of “user” or “team”."})
    return find_principal(registry.org, "user" if user else "team", user or team)


@router.put("/registries/{org}/{name}/members", response=list[MemberOut])
def member_set(request: HttpRequest, org: str, name: str, payload: MemberIn):
    registry = get_registry(request.user, org, name)
    require(request.user, "registries.admin_registry", registry)
    principal = _principal(registry, payload.user, payload.team)
    services.grant_registry_role(actor=request.user, registry=registry, principal=principal, role=payload.role)
    return member_list(request, org, name)


@router.delete("/registries/{org}/{name}/members", response={204: None})
def member_remove(request: HttpRequest, org: str, name: str, user: str | None = None, team: str | None = None):
    registry = get_registry(request.user, org, name)
    require(request.user, "registries.admin_registry", registry)
    services.revoke_registry_role(actor=request.user, registry=registry, principal=_principal(registry, user, team))
    return Status(204, None)


# --- Protected aliases ---


class ProtectedAliasIn(Payload):
    alias: str


@router.get("/registries/{org}/{name}/protected-aliases", response=list[str])
def protected_alias_list(request: HttpRequest, org: str, name: str):
    """Aliases only registry admins may apply or remove (e.g. `production`)."""
    return sorted(get_registry(request.user, org, name).protected_alias_names())


@router.post("/registries/{org}/{name}/protected-aliases", response={201: list[str]})
def protected_alias_add(request: HttpRequest, org: str, name: str, payload: ProtectedAliasIn):
    registry = get_registry(request.user, org, name)
    services.declare_protected_alias(actor=request.user, registry=registry, alias=payload.alias)
    return Status(201, sorted(registry.protected_alias_names()))


@router.delete("/registries/{org}/{name}/protected-aliases", response=list[str])
def protected_alias_remove(request: HttpRequest, org: str, name: str, alias: str):
    """Stop protecting an alias; versions that hold it keep it as an ordinary alias."""
    registry = get_registry(request.user, org, name)
    services.remove_protected_alias(actor=request.user, registry=registry, alias=alias)
    return sorted(registry.protected_alias_names())


# --- Stars ---


@router.put("/registries/{org}/{name}/star", response={204: None})
def star(request: HttpRequest, org: str, name: str):
    services.star_registry(actor=request.user, registry=get_registry(request.user, org, name))
    return Status(204, None)


@router.delete("/registries/{org}/{name}/star", response={204: None})
def unstar(request: HttpRequest, org: str, name: str):
    services.unstar_registry(actor=request.user, registry=get_registry(request.user, org, name))
    return Status(204, None)
