"""Organization settings pages: permission matrices, what they write, and constant query counts."""

import pytest
from django.core import mail
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.orgs import services as orgs
from apps.orgs.models import ApiKey, Invitation, Membership, OrgRole, ServiceAccount, TeamMembership, TeamRole
from tests.conftest import ALL, assert_status
from tests.factories import UserFactory


def admins_only(ok: int) -> list[tuple[str, int]]:
    """Org admins get `ok`; other org members 403; outsiders 404; anonymous visitors the login page."""
    table = dict.fromkeys(ALL, 403)
    table.update(org_admin=ok, outsider=404, anonymous=302)
    return list(table.items())


def org_members_ok(ok: int) -> list[tuple[str, int]]:
    table = dict.fromkeys(ALL, ok)
    table.update(outsider=404, anonymous=302)
    return list(table.items())


@pytest.fixture
def bot(world):
    return orgs.create_service_account(actor=world["org_admin"], org=world.org, name="ci-bot", team=world.team)


# --- Pages ---


@pytest.mark.parametrize(("persona", "status"), admins_only(200))
@pytest.mark.parametrize("page", ["org_members", "service_account_list", "service_account_detail", "people_suggest"])
def test_admin_pages_permissions(login, world, bot, persona, status, page):
    args = ["acme", bot.pk] if page == "service_account_detail" else ["acme"]
    assert_status(login(persona).get(reverse(page, args=args)), persona, status)


@pytest.mark.parametrize(("persona", "status"), org_members_ok(200))
@pytest.mark.parametrize("page", ["team_list", "team_detail"])
def test_team_pages_are_readable_by_org_members(login, world, persona, status, page):
    args = ["acme", "vision"] if page == "team_detail" else ["acme"]
    assert_status(login(persona).get(reverse(page, args=args)), persona, status)


def test_team_pages_show_controls_to_managers_only(login, world):
    url = reverse("team_detail", args=["acme", "vision"])
    assert "Add to team" in login("org_admin").get(url).content.decode()
    assert "Add to team" not in login("team_member").get(url).content.decode()
    orgs.change_team_role(actor=world["org_admin"], team=world.team, user=world["team_member"], role=TeamRole.ADMIN)
    assert "Add to team" in login("team_member").get(url).content.decode()


def test_suggestions_are_scoped_to_the_org_and_badge_service_accounts(login, world, bot):
    client = login("org_admin")
    html = client.get(reverse("people_suggest", args=["acme"]), {"name": "e"}).content.decode()
    assert 'value="member"' in html and 'value="outsider"' not in html
    html = client.get(reverse("people_suggest", args=["acme"]), {"name": "ci"}).content.decode()
    assert 'value="ci-bot"' in html and "Service account" in html
    html = client.get(reverse("people_suggest", args=["acme"]), {"name": "vi", "kind": "team"}).content.decode()
    assert 'value="vision"' in html
    # By email, too (members' addresses are <username>@example.com).
    html = client.get(reverse("people_suggest", args=["acme"]), {"name": "viewer@exa"}).content.decode()
    assert 'value="viewer"' in html
    # A team admin of this org may ask (they add team members); an outsider learns nothing.
    orgs.change_team_role(actor=world["org_admin"], team=world.team, user=world["member"], role=TeamRole.ADMIN)
    assert login("member").get(reverse("people_suggest", args=["acme"]), {"name": "e"}).status_code == 200
    assert login("outsider").get(reverse("people_suggest", args=["acme"]), {"name": "e"}).status_code == 404


# --- Actions: who may, and what each writes ---


def _post(world, name, bot):
    """(url name, args, data) of each action, on the world."""
    viewer_membership = Membership.objects.get(org=world.org, user=world["viewer"])
    key, _ = orgs.create_api_key(actor=world["org_admin"], user=bot.user, name="k")
    invitation, _ = orgs.invite_org_member(actor=world["org_admin"], org=world.org, email="inv@example.com")
    UserFactory(username="newbie")
    return {
        "org_member_add": (["acme"], {"name": "newbie", "role": "member"}, Action.ORG_ADD_MEMBER),
        "org_member_role": (["acme", viewer_membership.pk], {"role": "member"}, Action.ORG_UPDATE_MEMBER),
        "org_member_remove": (["acme", viewer_membership.pk], {}, Action.ORG_REMOVE_MEMBER),
        "invitation_revoke": (["acme", invitation.pk], {}, Action.INVITATION_REVOKE),
        "team_create": (["acme"], {"name": "nlp"}, Action.TEAM_CREATE),
        "service_account_create": (["acme"], {"name": "deployer", "team": "", "description": ""}, None),
        "service_account_key_create": (["acme", bot.pk], {"name": "gh"}, Action.API_KEY_CREATE),
        "service_account_key_revoke": (["acme", bot.pk, key.pk], {}, Action.API_KEY_REVOKE),
        "service_account_deactivate": (["acme", bot.pk], {}, Action.SERVICE_ACCOUNT_DEACTIVATE),
    }[name]


