"""API: authentication by API key (for /api/v1 and /admin/audit_logs), and who the caller is."""

import binascii
import datetime

from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBasicAuth, HttpBearer

from apps.audit.services import AuditContext, set_context
from apps.orgs import services
from apps.orgs.models import ApiKey, Membership, Organization, ServiceAccount, Team, is_service_account
from apps.orgs.permissions import require, require_team_manager
from lib.pagination import cursor_page
from lib.schemas import Id, Payload


def _authenticate(request: HttpRequest, raw: str):
    """The key's user, with the request and its audit events marked as coming from that key."""
    key = ApiKey.objects.authenticate(raw)
    if key is None:
        return None
    key.touch()
    request.user = key.user
    request.api_key = key
    set_context(AuditContext(ip=request.META.get("REMOTE_ADDR") or None, detail=f"api-key:{key.name}"))
    return key.user


class ApiKeyBearer(HttpBearer):
    """`Authorization: Bearer <key>`."""

    def authenticate(self, request, token):
        return _authenticate(request, token)


class ApiKeyBasic(HttpBasicAuth):
    """HTTP Basic with user `api` and the key as password (what W&B's clients send)."""

    def authenticate(self, request, username, password):
        return _authenticate(request, password) if username == "api" else None

    def decode_authorization(self, value: str):
        try:
            return super().decode_authorization(value)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return "", ""


API_KEY_AUTH = [ApiKeyBearer(), ApiKeyBasic()]


def api_key_user(request: HttpRequest):
    """The user an API key in the request's Authorization header names (Bearer or Basic `api:<key>`), or None."""
    return next((user for auth in API_KEY_AUTH if (user := auth(request)) is not None), None)


router = Router(tags=["viewer"])


class OrgOut(Schema):
    slug: str
    name: str
    role: str


class ViewerOut(Schema):
    username: str
    orgs: list[OrgOut]


@router.get("/viewer", response=ViewerOut)
def viewer(request: HttpRequest):
    memberships = Membership.objects.filter(user=request.user).select_related("org").order_by("org__slug")
    return {
        "username": request.user.get_username(),
        "orgs": [{"slug": m.org.slug, "name": m.org.name, "role": m.role} for m in memberships],
    }


# --- Service accounts (org admins) ---


class ServiceAccountOut(Schema):
    name: str
    org: str
    team: str | None
    description: str
    active: bool
    created_at: datetime.datetime


class ServiceAccountIn(Payload):
    name: str = Field(max_length=64)
    team: str | None = Field(None, max_length=64, description="A team of the org: a team's service account.")
    description: str = Field("", max_length=500)


class ApiKeyOut(Schema):
    id: Id
    name: str
    prefix: str
    created_at: datetime.datetime
    last_used_at: datetime.datetime | None
    revoked_at: datetime.datetime | None


class NewApiKeyOut(ApiKeyOut):
    secret: str = Field(description="Shown once: only a hash is kept.")


class ApiKeyIn(Payload):
    name: str = Field(max_length=64)


def _admin_org(request: HttpRequest, org: str) -> Organization:
    found = Organization.objects.visible_to(request.user).filter(slug=org[:64]).first()
    if found is None:
        raise Http404(f"No organization “{org[:64]}” that you belong to.")
    require(request.user, "orgs.admin_organization", found)
    return found


def _account(request: HttpRequest, org: str, name: str) -> ServiceAccount:
    organization = _admin_org(request, org)
    account = (
        organization.service_accounts.select_related("user", "team", "org").filter(user__username=name[:150]).first()
    )
    if account is None:
        raise Http404(f"No service account “{name[:150]}” in {organization.slug}.")
    return account


def _account_out(account: ServiceAccount) -> dict:
    return {
        "name": account.user.get_username(),
        "org": account.org.slug,
        "team": account.team.name if account.team else None,
        "description": account.description,
        "active": account.user.is_active,
        "created_at": account.created_at,
    }


def _key_out(key: ApiKey) -> dict:
    fields = ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    return {field: getattr(key, field) for field in fields}


@router.get("/orgs/{org}/service-accounts", response=list[ServiceAccountOut], tags=["service accounts"])
def service_account_list(request: HttpRequest, org: str):
    """The organization's service accounts (org admins), by name (at most 1,000)."""
    organization = _admin_org(request, org)
    accounts = organization.service_accounts.select_related("user", "team", "org").order_by("user__username")
    return [_account_out(a) for a in accounts[:1000]]


