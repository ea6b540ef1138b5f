"""Every change to organizations, memberships and teams."""

import secrets
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Action
from apps.audit.services import record
from apps.orgs.models import (
    API_KEY_ALPHABET,
    API_KEY_LENGTH,
    API_KEY_PREFIX,
    INVITATION_LIFETIME,
    ApiKey,
    Invitation,
    Membership,
    Organization,
    OrgRole,
    RegistryUI,
    ServiceAccount,
    Team,
    TeamMembership,
    TeamRole,
    UserPreference,
    entity_name_validator,
    hash_api_key,
    is_service_account,
)
from apps.orgs.permissions import grant_perms, has_perm, require, require_team_manager
from lib.names import check_name_characters, lookalike
from lib.text import check_text

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
    accounts = list(org.service_accounts.values_list("user_id", flat=True))
    _delete_unless_protected(org, f"Organization “{org}”")
    # Service accounts exist only for their organization: their users stay (audit history) but can do nothing.
    User.objects.filter(pk__in=accounts).update(is_active=False)
    ApiKey.objects.filter(user_id__in=accounts, revoked_at__isnull=True).update(revoked_at=timezone.now())
    # The org and its teams point at their groups with PROTECT; the groups go once nothing does.
    Group.objects.filter(pk__in=[group.pk for group in groups]).delete()


def _add_membership(*, actor, org: Organization, user, role: str, **data) -> Membership:
    membership = Membership.objects.create(org=org, user=user, role=role)
    user.groups.add(org.group_for(role))
    record(
        actor=actor,
        org=org,
        action=Action.ORG_ADD_MEMBER,
        target=membership,
        data={"user": user.get_username(), "role": role, **data},
    )
    return membership


def _refuse_service_account(user, message: str) -> None:
    if is_service_account(user):
        raise ValidationError(message)


def _validate_org_role(role: str) -> None:
    if role not in OrgRole.values:
        raise ValidationError({"role": f"Unknown role “{role}”. Choose admin, member or viewer."})


@transaction.atomic
def add_org_member(*, actor, org: Organization, user, role: str = OrgRole.MEMBER) -> Membership:
    """Add a user to the organization with an org role."""
    require(actor, "orgs.admin_organization", org)
    _validate_org_role(role)
    _refuse_service_account(user, "Service accounts belong to the organization that created them.")
    if not user.is_active:
        raise ValidationError(f"{user.get_username()} is deactivated.")
    if Membership.objects.filter(org=org, user=user).exists():
        raise ValidationError(f"{user.get_username()} is already a member of {org}.")
    return _add_membership(actor=actor, org=org, user=user, role=role)


def find_user(name: str):
    """The active human user whose username, or else whose email, is `name` (case-insensitive), or None.

    Several users may share an email address: then the caller must name one by username.
    """
    name = (name or "").strip()
    if not name:
        return None
    humans = User.objects.filter(is_active=True, service_account__isnull=True)
    user = humans.filter(username__iexact=name).first()
    if user is None and "@" in name:
        matches = list(humans.filter(email__iexact=name)[:2])
        if len(matches) > 1:
            raise ValidationError({"name": f"Several users have the address {name}: add one by username."})
        user = matches[0] if matches else None
    return user


@transaction.atomic
def add_or_invite_org_member(
    *, actor, org: Organization, name: str, role: str = OrgRole.MEMBER, site_url: str = ""
) -> tuple[Membership | None, Invitation | None, str]:
    """Add the user called `name` (username or email) to the organization, or invite `name` by email
    when no account has it. Returns (membership, invitation, invitation token): one of the first two."""
    require(actor, "orgs.admin_organization", org)
    user = find_user(name)
    if user is not None:
        return add_org_member(actor=actor, org=org, user=user, role=role), None, ""
    if "@" not in (name or ""):
        raise ValidationError(
            {
                "name": f"There is no user “{(name or '').strip()[:150]}”. To invite someone new, give their email address."
            }
        )
    invitation, token = invite_org_member(actor=actor, org=org, email=name, role=role, site_url=site_url)
    return None, invitation, token