ADMIN_ACTIONS = [
    ("org_member_add", 302),
    ("org_member_role", 302),
    ("org_member_remove", 302),
    ("invitation_revoke", 302),
    ("team_create", 302),
    ("service_account_create", 302),
    ("service_account_key_create", 200),  # the page with the new secret, shown once
    ("service_account_key_revoke", 302),
    ("service_account_deactivate", 302),
]


@pytest.mark.parametrize(("action", "ok"), ADMIN_ACTIONS)
@pytest.mark.parametrize("persona", ALL)
def test_admin_actions_permissions(login, world, bot, action, ok, persona):
    args, data, audit_action = _post(world, action, bot)
    expected = dict(admins_only(ok))[persona]
    before = AuditEvent.objects.count()
    response = login(persona).post(reverse(action, args=args), data)
    assert_status(response, persona, expected)
    if expected == ok and persona != "anonymous":
        assert AuditEvent.objects.count() == before + 1
        event = AuditEvent.objects.order_by("-id").first()
        assert event.action == (audit_action or Action.SERVICE_ACCOUNT_CREATE)
    else:
        assert AuditEvent.objects.count() == before


TEAM_ACTIONS = ["team_member_add", "team_member_role", "team_member_remove"]


def _team_post(world, action):
    return {
        "team_member_add": (["acme", "vision"], {"name": "viewer", "role": "member"}, Action.TEAM_ADD_MEMBER),
        "team_member_role": (["acme", "vision", world["member"].pk], {"role": "admin"}, Action.TEAM_UPDATE_MEMBER),
        "team_member_remove": (["acme", "vision", world["member"].pk], {}, Action.TEAM_REMOVE_MEMBER),
    }[action]


@pytest.mark.parametrize("action", TEAM_ACTIONS)
@pytest.mark.parametrize("persona", [*ALL, "team_admin"])
def test_team_actions_permissions(login, world, action, persona):
    if persona == "team_admin":  # team_member, made an admin of the team
        orgs.change_team_role(actor=world["org_admin"], team=world.team, user=world["team_member"], role="admin")
        persona = "team_member"
        expected = 302
    else:
        expected = dict(admins_only(302))[persona]
    args, data, audit_action = _team_post(world, action)
    before = AuditEvent.objects.count()
    response = login(persona).post(reverse(action, args=args), data)
    assert_status(response, persona, expected)
    if expected == 302 and persona != "anonymous":
        assert AuditEvent.objects.order_by("-id").first().action == audit_action
        assert AuditEvent.objects.count() == before + 1
    else:
        assert AuditEvent.objects.count() == before


# --- What the pages do ---


