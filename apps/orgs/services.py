"""Every change to organizations, memberships and teams."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from apps.audit.models import Action
from apps.audit.services import record
from apps.orgs.models import (
    API_KEY_ALPHABET,
    API_KEY_LENGTH,
    API_KEY_PREFIX,
    ApiKey,
    Membership,
    Organization,
    OrgRole,
    RegistryUI,
    Team,
    TeamMembership,
    UserPreference,
    hash_api_key,
)
from apps.orgs.permissions import grant_perms, require
from lib.names import check_name_characters, lookalike

User = get_user_model()

ORG_ROLE_PERMS = {
    OrgRole.ADMIN: ["view_organization", "admin_organization", "create_registry"],
    OrgRole.MEMBER: ["view_organization", "create_registry"],
    OrgRole.VIEWER: ["view_organization"],
}


@transaction.atomic
def create_organization(*, actor, slug: str, name: str) -> Organization:
    """Create an organization with `actor` as its admin.

    The Registry app adds the core registries: callers use registries.services.create_organization.
    """
    if not actor.is_authenticated or not actor.is_staff:
        raise PermissionDenied("Only instance staff may create organizations.")
    slug = check_name_characters((slug or "").strip().lower(), "slug", "Organization slugs")
    name = check_name_characters((name or "").strip() or slug, "name", "Organization names")
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"An organization named “{slug}” already exists."})
    org = Organization(
        slug=slug,
        name=name,
        admins_group=Group.objects.create(name=f"org:{slug}:admins"),
        members_group=Group.objects.create(name=f"org:{slug}:members"),
        viewers_group=Group.objects.create(name=f"org:{slug}:viewers"),
    )
    org.full_clean()
    org.save()
    for role, codenames in ORG_ROLE_PERMS.items():
        grant_perms(org.group_for(role), org, codenames)
    record(actor=actor, org=org, action=Action.ORG_CREATE, target=org, data={"slug": slug, "name": name})
    _add_membership(actor=actor, org=org, user=actor, role=OrgRole.ADMIN)
    return org


def _delete_unless_protected(obj, what: str) -> None:
    """Delete `obj` and what cascades from it, unless that would destroy data kept with PROTECT."""
    try:
        obj.delete()
    except (ProtectedError, RestrictedError) as exc:
        blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        kinds = sorted({str(o._meta.verbose_name_plural) for o in blocking})
        raise ValidationError(
            f"{what} cannot be deleted: {len(blocking)} {' and '.join(kinds)} still depend on it "
            "(published artifact versions are never deleted)."
        ) from exc


@transaction.atomic
def delete_organization(*, actor, org: Organization) -> None:
    """Delete an organization with its registries, teams, projects and role groups.

    Refused while its teams hold artifact versions: they are published data (PROTECT).
    """
    if not actor.is_authenticated or not actor.is_staff:
        raise PermissionDenied("Only instance staff may delete organizations.")
    teams = list(org.teams.select_related("group"))
    groups = [*org.role_groups(), *(team.group for team in teams)]
    record(
        actor=actor,
        org=org,
        action=Action.ORG_DELETE,
        target=org,
        data={
            "slug": org.slug,
            "name": org.name,
            "teams": [team.name for team in teams],
            "members": sorted(org.memberships.values_list("user__username", flat=True)),
        },
    )
    _delete_unless_protected(org, f"Organization “{org}”")
    # The org and its teams point at their groups with PROTECT; the groups go once nothing does.
    Group.objects.filter(pk__in=[group.pk for group in groups]).delete()


def _add_membership(*, actor, org: Organization, user, role: str) -> Membership:
    membership = Membership.objects.create(org=org, user=user, role=role)
    user.groups.add(org.group_for(role))
    record(
        actor=actor,
        org=org,
        action=Action.ORG_ADD_MEMBER,
        target=membership,
        data={"user": user.get_username(), "role": role},
    )
    return membership


def _validate_org_role(role: str) -> None:
    if role not in OrgRole.values:
        raise ValidationError({"role": f"Unknown role “{role}”. Choose admin, member or viewer."})


@transaction.atomic
def add_org_member(*, actor, org: Organization, user, role: str = OrgRole.MEMBER) -> Membership:
    """Add a user to the organization with an org role."""
    require(actor, "orgs.admin_organization", org)
    _validate_org_role(role)
    if Membership.objects.filter(org=org, user=user).exists():
        raise ValidationError(f"{user.get_username()} is already a member of {org}.")
    return _add_membership(actor=actor, org=org, user=user, role=role)


@transaction.atomic
def change_org_role(*, actor, membership: Membership, role: str) -> Membership:
    """Change a member's org role (a single group move)."""
    org = membership.org
    require(actor, "orgs.admin_organization", org)
    _validate_org_role(role)
    old = membership.role
    if old == role:
        return membership
    if old == OrgRole.ADMIN and not org.memberships.filter(role=OrgRole.ADMIN).exclude(pk=membership.pk).exists():
        raise ValidationError("An organization needs at least one admin.")
    membership.user.groups.remove(org.group_for(old))
    membership.user.groups.add(org.group_for(role))
    membership.role = role
    membership.save(update_fields=["role"])
    record(
        actor=actor,
        org=org,
        action=Action.ORG_UPDATE_MEMBER,
        target=membership,
        data={"user": membership.user.get_username(), "from": old, "to": role},
    )
    return membership