def invitation_path(token: str) -> str:
    return reverse("invitation_accept", args=[token])


def _send_invitation(org_name: str, email: str, link: str, inviter: str) -> None:
    send_mail(
        subject=f"You are invited to {org_name} on Registry",
        message=(
            f"{inviter} invited you to join {org_name} on Registry.\n\n"
            f"Accept the invitation here (the link works once, for {INVITATION_LIFETIME.days} days):\n{link}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
        fail_silently=True,  # the link is also shown to the admin, who can pass it on
    )


@transaction.atomic
def invite_org_member(
    *, actor, org: Organization, email: str, role: str = OrgRole.MEMBER, site_url: str = ""
) -> tuple[Invitation, str]:
    """Invite an email address to the organization. Returns (invitation, token); the token is shown once.

    The link (`site_url` + the accept path) is mailed after the transaction commits.
    """
    require(actor, "orgs.admin_organization", org)
    _validate_org_role(role)
    email = (email or "").strip().lower()
    try:
        if len(email) > 254:  # the longest address SMTP carries, and the column's size
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"“{email[:254]}” is not a valid email address."}) from None
    if org.memberships.filter(user__email__iexact=email).exists():
        raise ValidationError({"email": f"Someone with the address {email} is already a member of {org}."})
    if org.invitations.pending().filter(email__iexact=email).exists():
        raise ValidationError({"email": f"{email} already has a pending invitation. Revoke it to send a new one."})
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        org=org,
        email=email,
        role=role,
        hashed_token=hash_api_key(token),
        created_by=actor,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    record(
        actor=actor, org=org, action=Action.INVITATION_CREATE, target=invitation, data={"email": email, "role": role}
    )
    link = site_url.rstrip("/") + invitation_path(token)
    transaction.on_commit(partial(_send_invitation, org.name, email, link, actor.get_username()))
    return invitation, token


@transaction.atomic
def revoke_invitation(*, actor, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation: its link stops working."""
    require(actor, "orgs.admin_organization", invitation.org)
    if invitation.state != "pending":
        raise ValidationError(f"This invitation is already {invitation.state}.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(
        actor=actor,
        org=invitation.org,
        action=Action.INVITATION_REVOKE,
        target=invitation,
        data={"email": invitation.email},
    )
    return invitation


def _pending_invitation(token: str) -> Invitation:
    """The invitation `token` names, locked, if it can still be accepted; else a clear ValidationError."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("org")
        .filter(hashed_token=hash_api_key(token or ""))
        .first()
    )
    if invitation is None:
        raise ValidationError("This invitation link is not valid.")
    if invitation.state != "pending":
        raise ValidationError(f"This invitation is {invitation.state}. Ask an admin of {invitation.org} for a new one.")
    return invitation


def _accept(invitation: Invitation, user, **data) -> Membership:
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return _add_membership(
        actor=user, org=invitation.org, user=user, role=invitation.role, invitation=invitation.email, **data
    )


@transaction.atomic
def accept_invitation(*, actor, token: str) -> Membership:
    """Join the organization an invitation names, as the logged-in `actor` (one `organization:add_member` event).

    The link is the credential (single use, expiring), as invitation links are elsewhere.
    """
    if not actor.is_authenticated:
        raise PermissionDenied("Log in, or create an account, to accept the invitation.")
    invitation = _pending_invitation(token)
    _refuse_service_account(actor, "Service accounts cannot accept invitations.")
    if Membership.objects.filter(org=invitation.org, user=actor).exists():
        raise ValidationError(f"You are already a member of {invitation.org}.")
    return _accept(invitation, actor)


@transaction.atomic
def accept_invitation_with_new_account(*, token: str, username: str, password: str):
    """Create an account for the invited address and join the organization with it. Returns the user."""
    invitation = _pending_invitation(token)
    username = check_entity_name(username, "username", "Usernames")
    user = User(username=username, email=invitation.email)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user.set_password(password)
    user.save()
    _accept(invitation, user, new_account=True)
    return user