@router.post("/orgs/{org}/service-accounts", response={201: ServiceAccountOut}, tags=["service accounts"])
def service_account_create(request: HttpRequest, org: str, payload: ServiceAccountIn):
    organization = _admin_org(request, org)
    team = None
    if payload.team:
        team = organization.teams.filter(name__iexact=payload.team).first()
        if team is None:
            raise ValidationError({"team": f"There is no team “{payload.team}” in {organization.slug}."})
    account = services.create_service_account(
        actor=request.user, org=organization, name=payload.name, team=team, description=payload.description
    )
    return Status(201, _account_out(account))


@router.get("/orgs/{org}/service-accounts/{name}", response=ServiceAccountOut, tags=["service accounts"])
def service_account_detail(request: HttpRequest, org: str, name: str):
    return _account_out(_account(request, org, name))


@router.delete("/orgs/{org}/service-accounts/{name}", response={204: None}, tags=["service accounts"])
def service_account_deactivate(request: HttpRequest, org: str, name: str):
    """Deactivate for good: every key is revoked; the account stays in the audit log."""
    services.deactivate_service_account(actor=request.user, account=_account(request, org, name))
    return Status(204, None)


@router.get("/orgs/{org}/service-accounts/{name}/keys", response=list[ApiKeyOut], tags=["service accounts"])
def service_account_keys(request: HttpRequest, org: str, name: str):
    account = _account(request, org, name)
    return [_key_out(k) for k in ApiKey.objects.filter(user=account.user).order_by("-created_at")[:1000]]


@router.post("/orgs/{org}/service-accounts/{name}/keys", response={201: NewApiKeyOut}, tags=["service accounts"])
def service_account_key_create(request: HttpRequest, org: str, name: str, payload: ApiKeyIn):
    """A new key for the service account; its secret is in this answer only."""
    account = _account(request, org, name)
    key, secret = services.create_api_key(actor=request.user, user=account.user, name=payload.name)
    return Status(201, {**_key_out(key), "secret": secret})


@router.delete("/orgs/{org}/service-accounts/{name}/keys/{key_id}", response={204: None}, tags=["service accounts"])
def service_account_key_revoke(request: HttpRequest, org: str, name: str, key_id: Id):
    account = _account(request, org, name)
    key = ApiKey.objects.filter(user=account.user, pk=key_id).select_related("user").first()
    if key is None:
        raise Http404(f"No key {key_id} of {account.user.get_username()}.")
    services.revoke_api_key(actor=request.user, key=key)
    return Status(204, None)


# --- Members, invitations and teams (org admins; team admins for their team's members) ---


class OrgMemberOut(Schema):
    username: str
    email: str
    role: str
    service_account: bool


class OrgMemberPage(Schema):
    items: list[OrgMemberOut]
    next_cursor: str | None


class OrgMemberIn(Payload):
    user: str = Field(max_length=254, description="A username or an email address (no account: an invitation).")
    role: str = "member"


class InvitationOut(Schema):
    email: str
    role: str
    expires_at: datetime.datetime
    link: str = Field(description="The invitation link, shown once (also mailed).")


class OrgMemberAdded(Schema):
    member: OrgMemberOut | None
    invitation: InvitationOut | None


class RoleIn(Payload):
    role: str


class TeamOut(Schema):
    name: str
    org: str
    members: list[dict] = Field(description='`[{"username", "role", "service_account"}]`')


class TeamIn(Payload):
    name: str = Field(max_length=64)


class TeamMemberIn(Payload):
    user: str = Field(max_length=254, description="An org member's username or email.")
    role: str = "member"


def _member_out(membership: Membership) -> dict:
    user = membership.user
    return {
        "username": user.get_username(),
        "email": user.email,
        "role": membership.role,
        "service_account": is_service_account(user),
    }


def _membership(organization: Organization, username: str) -> Membership:
    membership = (
        organization.memberships.select_related("user__service_account", "org")
        .filter(user__username__iexact=username[:150])
        .first()
    )
    if membership is None:
        raise Http404(f"No member “{username[:150]}” in {organization.slug}.")
    return membership


@router.get("/orgs/{org}/members", response=OrgMemberPage, tags=["members"])
def org_member_list(request: HttpRequest, org: str, cursor: str | None = None, per_page: int = 50):
    """The organization's members by username (org admins)."""
    organization = _admin_org(request, org)
    rows = organization.memberships.annotate(username=F("user__username")).select_related("user__service_account")
    page, next_cursor = cursor_page(rows, order="username", cursor=cursor, per_page=per_page)
    return {"items": [_member_out(m) for m in page], "next_cursor": next_cursor}