@transaction.atomic
def remove_org_member(*, actor, membership: Membership) -> None:
    """Remove a user from the organization, its role groups and its teams."""
    org = membership.org
    require(actor, "orgs.admin_organization", org)
    user = membership.user
    if (
        membership.role == OrgRole.ADMIN
        and not org.memberships.filter(role=OrgRole.ADMIN).exclude(pk=membership.pk).exists()
    ):
        raise ValidationError("An organization needs at least one admin.")
    user.groups.remove(*org.role_groups())
    for tm in TeamMembership.objects.filter(team__org=org, user=user).select_related("team"):
        user.groups.remove(tm.team.group)
        tm.delete()
    record(
        actor=actor,
        org=org,
        action=Action.ORG_REMOVE_MEMBER,
        target=membership,
        data={"user": user.get_username(), "role": membership.role},
    )
    membership.delete()


@transaction.atomic
def create_team(*, actor, org: Organization, name: str) -> Team:
    """Create a team. Its name shares one namespace with usernames (W&B entities)."""
    require(actor, "orgs.admin_organization", org)
    name = check_name_characters((name or "").strip().lower(), "name", "Team names")
    if lookalike(name, Team.objects.all()) or User.objects.filter(username__iexact=name).exists():
        raise ValidationError({"name": f"The name “{name}” is taken by another team or user."})
    if Organization.objects.filter(slug=name).exclude(pk=org.pk).exists():
        raise ValidationError({"name": f"The name “{name}” is taken by an organization."})
    team = Team(org=org, name=name)
    team.full_clean(exclude=["group"])
    team.group = Group.objects.create(name=f"team:{name}")
    team.save()
    record(actor=actor, org=org, action=Action.TEAM_CREATE, target=team, data={"name": name})
    return team


@transaction.atomic
def delete_team(*, actor, team: Team) -> None:
    """Delete a team with its projects, runs and the registry roles it held.

    Refused while its projects hold artifact versions: they are published data (PROTECT).
    """
    require(actor, "orgs.admin_organization", team.org)
    group = team.group
    record(
        actor=actor,
        org=team.org,
        action=Action.TEAM_DELETE,
        target=team,
        data={"name": team.name, "members": sorted(team.memberships.values_list("user__username", flat=True))},
    )
    _delete_unless_protected(team, f"Team “{team}”")
    group.delete()  # with it go the members' group rows and the team's registry roles


@transaction.atomic
def add_team_member(*, actor, team: Team, user) -> TeamMembership:
    """Add an org member to a team."""
    require(actor, "orgs.admin_organization", team.org)
    if not Membership.objects.filter(org=team.org, user=user).exists():
        raise ValidationError(f"{user.get_username()} is not a member of {team.org}.")
    if TeamMembership.objects.filter(team=team, user=user).exists():
        raise ValidationError(f"{user.get_username()} is already in team {team}.")
    tm = TeamMembership.objects.create(team=team, user=user)
    user.groups.add(team.group)
    record(actor=actor, org=team.org, action=Action.TEAM_ADD_MEMBER, target=team, data={"user": user.get_username()})
    return tm


@transaction.atomic
def remove_team_member(*, actor, team: Team, user) -> None:
    """Remove a user from a team; registry roles held through the team go with it."""
    require(actor, "orgs.admin_organization", team.org)
    deleted, _ = TeamMembership.objects.filter(team=team, user=user).delete()
    if not deleted:
        raise ValidationError(f"{user.get_username()} is not in team {team}.")
    user.groups.remove(team.group)
    record(actor=actor, org=team.org, action=Action.TEAM_REMOVE_MEMBER, target=team, data={"user": user.get_username()})


@transaction.atomic
def set_registry_ui_preference(*, actor, registry_ui: str) -> UserPreference:
    """Remember whether `actor` wants the new Registry or the legacy Model Registry.

    A personal display choice, not a change to shared data, so it writes no audit event.
    """
    if not actor.is_authenticated:
        raise PermissionDenied("Log in to save preferences.")
    if registry_ui not in RegistryUI.values:
        raise ValidationError({"registry_ui": "Choose “new” or “legacy”."})
    preference, _ = UserPreference.objects.update_or_create(user=actor, defaults={"registry_ui": registry_ui})
    return preference


# API keys are personal, not an organization's: their audit events carry no org.


@transaction.atomic
def create_api_key(*, actor, user, name: str = "") -> tuple[ApiKey, str]:
    """Make a new API key for `user` (themselves, or anyone for instance staff). Returns (key, secret).

    The secret is shown once; only its SHA-256 is stored.
    """
    if not actor.is_authenticated or (actor.pk != user.pk and not actor.is_staff):
        raise PermissionDenied("You can only create API keys for yourself.")
    name = check_name_characters((name or "").strip() or "default", "name", "Key names")
    if len(name) > 64:
        raise ValidationError({"name": "Key names must be 64 characters or less."})
    raw = API_KEY_PREFIX + "".join(secrets.choice(API_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))
    key = ApiKey.objects.create(
        user=user, name=name, prefix=raw[: len(API_KEY_PREFIX) + 6], hashed_key=hash_api_key(raw)
    )
    record(
        actor=actor,
        org=None,
        action=Action.API_KEY_CREATE,
        target=key,
        data={"user": user.get_username(), "name": name},
    )
    return key, raw


@transaction.atomic
def revoke_api_key(*, actor, key: ApiKey) -> ApiKey:
    """Revoke a key for good (its owner or instance staff)."""
    if not actor.is_authenticated or (actor.pk != key.user_id and not actor.is_staff):
        raise PermissionDenied("You can only revoke your own API keys.")
    if key.revoked_at is not None:
        raise ValidationError("This key is already revoked.")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    record(
        actor=actor,
        org=None,
        action=Action.API_KEY_REVOKE,
        target=key,
        data={"user": key.user.get_username(), "name": key.name},
    )
    return key