@transaction.atomic
def change_org_role(*, actor, membership: Membership, role: str) -> Membership:
    """Change a member's org role (a single group move)."""
    org = membership.org
    require(actor, "orgs.admin_organization", org)
    _validate_org_role(role)
    old = membership.role
    if old == role:
        return membership
    _refuse_service_account(membership.user, "Service accounts keep the Member role: give them registry roles instead.")
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
    _refuse_service_account(user, "Deactivate the service account instead: its history stays in the audit log.")
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


def check_entity_name(name: str, field: str, what: str, own_org: Organization | None = None) -> str:
    """A free entity name (team, username, service account): teams, users and organizations share one namespace."""
    name = check_name_characters((name or "").strip().lower(), field, what)
    if lookalike(name, Team.objects.all()) or User.objects.filter(username__iexact=name).exists():
        raise ValidationError({field: f"The name “{name}” is taken by another team or user."})
    if Organization.objects.filter(slug=name).exclude(pk=getattr(own_org, "pk", None)).exists():
        raise ValidationError({field: f"The name “{name}” is taken by an organization."})
    try:
        entity_name_validator(name)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None
    return name


@transaction.atomic
def create_team(*, actor, org: Organization, name: str) -> Team:
    """Create a team. Its name shares one namespace with usernames (W&B entities)."""
    require(actor, "orgs.admin_organization", org)
    name = check_entity_name(name, "name", "Team names", own_org=org)
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


def _validate_team_role(role: str) -> None:
    if role not in TeamRole.values:
        raise ValidationError({"role": f"Unknown team role “{role}”. Choose admin or member."})


@transaction.atomic
def add_team_member(*, actor, team: Team, user, role: str = TeamRole.MEMBER) -> TeamMembership:
    """Add an org member to a team (org admins and the team's admins)."""
    require_team_manager(actor, team)
    _validate_team_role(role)
    if not Membership.objects.filter(org=team.org, user=user).exists():
        raise ValidationError(f"{user.get_username()} is not a member of {team.org}.")
    if TeamMembership.objects.filter(team=team, user=user).exists():
        raise ValidationError(f"{user.get_username()} is already in team {team}.")
    if role == TeamRole.ADMIN:
        _refuse_service_account(user, "Service accounts cannot be team admins.")
    tm = TeamMembership.objects.create(team=team, user=user, role=role)
    user.groups.add(team.group)
    data = {"user": user.get_username(), "role": role}
    record(actor=actor, org=team.org, action=Action.TEAM_ADD_MEMBER, target=team, data=data)
    return tm


@transaction.atomic
def change_team_role(*, actor, team: Team, user, role: str) -> TeamMembership:
    """Make a team member a team admin, or a plain member again."""
    require_team_manager(actor, team)
    _validate_team_role(role)
    tm = TeamMembership.objects.select_for_update().filter(team=team, user=user).first()
    if tm is None:
        raise ValidationError(f"{user.get_username()} is not in team {team}.")
    if tm.role == role:
        return tm
    if role == TeamRole.ADMIN:
        _refuse_service_account(user, "Service accounts cannot be team admins.")
    old, tm.role = tm.role, role
    tm.save(update_fields=["role"])
    data = {"user": user.get_username(), "from": old, "to": role}
    record(actor=actor, org=team.org, action=Action.TEAM_UPDATE_MEMBER, target=team, data=data)
    return tm


@transaction.atomic
def remove_team_member(*, actor, team: Team, user) -> None:
    """Remove a user from a team; registry roles held through the team go with it."""
    require_team_manager(actor, team)
    if ServiceAccount.objects.filter(user=user, team=team).exists():
        raise ValidationError(f"{user.get_username()} is this team's service account: deactivate it instead.")
    deleted, _ = TeamMembership.objects.filter(team=team, user=user).delete()
    if not deleted:
        raise ValidationError(f"{user.get_username()} is not in team {team}.")
    user.groups.remove(team.group)
    record(actor=actor, org=team.org, action=Action.TEAM_REMOVE_MEMBER, target=team, data={"user": user.get_username()})


# --- Service accounts ---------------------------------------------------------------------------


