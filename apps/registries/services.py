"""Every change to registries: settings, roles, protected aliases, owner and stars."""

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.text import slugify

from apps.artifacts.models import validate_artifact_type
from apps.audit.models import Action
from apps.audit.services import record
from apps.orgs import services as orgs_services
from apps.orgs.models import Membership, Organization, Team, is_service_account
from apps.orgs.permissions import Role, direct_role, grant_role, require, revoke_role
from apps.registries.models import FormerName, ProtectedAlias, Registry, Star, Visibility, validate_registry_name
from lib.names import check_name_characters, check_unique_name, lookalike
from lib.text import check_text

User = get_user_model()

CORE_REGISTRIES = [
    # W&B's names: paths read `wandb-registry-model` / `wandb-registry-dataset` (names match case-insensitively).
    ("Model", "model", "Trained models, promoted with aliases."),
    ("Dataset", "dataset", "Curated datasets for training and evaluation."),
]


def _audit(actor, registry: Registry, action: Action, data: dict | None = None, target=None):
    record(actor=actor, org=registry.org, action=action, target=target or registry, data=data, registry_pk=registry.pk)


# Registry slugs share `/orgs/<org>/registry/<slug>/` with the landing's own pages.
RESERVED_REGISTRY_SLUGS = {"new", "search", "preference", "legacy", "switch"}


