"""Organization settings pages: members and invitations, teams, service accounts and their keys.

Org admins manage all of it; a team's admins manage that team's members. Each view looks the
organization up among the user's own (404 otherwise), checks the action (403), binds a form and
calls one service.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import Count, F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.orgs import forms
from apps.orgs import services as org_services
from apps.orgs.models import (
    ApiKey,
    Invitation,
    Membership,
    Organization,
    OrgRole,
    ServiceAccount,
    Team,
    TeamMembership,
    TeamRole,
    hash_api_key,
    member_suggestions,
)
from apps.orgs.permissions import can_manage_team, has_perm, require
from lib.forms import add_service_error
from lib.pagination import decode_cursor, keyset_page

PAGE_SIZE = 50
SUGGESTIONS = 20


def _org(request: HttpRequest, org_slug: str) -> Organization:
    return get_object_or_404(Organization.objects.visible_to(request.user), slug=org_slug)


def _admin_org(request: HttpRequest, org_slug: str) -> Organization:
    org = _org(request, org_slug)
    require(request.user, "orgs.admin_organization", org)
    return org


def _page(request: HttpRequest, rows, order: tuple):
    """A keyset page of `rows` from the URL's `after`/`before` cursors (a tampered one: the first page)."""
    try:
        after = decode_cursor(request.GET["after"], rows, order) if request.GET.get("after") else None
        before = decode_cursor(request.GET["before"], rows, order) if request.GET.get("before") else None
    except ValidationError:
        after = before = None
    return keyset_page(rows, order=order, size=PAGE_SIZE, after=after, before=before)


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


# --- Members and invitations ---------------------------------------------------------------------


def _members_context(request: HttpRequest, org: Organization, **extra) -> dict:
    rows = Membership.objects.filter(org=org).annotate(username=F("user__username"))
    page = _page(request, rows.select_related("user__service_account"), ("username", "pk"))
    return {
        "org": org,
        "page": page,
        "invitations": list(org.invitations.pending().select_related("created_by")[:PAGE_SIZE]),
        "roles": OrgRole.choices,
        "form": forms.MemberAddForm(),
        "admins": org.memberships.filter(role=OrgRole.ADMIN).count(),
        **extra,
    }