@router.post("/orgs/{org}/members", response={201: OrgMemberAdded}, tags=["members"])
def org_member_add(request: HttpRequest, org: str, payload: OrgMemberIn):
    """Add a user by username or email; an address without an account gets an invitation (its link, once)."""
    organization = _admin_org(request, org)
    site = request.build_absolute_uri("/").rstrip("/")
    membership, invitation, token = services.add_or_invite_org_member(
        actor=request.user, org=organization, name=payload.user, role=payload.role, site_url=site
    )
    if membership is not None:
        return Status(201, {"member": _member_out(membership), "invitation": None})
    link = site + services.invitation_path(token)
    out = {"email": invitation.email, "role": invitation.role, "expires_at": invitation.expires_at, "link": link}
    return Status(201, {"member": None, "invitation": out})


@router.patch("/orgs/{org}/members/{username}", response=OrgMemberOut, tags=["members"])
def org_member_role(request: HttpRequest, org: str, username: str, payload: RoleIn):
    membership = _membership(_admin_org(request, org), username)
    return _member_out(services.change_org_role(actor=request.user, membership=membership, role=payload.role))


@router.delete("/orgs/{org}/members/{username}", response={204: None}, tags=["members"])
def org_member_remove(request: HttpRequest, org: str, username: str):
    """Remove a member from the organization and its teams (never the last admin)."""
    services.remove_org_member(actor=request.user, membership=_membership(_admin_org(request, org), username))
    return Status(204, None)


def _team_out(team: Team) -> dict:
    memberships = team.memberships.select_related("user__service_account").order_by("user__username")[:1000]
    members = [
        {"username": tm.user.get_username(), "role": tm.role, "service_account": is_service_account(tm.user)}
        for tm in memberships
    ]
    return {"name": team.name, "org": team.org.slug, "members": members}


def _team(request: HttpRequest, org: str, name: str) -> Team:
    team = (
        Team.objects.visible_to(request.user)
        .select_related("org", "group")
        .filter(org__slug=org[:64], name__iexact=name[:64])
    )
    found = team.first()
    if found is None:
        raise Http404(f"No team “{name[:64]}” in “{org[:64]}” that you can see.")
    return found


@router.get("/orgs/{org}/teams", response=list[str], tags=["members"])
def team_list(request: HttpRequest, org: str):
    """The organization's team names (every member)."""
    organization = Organization.objects.visible_to(request.user).filter(slug=org[:64]).first()
    if organization is None:
        raise Http404(f"No organization “{org[:64]}” that you belong to.")
    return list(organization.teams.order_by("name").values_list("name", flat=True)[:1000])


@router.post("/orgs/{org}/teams", response={201: TeamOut}, tags=["members"])
def team_create(request: HttpRequest, org: str, payload: TeamIn):
    team = services.create_team(actor=request.user, org=_admin_org(request, org), name=payload.name)
    return Status(201, _team_out(team))


@router.get("/orgs/{org}/teams/{name}", response=TeamOut, tags=["members"])
def team_detail(request: HttpRequest, org: str, name: str):
    return _team_out(_team(request, org, name))


@router.put("/orgs/{org}/teams/{name}/members", response=TeamOut, tags=["members"])
def team_member_set(request: HttpRequest, org: str, name: str, payload: TeamMemberIn):
    """Add an org member to the team with a team role, or change their team role (org and team admins)."""
    team = _team(request, org, name)
    require_team_manager(request.user, team)
    user = services.find_user(payload.user) or _service_account_user(team.org, payload.user)
    if user is None or not team.org.memberships.filter(user=user).exists():
        raise ValidationError({"user": f"There is no member “{payload.user[:150]}” in {team.org}."})
    if team.memberships.filter(user=user).exists():
        services.change_team_role(actor=request.user, team=team, user=user, role=payload.role)
    else:
        services.add_team_member(actor=request.user, team=team, user=user, role=payload.role)
    return _team_out(team)


@router.delete("/orgs/{org}/teams/{name}/members", response={204: None}, tags=["members"])
def team_member_remove(request: HttpRequest, org: str, name: str, user: str):
    team = _team(request, org, name)
    require_team_manager(request.user, team)
    member = team.memberships.select_related("user").filter(user__username__iexact=user[:150]).first()
    if member is None:
        raise ValidationError({"user": f"{user[:150]} is not in team {team}."})
    services.remove_team_member(actor=request.user, team=team, user=member.user)
    return Status(204, None)


def _service_account_user(organization: Organization, name: str):
    account = organization.service_accounts.filter(user__username__iexact=name.strip()[:150]).select_related("user")
    found = account.first()
    return found.user if found else None