def _unique_slug(org: Organization, name: str) -> str:
    base = slugify(name)[:100] or "registry"
    slug, n = base, 2
    while slug in RESERVED_REGISTRY_SLUGS or Registry.objects.filter(org=org, slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _clean_types(types) -> list[str]:
    cleaned = []
    for t in types or []:
        t = validate_artifact_type(t, field="artifact_types")
        if t not in cleaned:
            cleaned.append(t)
    return cleaned


def _clean_description(description: str) -> str:
    description = check_text(description or "", "description")
    if len(description) > 10_000:
        raise ValidationError({"description": "Descriptions must be 10,000 characters or less."})
    return description


def _grant_org_roles(registry: Registry) -> None:
    """Org admins are Admin everywhere; an Organization-visible registry is open to all members."""
    org = registry.org
    grant_role(org.admins_group, Role.ADMIN, registry)
    if registry.visibility == Visibility.ORGANIZATION:
        grant_role(org.members_group, Role.VIEWER, registry)
        grant_role(org.viewers_group, Role.VIEWER, registry)


def create_core_registries(*, actor, org: Organization) -> list[Registry]:
    """Create the core registries of a new organization (create_organization calls this)."""
    created = []
    for name, type_, description in CORE_REGISTRIES:
        registry = Registry.objects.create(
            org=org,
            name=name,
            slug=slugify(name),
            description=description,
            is_core=True,
            visibility=Visibility.ORGANIZATION,
            allow_all_types=False,
            artifact_types=[type_],
            created_by=actor,
        )
        _grant_org_roles(registry)
        _audit(actor, registry, Action.REGISTRY_CREATE, {"name": name, "core": True})
        created.append(registry)
    return created


@transaction.atomic
def create_organization(*, actor, slug: str, name: str) -> Organization:
    """Create an organization with `actor` as its admin, and its core registries (Model, Dataset)."""
    org = orgs_services.create_organization(actor=actor, slug=slug, name=name)
    create_core_registries(actor=actor, org=org)
    return org


@transaction.atomic
def create_registry(
    *,
    actor,
    org: Organization,
    name: str,
    description: str = "",
    visibility: str = Visibility.ORGANIZATION,
    artifact_types: list[str] | None = None,
) -> Registry:
    """Create a custom registry; its creator becomes its Admin. `artifact_types=None` means all types."""
    if not Organization.objects.visible_to(actor).filter(pk=org.pk).exists():
        raise PermissionDenied("You are not a member of this organization.")
    require(actor, "orgs.create_registry", org)
    name = validate_registry_name(name)
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": "Visibility must be organization or restricted."})
    types = None if artifact_types is None else _clean_types(artifact_types)
    if types is not None and not types:
        raise ValidationError({"artifact_types": "Name at least one artifact type, or accept all types."})
    check_unique_name(name, Registry.objects.filter(org=org), what="Registry", scope=org.name)
    registry = Registry.objects.create(
        org=org,
        name=name,
        slug=_unique_slug(org, name),
        description=_clean_description(description),
        visibility=visibility,
        allow_all_types=types is None,
        artifact_types=types or [],
        owner=actor,
        created_by=actor,
    )
    _grant_org_roles(registry)
    grant_role(actor, Role.ADMIN, registry)
    _audit(
        actor,
        registry,
        Action.REGISTRY_CREATE,
        {
            "name": name,
            "visibility": visibility,
            "artifact_types": types or "all",
        },
    )
    return registry


@transaction.atomic
def rename_registry(*, actor, registry: Registry, name: str) -> Registry:
    """Rename a custom registry. Its slug and URLs stay the same, and paths with the old name keep resolving."""
    require(actor, "registries.admin_registry", registry)
    if registry.is_core:
        raise ValidationError({"name": "Core registries cannot be renamed."})
    name = validate_registry_name(name)
    others = Registry.objects.filter(org=registry.org).exclude(pk=registry.pk)
    check_unique_name(name, others, what="Registry", scope=registry.org.name)
    old = registry.name
    registry.name = name
    registry.save(update_fields=["name", "updated_at"])
    if old.lower() != name.lower():
        # The new name is current again if it was a former one; the old name is kept once, newest.
        FormerName.objects.filter(Q(name__iexact=name) | Q(name__iexact=old), registry=registry).delete()
        FormerName.objects.create(registry=registry, name=old)
    _audit(actor, registry, Action.REGISTRY_RENAME, {"from": old, "to": name})
    return registry


@transaction.atomic
def update_registry_description(*, actor, registry: Registry, description: str) -> Registry:
    """Replace a registry's description."""
    require(actor, "registries.admin_registry", registry)
    old = registry.description
    registry.description = _clean_description(description)
    registry.save(update_fields=["description", "updated_at"])
    _audit(actor, registry, Action.REGISTRY_UPDATE, {"description": {"from": old, "to": registry.description}})
    return registry


@transaction.atomic
def change_registry_visibility(*, actor, registry: Registry, visibility: str) -> Registry:
    """Make an Organization registry Restricted (one way only; core registries stay open)."""
    require(actor, "registries.admin_registry", registry)
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": "Visibility must be organization or restricted."})
    if visibility == registry.visibility:
        return registry
    if registry.is_core:
        raise ValidationError({"visibility": "The visibility of a core registry cannot be changed."})
    if visibility == Visibility.ORGANIZATION:
        raise ValidationError({"visibility": "A Restricted registry cannot be made Organization-visible again."})
    registry.visibility = visibility
    registry.save(update_fields=["visibility", "updated_at"])
    # SECURITY: members now need an explicit role; drop the org-wide Viewer grants.
    revoke_role(registry.org.members_group, registry)
    revoke_role(registry.org.viewers_group, registry)
    _audit(actor, registry, Action.REGISTRY_VISIBILITY, {"from": Visibility.ORGANIZATION, "to": visibility})
    return registry


@transaction.atomic
def add_registry_types(*, actor, registry: Registry, artifact_types: list[str]) -> Registry:
    """Add accepted artifact types. Types are never removed once saved."""
    require(actor, "registries.admin_registry", registry)
    if registry.allow_all_types:
        raise ValidationError({"artifact_types": "This registry already accepts all artifact types."})
    new = [t for t in _clean_types(artifact_types) if t not in registry.artifact_types]
    if not new:
        raise ValidationError({"artifact_types": "These types are already accepted."})
    registry.artifact_types = registry.artifact_types + new
    registry.save(update_fields=["artifact_types", "updated_at"])
    _audit(actor, registry, Action.REGISTRY_ADD_TYPES, {"added": new})
    return registry


@transaction.atomic
def delete_registry(*, actor, registry: Registry, confirm_name: str) -> None:
    """Delete a custom registry with its collections and links; source artifacts stay."""
    require(actor, "registries.admin_registry", registry)
    if registry.is_core:
        raise ValidationError("Core registries cannot be deleted.")
    if (confirm_name or "").strip() != registry.name:
        raise ValidationError({"confirm_name": f"Type “{registry.name}” to confirm."})
    _audit(actor, registry, Action.REGISTRY_DELETE, {"name": registry.name})
    registry.delete()


def _principal_in_org(registry: Registry, principal) -> str:
    if isinstance(principal, Team):
        if principal.org_id != registry.org_id:
            raise ValidationError({"principal": f"Team {principal} is not in {registry.org}."})
        return f"team:{principal.name}"
    if not Membership.objects.filter(org=registry.org, user=principal).exists():
        raise ValidationError({"principal": f"{principal.get_username()} is not a member of {registry.org}."})
    return f"user:{principal.get_username()}"


# W&B: service accounts are Member or Admin on a registry, never (Restricted) Viewer: they exist to write.
SERVICE_ACCOUNT_ROLES = (Role.MEMBER, Role.ADMIN)


def default_role(principal) -> Role:
    """The role a new registry member gets when none is chosen (spec §3.2)."""
    return Role.MEMBER if is_service_account(principal) else Role.RESTRICTED_VIEWER


@transaction.atomic
def grant_registry_role(*, actor, registry: Registry, principal, role: str | None = None) -> None:
    """Give a user, service account or team a role on a registry, replacing the one they had.

    Without `role`: Restricted Viewer for people and teams, Member for service accounts.
    """
    require(actor, "registries.admin_registry", registry)
    role = role or default_role(principal)
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role “{role}”. Choose admin, member, viewer or restricted_viewer."})
    if is_service_account(principal) and role not in SERVICE_ACCOUNT_ROLES:
        raise ValidationError(
            {"role": f"{principal.get_username()} is a service account: service accounts are Member or Admin."}
        )
    who = _principal_in_org(registry, principal)
    target = principal.group if isinstance(principal, Team) else principal
    old = direct_role(target, registry)
    if old == role:
        return
    grant_role(target, Role(role), registry)
    action = Action.ROLE_CREATE if old is None else Action.ROLE_UPDATE
    _audit(actor, registry, action, {"member": who, "from": old, "to": role})


@transaction.atomic
def revoke_registry_role(*, actor, registry: Registry, principal) -> None:
    """Remove a user's or team's own role on a registry (org-wide access is untouched)."""
    require(actor, "registries.admin_registry", registry)
    who = _principal_in_org(registry, principal)
    target = principal.group if isinstance(principal, Team) else principal
    old = direct_role(target, registry)
    if old is None:
        raise ValidationError({"principal": f"{who.split(':', 1)[1]} has no role of their own on this registry."})
    revoke_role(target, registry)
    _audit(actor, registry, Action.ROLE_DELETE, {"member": who, "from": old})


@transaction.atomic
def set_registry_owner(*, actor, registry: Registry, user) -> Registry:
    """Name the registry's owner: accountability only, no extra permissions."""
    require(actor, "registries.admin_registry", registry)
    if not Registry.objects.visible_to(user).filter(pk=registry.pk).exists():
        raise ValidationError({"owner": f"{user.get_username()} cannot see this registry."})
    old = registry.owner.get_username() if registry.owner else None
    registry.owner = user
    registry.save(update_fields=["owner", "updated_at"])
    _audit(actor, registry, Action.REGISTRY_SET_OWNER, {"from": old, "to": user.get_username()})
    return registry


@transaction.atomic
def star_registry(*, actor, registry: Registry) -> Star:
    """Star a registry for oneself (idempotent)."""
    require(actor, "registries.view_registry", registry)
    try:
        with transaction.atomic():
            star, created = Star.objects.get_or_create(registry=registry, user=actor)
    except IntegrityError:
        star, created = Star.objects.get(registry=registry, user=actor), False
    if created:
        _audit(actor, registry, Action.REGISTRY_STAR)
    return star


@transaction.atomic
def unstar_registry(*, actor, registry: Registry) -> None:
    """Remove one's star (idempotent)."""
    require(actor, "registries.view_registry", registry)
    deleted, _ = Star.objects.filter(registry=registry, user=actor).delete()
    if deleted:
        _audit(actor, registry, Action.REGISTRY_UNSTAR)


def validate_alias(alias: str) -> str:
    """Aliases: 1–128 characters, no '/' or ':'; `latest` and `vN` are managed by the registry."""
    alias = (alias or "").strip()
    if not alias:
        raise ValidationError({"alias": "An alias cannot be empty."})
    if len(alias) > 128:
        raise ValidationError({"alias": "Aliases must be 128 characters or less."})
    check_name_characters(alias, "alias", "Aliases")
    if "/" in alias or ":" in alias or any(ch.isspace() for ch in alias):
        raise ValidationError({"alias": f"“{alias[:40]}”: aliases cannot contain '/', ':' or spaces."})
    if alias == "latest" or re.fullmatch(r"v\d+", alias):
        raise ValidationError({"alias": f"“{alias}” is set by the registry itself and cannot be assigned."})
    return alias


@transaction.atomic
def declare_protected_alias(*, actor, registry: Registry, alias: str) -> ProtectedAlias:
    """Declare an alias that only registry admins may apply or remove."""
    require(actor, "registries.admin_registry", registry)
    alias = validate_alias(alias)
    if existing := lookalike(alias, registry.protected_aliases.all(), "alias"):
        raise ValidationError({"alias": f"“{existing}” is already protected."})
    protected = ProtectedAlias.objects.create(registry=registry, alias=alias)
    _audit(actor, registry, Action.PROTECTED_ALIAS_CREATE, {"alias": alias}, target=protected)
    return protected


@transaction.atomic
def remove_protected_alias(*, actor, registry: Registry, alias: str) -> None:
    """Stop protecting an alias (versions keep it, now as an ordinary alias)."""
    require(actor, "registries.admin_registry", registry)
    protected = registry.protected_aliases.filter(alias=alias).first()
    if protected is None:
        raise ValidationError({"alias": f"“{alias}” is not a protected alias."})
    _audit(actor, registry, Action.PROTECTED_ALIAS_DELETE, {"alias": alias}, target=protected)
    protected.delete()