@transaction.atomic
def create_service_account(
    *, actor, org: Organization, name: str, team: Team | None = None, description: str = ""
) -> ServiceAccount:
    """Create a service account for the organization, or for one of its teams (org admins).

    Its user has no usable password (the UI refuses it), is an org Member, and joins `team` if given.
    """
    require(actor, "orgs.admin_organization", org)
    name = check_entity_name(name, "name", "Service account names")
    if team is not None and team.org_id != org.pk:
        raise ValidationError({"team": f"Team {team} is not in {org}."})
    description = check_text((description or "").strip(), "description")
    if len(description) > 500:
        raise ValidationError({"description": "Descriptions must be 500 characters or less."})
    user = User(username=name)
    user.set_unusable_password()
    user.save()
    account = ServiceAccount.objects.create(user=user, org=org, team=team, description=description, created_by=actor)
    Membership.objects.create(org=org, user=user, role=OrgRole.MEMBER)
    user.groups.add(org.members_group)
    if team is not None:
        TeamMembership.objects.create(team=team, user=user)
        user.groups.add(team.group)
    data = {"name": name, "team": team.name if team else None}
    record(actor=actor, org=org, action=Action.SERVICE_ACCOUNT_CREATE, target=account, data=data)
    return account


@transaction.atomic
def deactivate_service_account(*, actor, account: ServiceAccount) -> ServiceAccount:
    """Switch a service account off for good: its keys are revoked and it can do nothing more."""
    require(actor, "orgs.admin_organization", account.org)
    user = account.user
    if not user.is_active:
        raise ValidationError(f"{user.get_username()} is already deactivated.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    data = {"name": user.get_username(), "keys_revoked": revoked}
    record(actor=actor, org=account.org, action=Action.SERVICE_ACCOUNT_DEACTIVATE, target=account, data=data)
    return account


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


# A person's API keys are theirs, not an organization's: their audit events carry no org. A service
# account's keys are its organization's: its admins create and revoke them, and see them in its log.


def _key_owner_org(actor, user) -> tuple[bool, Organization | None]:
    """(may `actor` manage `user`'s API keys, the org their audit events belong to)."""
    if not actor.is_authenticated:
        return False, None
    account = ServiceAccount.objects.filter(user=user).select_related("org").first()
    if account is not None:
        return actor.is_staff or has_perm(actor, "orgs.admin_organization", account.org), account.org
    # SECURITY: a service account never mints keys for itself (a leaked key must not beget more).
    return actor.is_staff or actor.pk == user.pk, None


@transaction.atomic
def create_api_key(*, actor, user, name: str = "") -> tuple[ApiKey, str]:
    """Make a new API key for `user` (themselves; a service account of an org they administer; anyone for
    instance staff). Returns (key, secret). The secret is shown once; only its SHA-256 is stored.
    """
    allowed, org = _key_owner_org(actor, user)
    if not allowed:
        raise PermissionDenied("You can only create API keys for yourself.")
    if not user.is_active:
        raise ValidationError(f"{user.get_username()} is deactivated.")
    name = check_name_characters((name or "").strip() or "default", "name", "Key names")
    if len(name) > 64:
        raise ValidationError({"name": "Key names must be 64 characters or less."})
    raw = API_KEY_PREFIX + "".join(secrets.choice(API_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))
    key = ApiKey.objects.create(
        user=user, name=name, prefix=raw[: len(API_KEY_PREFIX) + 6], hashed_key=hash_api_key(raw)
    )
    record(
        actor=actor,
        org=org,
        action=Action.API_KEY_CREATE,
        target=key,
        data={"user": user.get_username(), "name": name},
    )
    return key, raw


@transaction.atomic
def revoke_api_key(*, actor, key: ApiKey) -> ApiKey:
    """Revoke a key for good (its owner, the admins of a service account's org, or instance staff)."""
    allowed, org = _key_owner_org(actor, key.user)
    if not allowed:
        raise PermissionDenied("You can only revoke your own API keys.")
    if key.revoked_at is not None:
        raise ValidationError("This key is already revoked.")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    record(
        actor=actor,
        org=org,
        action=Action.API_KEY_REVOKE,
        target=key,
        data={"user": key.user.get_username(), "name": key.name},
    )
    return key