def test_invite_shows_the_link_once_and_mails_it(login, world, django_capture_on_commit_callbacks):
    client = login("org_admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("org_member_add", args=["acme"]), {"name": "new@example.com", "role": "viewer"})
    assert response.status_code == 200
    link = response.context["invitation_link"]
    assert link.startswith("http://testserver/invitations/")
    assert link in response.content.decode()
    assert link in mail.outbox[0].body
    # Listed as pending, without its link.
    html = client.get(reverse("org_members", args=["acme"])).content.decode()
    assert "new@example.com" in html and link not in html


def test_invitation_link_signup_flow(client, world):
    _, token = orgs.invite_org_member(actor=world["org_admin"], org=world.org, email="hana@example.com")
    url = reverse("invitation_accept", args=[token])
    page = client.get(url)
    assert page.status_code == 200 and "Create account and join" in page.content.decode()
    bad = client.post(url, {"username": "hana", "password": "1"})
    assert bad.status_code == 200 and bad.context["form"].errors
    response = client.post(url, {"username": "hana", "password": "a-long-passphrase-9"})
    assert response.status_code == 302
    assert Membership.objects.filter(org=world.org, user__username="hana").exists()
    assert client.get(reverse("collections:landing", args=["acme"])).status_code == 200  # logged in
    used = client.get(url)
    assert used.status_code == 410 and "accepted" in used.content.decode()
    assert client.get(reverse("invitation_accept", args=["nope"])).status_code == 404


def test_invitation_accept_as_logged_in_user(login, world):
    _, token = orgs.invite_org_member(actor=world["org_admin"], org=world.org, email="o@example.com")
    client = login("outsider")
    assert client.post(reverse("invitation_accept", args=[token])).status_code == 302
    assert Membership.objects.filter(org=world.org, user=world["outsider"]).exists()
    assert Invitation.objects.get().state == "accepted"


def test_member_add_errors_show_on_the_form(login, world):
    response = login("org_admin").post(reverse("org_member_add", args=["acme"]), {"name": "ghost", "role": "member"})
    assert response.status_code == 200
    assert "give their email address" in response.content.decode()
    response = login("org_admin").post(reverse("org_member_add", args=["acme"]), {"name": "x", "role": "owner"})
    assert response.status_code == 200 and response.context["form"].errors


def test_last_admin_cannot_be_removed_or_demoted(login, world):
    membership = Membership.objects.get(org=world.org, user=world["org_admin"])
    client = login("org_admin")
    response = client.post(reverse("org_member_remove", args=["acme", membership.pk]), follow=True)
    assert "at least one admin" in response.content.decode()
    response = client.post(reverse("org_member_role", args=["acme", membership.pk]), {"role": "viewer"}, follow=True)
    assert "at least one admin" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == OrgRole.ADMIN


def test_service_account_pages_create_key_and_deactivate(login, world):
    client = login("org_admin")
    response = client.post(reverse("service_account_create", args=["acme"]), {"name": "ship-it", "team": world.team.pk})
    account = ServiceAccount.objects.get(user__username="ship-it")
    assert response["Location"] == account.get_absolute_url() and account.team == world.team
    response = client.post(reverse("service_account_key_create", args=["acme", account.pk]), {"name": "gh"})
    secret = response.context["new_secret"]
    assert secret in response.content.decode()
    assert ApiKey.objects.authenticate(secret).user == account.user
    assert secret not in client.get(account.get_absolute_url()).content.decode()
    client.post(reverse("service_account_deactivate", args=["acme", account.pk]))
    assert ApiKey.objects.authenticate(secret) is None
    bad = client.post(reverse("service_account_create", args=["acme"]), {"name": "member"})
    assert bad.status_code == 200 and "taken" in bad.content.decode()


def test_team_pages_create_and_add_by_email(login, world):
    client = login("org_admin")
    assert client.post(reverse("team_create", args=["acme"]), {"name": "nlp"})["Location"].endswith("/teams/nlp/")
    response = client.post(
        reverse("team_member_add", args=["acme", "nlp"]), {"name": "viewer@example.com", "role": "admin"}
    )
    assert response.status_code == 302
    assert TeamMembership.objects.get(team__name="nlp", user=world["viewer"]).role == TeamRole.ADMIN
    outsider = client.post(reverse("team_member_add", args=["acme", "nlp"]), {"name": "outsider", "role": "member"})
    assert outsider.status_code == 200 and "no member" in outsider.content.decode()


# --- Query counts: constant whatever the list's length ---


def _more_members(world, n):
    for i in range(n):
        user = UserFactory(username=f"extra{n}-{i}")
        orgs.add_org_member(actor=world["org_admin"], org=world.org, user=user)
        orgs.add_team_member(actor=world["org_admin"], team=world.team, user=user)
    for i in range(n):
        account = orgs.create_service_account(actor=world["org_admin"], org=world.org, name=f"bot{i}-{n}")
        orgs.create_api_key(actor=world["org_admin"], user=account.user, name="k")
        orgs.invite_org_member(actor=world["org_admin"], org=world.org, email=f"i{i}-{n}@example.com")
        orgs.create_team(actor=world["org_admin"], org=world.org, name=f"team{i}-{n}")


@pytest.mark.parametrize(
    ("page", "queries"),
    [
        # session, user, shell orgs, org, admin perm, member page, pending invitations, admin count
        ("org_members", 8),
        # session, user, shell orgs, org, admin perm, teams page
        ("team_list", 6),
        # session, user, shell orgs, org, team, admin perm, team members page
        ("team_detail", 7),
        # session, user, shell orgs, org, admin perm, service accounts page, team choices of the form
        ("service_account_list", 7),
    ],
)
def test_list_pages_cost_the_same_at_two_sizes(login, world, django_assert_num_queries, page, queries):
    client = login("org_admin")
    url = reverse(page, args=["acme", "vision"] if page == "team_detail" else ["acme"])
    _more_members(world, 1)
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
    _more_members(world, 12)
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert len(response.context["page"].rows) >= 13


def test_member_list_pages_with_keyset_cursors(login, world, monkeypatch):
    monkeypatch.setattr("apps.orgs.people_views.PAGE_SIZE", 3)
    client = login("org_admin")
    seen, url = [], reverse("org_members", args=["acme"])
    response = client.get(url)
    while True:
        seen += [m.user.username for m in response.context["page"].rows]
        page = response.context["page"]
        if not page.has_next:
            break
        response = client.get(url, {"after": page.next_cursor})
    assert seen == sorted(Membership.objects.filter(org=world.org).values_list("user__username", flat=True))
    assert client.get(url, {"after": "garbage"}).status_code == 200  # a tampered cursor: the first page
