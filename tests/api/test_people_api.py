"""Org members, invitations and teams through the API: who may, what it writes, and clear 4xx answers."""

import json

import pytest

from apps.audit.models import Action, AuditEvent
from apps.orgs import services as orgs
from apps.orgs.models import Invitation, Membership, TeamMembership


@pytest.fixture
def call(client, world):
    keys = {}

    def send(persona, method, path, body=None, **query):
        if persona not in keys:
            keys[persona] = orgs.create_api_key(actor=world[persona], user=world[persona], name="api")[1]
        headers = {"authorization": f"Bearer {keys[persona]}"}
        url = "/api/v1/" + path
        if method == "GET":
            return client.get(url, query, headers=headers)
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        data = None if body is None else json.dumps(body)
        return client.generic(method, url, data=data, content_type="application/json", headers=headers)

    return send


def test_members_list_pages_and_badges_service_accounts(call, world):
    orgs.create_service_account(actor=world["org_admin"], org=world.org, name="ci-bot")
    first = call("org_admin", "GET", "orgs/acme/members", per_page=3).json()
    assert [m["username"] for m in first["items"]] == ["ci-bot", "member", "org_admin"]
    assert first["items"][0]["service_account"] is True
    rest = call("org_admin", "GET", "orgs/acme/members", cursor=first["next_cursor"], per_page=50).json()
    assert [m["username"] for m in rest["items"]] == ["registry_admin", "restricted_viewer", "team_member", "viewer"]


@pytest.mark.parametrize(("persona", "status"), [("member", 403), ("viewer", 403), ("outsider", 404)])
def test_only_org_admins_manage_members(call, world, persona, status):
    before = AuditEvent.objects.filter(org=world.org).count()
    assert call(persona, "GET", "orgs/acme/members").status_code == status
    assert call(persona, "POST", "orgs/acme/members", {"user": "x@example.com"}).status_code == status
    assert call(persona, "PATCH", "orgs/acme/members/viewer", {"role": "admin"}).status_code == status
    assert call(persona, "DELETE", "orgs/acme/members/viewer").status_code == status
    assert call(persona, "POST", "orgs/acme/teams", {"name": "nlp"}).status_code == status
    assert AuditEvent.objects.filter(org=world.org).count() == before
    assert not Invitation.objects.exists()


def test_add_invite_change_and_remove(call, world):
    response = call("org_admin", "POST", "orgs/acme/members", {"user": "new@example.com", "role": "viewer"})
    assert response.status_code == 201
    invitation = response.json()["invitation"]
    assert invitation["link"].startswith("http://testserver/invitations/") and response.json()["member"] is None
    added = call("org_admin", "POST", "orgs/acme/members", {"user": "outsider@example.com"})
    assert added.status_code == 201 and added.json()["member"]["username"] == "outsider"
    changed = call("org_admin", "PATCH", "orgs/acme/members/outsider", {"role": "admin"})
    assert changed.json()["role"] == "admin"
    assert call("org_admin", "DELETE", "orgs/acme/members/outsider").status_code == 204
    assert not Membership.objects.filter(org=world.org, user=world["outsider"]).exists()
    actions = list(AuditEvent.objects.filter(org=world.org).order_by("-id").values_list("action", flat=True)[:4])
    assert actions == [
        Action.ORG_REMOVE_MEMBER, Action.ORG_UPDATE_MEMBER, Action.ORG_ADD_MEMBER, Action.INVITATION_CREATE,
    ]  # fmt: skip


def test_refusals_are_clear_400s(call, world):
    last_admin = call("org_admin", "DELETE", "orgs/acme/members/org_admin")
    assert last_admin.status_code == 400 and "at least one admin" in last_admin.json()["detail"]
    assert call("org_admin", "PATCH", "orgs/acme/members/viewer", {"role": "owner"}).status_code == 400
    assert call("org_admin", "POST", "orgs/acme/members", {"user": "ghost"}).status_code == 400
    assert call("org_admin", "DELETE", "orgs/acme/members/ghost").status_code == 404


def test_teams_and_team_admins(call, world):
    assert call("viewer", "GET", "orgs/acme/teams").json() == ["vision"]
    created = call("org_admin", "POST", "orgs/acme/teams", {"name": "nlp"})
    assert created.status_code == 201 and created.json() == {"name": "nlp", "org": "acme", "members": []}
    made = call("org_admin", "PUT", "orgs/acme/teams/nlp/members", {"user": "viewer@example.com", "role": "admin"})
    assert made.json()["members"] == [{"username": "viewer", "role": "admin", "service_account": False}]
    # The team admin manages the team; plain members may not.
    assert call("viewer", "PUT", "orgs/acme/teams/nlp/members", {"user": "member"}).status_code == 200
    assert call("member", "DELETE", "orgs/acme/teams/nlp/members", user="viewer").status_code == 403
    assert call("viewer", "DELETE", "orgs/acme/teams/nlp/members", user="member").status_code == 204
    assert not TeamMembership.objects.filter(team__name="nlp", user=world["member"]).exists()
    assert call("outsider", "GET", "orgs/acme/teams/nlp").status_code == 404
    bad = call("org_admin", "PUT", "orgs/acme/teams/nlp/members", {"user": "outsider"})
    assert bad.status_code == 400 and "no member" in bad.json()["detail"]