@require_GET
@vary_on_headers("HX-Request")
def org_members(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's members with their org roles, and the pending invitations (org admins)."""
    org = _admin_org(request, org_slug)
    context = _members_context(request, org)
    return render(request, "orgs/org_members.html" + ("#member-table" if request.htmx else ""), context)


@require_POST
def org_member_add(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Add a user by username or email, or invite an email address (its link is shown here, once)."""
    org = _admin_org(request, org_slug)
    form = forms.MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership, invitation, token = org_services.add_or_invite_org_member(
                actor=request.user, org=org, site_url=_site_url(request), **form.cleaned_data
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            if membership is not None:
                messages.success(request, f"{membership.user.get_username()} added as {membership.get_role_display()}.")
                return redirect("org_members", org.slug)
            link = _site_url(request) + org_services.invitation_path(token)
            context = _members_context(request, org, invited=invitation, invitation_link=link)
            return render(request, "orgs/org_members.html", context)
    return render(request, "orgs/org_members.html", _members_context(request, org, form=form))


def _membership(request: HttpRequest, org_slug: str, membership_id: int) -> Membership:
    org = _admin_org(request, org_slug)
    return get_object_or_404(Membership.objects.select_related("user", "org"), org=org, pk=membership_id)


@require_POST
def org_member_role(request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
    """Change a member's org role (the last admin stays an admin)."""
    membership = _membership(request, org_slug, membership_id)
    form = forms.OrgRoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Choose admin, member or viewer.")
        org_services.change_org_role(actor=request.user, membership=membership, role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user.get_username()} is now {membership.get_role_display()}.")
    return redirect("org_members", org_slug)


@require_POST
def org_member_remove(request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
    """Remove a member from the organization and its teams (never the last admin)."""
    membership = _membership(request, org_slug, membership_id)
    try:
        org_services.remove_org_member(actor=request.user, membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user.get_username()} removed from {membership.org}.")
    return redirect("org_members", org_slug)


@require_POST
def invitation_revoke(request: HttpRequest, org_slug: str, invitation_id: int) -> HttpResponse:
    """Withdraw a pending invitation."""
    org = _admin_org(request, org_slug)
    invitation = get_object_or_404(org.invitations.pending(), pk=invitation_id)
    org_services.revoke_invitation(actor=request.user, invitation=invitation)
    messages.success(request, f"Invitation of {invitation.email} revoked: its link no longer works.")
    return redirect("org_members", org_slug)


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: as the logged-in user, or by creating an account for the invited address."""
    invitation = Invitation.objects.select_related("org").filter(hashed_token=hash_api_key(token)).first()
    if invitation is None or invitation.state != "pending":
        state = invitation.state if invitation else "invalid"
        return render(
            request,
            "orgs/invitation_accept.html",
            {"invitation": invitation, "state": state},
            status=410 if invitation else 404,
        )
    form = forms.InvitationSignupForm(request.POST or None) if not request.user.is_authenticated else None
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                org_services.accept_invitation(actor=request.user, token=token)
            elif form.is_valid():
                user = org_services.accept_invitation_with_new_account(token=token, **form.cleaned_data)
                login(request, user, backend="apps.orgs.backends.PeopleModelBackend")
            else:
                raise ValidationError({})
        except ValidationError as error:
            if form is not None:
                add_service_error(form, error)
            else:
                messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Welcome to {invitation.org}.")
            return redirect(invitation.org.get_absolute_url())
    context = {"invitation": invitation, "state": "pending", "form": form}
    return render(request, "orgs/invitation_accept.html", context)


# --- Teams ---------------------------------------------------------------------------------------


@require_GET
def team_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's teams (every member sees them; org admins create them)."""
    org = _org(request, org_slug)
    is_admin = has_perm(request.user, "orgs.admin_organization", org)
    rows = org.teams.annotate(member_count=_count_members())
    context = {"org": org, "page": _page(request, rows, ("name", "pk")), "is_admin": is_admin}
    if is_admin:
        context["form"] = forms.TeamCreateForm()
    return render(request, "orgs/team_list.html", context)


def _count_members():
    return Count("memberships")


@require_POST
def team_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = _admin_org(request, org_slug)
    form = forms.TeamCreateForm(request.POST)
    if form.is_valid():
        try:
            team = org_services.create_team(actor=request.user, org=org, name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Team {team.name} created.")
            return redirect("team_detail", org.slug, team.name)
    rows = org.teams.annotate(member_count=_count_members())
    context = {"org": org, "page": _page(request, rows, ("name", "pk")), "is_admin": True, "form": form}
    return render(request, "orgs/team_list.html", context)


def _team(request: HttpRequest, org_slug: str, team_name: str) -> Team:
    org = _org(request, org_slug)
    return get_object_or_404(Team.objects.select_related("org", "group"), org=org, name=team_name)


def _team_context(request: HttpRequest, team: Team, **extra) -> dict:
    rows = team.memberships.annotate(username=F("user__username")).select_related("user__service_account")
    can_manage = can_manage_team(request.user, team)
    return {
        "org": team.org,
        "team": team,
        "page": _page(request, rows, ("username", "pk")),
        "can_manage": can_manage,
        "team_roles": TeamRole.choices,
        "form": forms.TeamMemberAddForm() if can_manage else None,
        **extra,
    }


@require_GET
def team_detail(request: HttpRequest, org_slug: str, team_name: str) -> HttpResponse:
    """A team's members and their team roles; org admins and team admins manage them."""
    team = _team(request, org_slug, team_name)
    return render(request, "orgs/team_detail.html", _team_context(request, team))


@require_POST
def team_member_add(request: HttpRequest, org_slug: str, team_name: str) -> HttpResponse:
    team = _team(request, org_slug, team_name)
    if not can_manage_team(request.user, team):
        require(request.user, "orgs.admin_organization", team.org)  # raises PermissionDenied
    form = forms.TeamMemberAddForm(request.POST)
    if form.is_valid():
        try:
            user = _org_member(team.org, form.cleaned_data["name"])
            org_services.add_team_member(actor=request.user, team=team, user=user, role=form.cleaned_data["role"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"{user.get_username()} added to {team.name}.")
            return redirect("team_detail", team.org.slug, team.name)
    return render(request, "orgs/team_detail.html", _team_context(request, team, form=form))


def _org_member(org: Organization, name: str):
    """The org member called `name` (username or email)."""
    user = org_services.find_user(name) or _service_account_user(org, name)
    if user is None or not Membership.objects.filter(org=org, user=user).exists():
        raise ValidationError({"name": f"There is no member “{name[:150]}” in {org}."})
    return user


def _service_account_user(org: Organization, name: str):
    account = org.service_accounts.filter(user__username__iexact=name.strip()).select_related("user").first()
    return account.user if account else None


def _team_membership(request: HttpRequest, org_slug: str, team_name: str, user_id: int) -> TeamMembership:
    team = _team(request, org_slug, team_name)
    if not can_manage_team(request.user, team):
        require(request.user, "orgs.admin_organization", team.org)
    return get_object_or_404(team.memberships.select_related("user", "team__org"), user_id=user_id)


@require_POST
def team_member_role(request: HttpRequest, org_slug: str, team_name: str, user_id: int) -> HttpResponse:
    """Make a team member a team admin, or a plain member again."""
    tm = _team_membership(request, org_slug, team_name, user_id)
    form = forms.TeamRoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Choose admin or member.")
        org_services.change_team_role(actor=request.user, team=tm.team, user=tm.user, role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{tm.user.get_username()}'s team role changed.")
    return redirect("team_detail", org_slug, team_name)


@require_POST
def team_member_remove(request: HttpRequest, org_slug: str, team_name: str, user_id: int) -> HttpResponse:
    tm = _team_membership(request, org_slug, team_name, user_id)
    try:
        org_services.remove_team_member(actor=request.user, team=tm.team, user=tm.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{tm.user.get_username()} removed from {tm.team.name}.")
    return redirect("team_detail", org_slug, team_name)


# --- Service accounts ----------------------------------------------------------------------------


def _service_accounts_context(request: HttpRequest, org: Organization, **extra) -> dict:
    rows = org.service_accounts.annotate(username=F("user__username")).select_related("user", "team")
    return {
        "org": org,
        "page": _page(request, rows, ("username", "pk")),
        "form": forms.ServiceAccountCreateForm(org=org),
        **extra,
    }


@require_GET
def service_account_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's service accounts (org admins): non-human users for CI, with API keys only."""
    org = _admin_org(request, org_slug)
    return render(request, "orgs/service_account_list.html", _service_accounts_context(request, org))


@require_POST
def service_account_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = _admin_org(request, org_slug)
    form = forms.ServiceAccountCreateForm(request.POST, org=org)
    if form.is_valid():
        try:
            account = org_services.create_service_account(actor=request.user, org=org, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Service account {account.name} created. Create an API key for it below.")
            return redirect(account.get_absolute_url())
    return render(request, "orgs/service_account_list.html", _service_accounts_context(request, org, form=form))


def _service_account(request: HttpRequest, org_slug: str, account_id: int) -> ServiceAccount:
    org = _admin_org(request, org_slug)
    return get_object_or_404(ServiceAccount.objects.select_related("user", "team", "org"), org=org, pk=account_id)


def _service_account_context(request: HttpRequest, account: ServiceAccount, **extra) -> dict:
    return {
        "org": account.org,
        "account": account,
        "keys": ApiKey.objects.filter(user=account.user).order_by("revoked_at", "-created_at")[:PAGE_SIZE],
        "form": forms.ApiKeyCreateForm(),
        "base_url": request.build_absolute_uri("/"),
        **extra,
    }


@require_GET
def service_account_detail(request: HttpRequest, org_slug: str, account_id: int) -> HttpResponse:
    """A service account: its scope, its API keys (create one: shown once; revoke), deactivate it."""
    account = _service_account(request, org_slug, account_id)
    return render(request, "orgs/service_account_detail.html", _service_account_context(request, account))


@require_POST
def service_account_key_create(request: HttpRequest, org_slug: str, account_id: int) -> HttpResponse:
    account = _service_account(request, org_slug, account_id)
    form = forms.ApiKeyCreateForm(request.POST)
    secret = None
    if form.is_valid():
        try:
            _, secret = org_services.create_api_key(
                actor=request.user, user=account.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            form = forms.ApiKeyCreateForm()
    context = _service_account_context(request, account, form=form, new_secret=secret)
    return render(request, "orgs/service_account_detail.html", context)


@require_POST
def service_account_key_revoke(request: HttpRequest, org_slug: str, account_id: int, key_id: int) -> HttpResponse:
    account = _service_account(request, org_slug, account_id)
    key = get_object_or_404(ApiKey.objects.filter(user=account.user, revoked_at__isnull=True), pk=key_id)
    org_services.revoke_api_key(actor=request.user, key=key)
    messages.success(request, f"Key “{key.name}” revoked. Scripts using it now get 401.")
    return redirect(account.get_absolute_url())


@require_POST
def service_account_deactivate(request: HttpRequest, org_slug: str, account_id: int) -> HttpResponse:
    account = _service_account(request, org_slug, account_id)
    try:
        org_services.deactivate_service_account(actor=request.user, account=account)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{account.name} deactivated; its keys are revoked.")
    return redirect(account.get_absolute_url())


# --- Suggestions ---------------------------------------------------------------------------------


@require_GET
def people_suggest(request: HttpRequest, org_slug: str) -> HttpResponse:
    """`<option>`s of the organization's members (and teams with `kind=team`) matching what was typed.

    SECURITY: only for people who manage members here (org admins, team admins): other members get
    403 and outsiders 404, so nobody learns names they could not already manage.
    """
    org = _org(request, org_slug)
    manages = (
        has_perm(request.user, "orgs.admin_organization", org)
        or TeamMembership.objects.filter(team__org=org, user=request.user, role=TeamRole.ADMIN).exists()
    )
    if not manages:
        require(request.user, "orgs.admin_organization", org)
    typed = request.GET.get("name", "").strip()[:150]
    if request.GET.get("kind") == "team":
        options = [(t.name, "Team") for t in org.teams.filter(name__icontains=typed).order_by("name")[:SUGGESTIONS]]
    else:
        options = member_suggestions(org, typed, SUGGESTIONS)
    return HttpResponse(render_to_string("orgs/_people_suggestions.html", {"options": options}))
