"""Members, invitations and teams through the services: permission, validation, one audit event each."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.audit.models import Action, AuditEvent
from apps.orgs import services as orgs
from apps.orgs.models import Invitation, Membership, OrgRole, TeamMembership, TeamRole
from apps.registries import services as registries
from apps.registries.models import Registry, find_principal
from tests.factories import UserFactory


def _events(action):
    return AuditEvent.objects.filter(action=action)


def test_add_by_username_or_email(world):
    admin = world["org_admin"]
    carol = UserFactory(username="carol", email="Carol@Example.com")
    membership, invitation, token = orgs.add_or_invite_org_member(actor=admin, org=world.org, name="carol@example.com")
    assert membership.user == carol and invitation is None and token == ""
    assert _events(Action.ORG_ADD_MEMBER).filter(data__user="carol").count() == 1
    dave = UserFactory(username="dave")
    membership, _, _ = orgs.add_or_invite_org_member(actor=admin, org=world.org, name="DAVE", role=OrgRole.VIEWER)
    assert membership.user == dave and membership.role == OrgRole.VIEWER


def test_unknown_email_gets_an_invitation_mailed_after_commit(world, django_capture_on_commit_callbacks):
    admin = world["org_admin"]
    with django_capture_on_commit_callbacks(execute=True):
        membership, invitation, token = orgs.add_or_invite_org_member(
            actor=admin, org=world.org, name="New@Example.com", site_url="http://reg.test"
        )
    assert membership is None
    assert invitation.email == "new@example.com" and invitation.state == "pending"
    assert invitation.hashed_token != token and len(token) >= 40
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert f"http://reg.test/invitations/{token}/" in mail.outbox[0].body
    event = _events(Action.INVITATION_CREATE).get()
    assert event.data == {"email": "new@example.com", "role": "member"} and event.actor == admin


def test_unknown_username_is_a_clear_error(world):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="give their email"):
        orgs.add_or_invite_org_member(actor=world["org_admin"], org=world.org, name="nobody")
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("email", ["not-an-email", "a@", "x" * 300 + "@example.com"])
def test_invalid_emails_are_refused(world, email):
    with pytest.raises(ValidationError, match="not a valid email"):
        orgs.invite_org_member(actor=world["org_admin"], org=world.org, email=email)
    assert not Invitation.objects.exists()


def test_second_pending_invitation_and_existing_members_are_refused(world):
    admin = world["org_admin"]
    orgs.invite_org_member(actor=admin, org=world.org, email="x@example.com")
    with pytest.raises(ValidationError, match="pending invitation"):
        orgs.invite_org_member(actor=admin, org=world.org, email="X@example.com")
    with pytest.raises(ValidationError, match="already a member"):
        orgs.invite_org_member(actor=admin, org=world.org, email="member@example.com")


@pytest.mark.parametrize("persona", ["registry_admin", "member", "viewer", "outsider"])
def test_only_org_admins_add_or_invite(world, persona):
    with pytest.raises(PermissionDenied):
        orgs.add_or_invite_org_member(actor=world[persona], org=world.org, name="z@example.com")
    assert not Invitation.objects.exists()


def test_accept_as_logged_in_user_once(world):
    _, token = orgs.invite_org_member(actor=world["org_admin"], org=world.org, email="erin@example.com", role="viewer")
    erin = UserFactory(username="erin")
    membership = orgs.accept_invitation(actor=erin, token=token)
    assert membership.role == OrgRole.VIEWER
    assert erin.groups.filter(pk=world.org.viewers_group_id).exists()
    event = _events(Action.ORG_ADD_MEMBER).get(data__user="erin")
    assert event.actor == erin and event.data["invitation"] == "erin@example.com"
    with pytest.raises(ValidationError, match="accepted"):
        orgs.accept_invitation(actor=UserFactory(username="frank"), token=token)


def test_accept_with_a_new_account(world):
    _, token = orgs.invite_org_member(actor=world["org_admin"], org=world.org, email="gina@example.com")
    user = orgs.accept_invitation_with_new_account(token=token, username="gina", password="a-long-passphrase-9")
    assert user.email == "gina@example.com" and user.check_password("a-long-passphrase-9")
    assert Membership.objects.get(org=world.org, user=user).role == OrgRole.MEMBER
    assert _events(Action.ORG_ADD_MEMBER).get(data__user="gina").data["new_account"] is True


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [("vision", "a-long-passphrase-9", "taken"), ("member", "a-long-passphrase-9", "taken"), ("gina", "123", "short")],
)
def test_new_account_is_validated_and_writes_nothing(world, username, password, message):
    invitation, token = orgs.invite_org_member(actor=world["org_admin"], org=world.org, email="gina@example.com")
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match=message):
        orgs.accept_invitation_with_new_account(token=token, username=username, password=password)
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert AuditEvent.objects.count() == before


def test_expired_revoked_and_unknown_invitations_are_refused(world):
    admin = world["org_admin"]
    expired, token = orgs.invite_org_member(actor=admin, org=world.org, email="old@example.com")
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ValidationError, match="expired"):
        orgs.accept_invitation(actor=UserFactory(username="late"), token=token)
    revoked, token2 = orgs.invite_org_member(actor=admin, org=world.org, email="gone@example.com")
    orgs.revoke_invitation(actor=admin, invitation=revoked)
    assert _events(Action.INVITATION_REVOKE).get().data == {"email": "gone@example.com"}
    with pytest.raises(ValidationError, match="revoked"):
        orgs.accept_invitation(actor=UserFactory(username="late2"), token=token2)
    with pytest.raises(ValidationError, match="not valid"):
        orgs.accept_invitation(actor=UserFactory(username="late3"), token="made-up")
    with pytest.raises(ValidationError, match="already revoked"):
        orgs.revoke_invitation(actor=admin, invitation=revoked)
    with pytest.raises(PermissionDenied):
        orgs.revoke_invitation(actor=world["member"], invitation=expired)


def test_remove_refuses_the_last_admin(world):
    membership = Membership.objects.get(org=world.org, user=world["org_admin"])
    with pytest.raises(ValidationError, match="at least one admin"):
        orgs.remove_org_member(actor=world["org_admin"], membership=membership)
    assert Membership.objects.filter(pk=membership.pk).exists()


# --- Teams ---


def test_team_admins_manage_their_team(world):
    admin, team = world["org_admin"], world.team
    orgs.change_team_role(actor=admin, team=team, user=world["member"], role=TeamRole.ADMIN)
    assert _events(Action.TEAM_UPDATE_MEMBER).get().data == {"user": "member", "from": "member", "to": "admin"}
    lead = world["member"]
    orgs.add_team_member(actor=lead, team=team, user=world["viewer"])
    assert TeamMembership.objects.get(team=team, user=world["viewer"]).role == TeamRole.MEMBER
    orgs.remove_team_member(actor=lead, team=team, user=world["team_member"])
    assert not TeamMembership.objects.filter(team=team, user=world["team_member"]).exists()
    # ...but not another team, nor the organization.
    other = orgs.create_team(actor=admin, org=world.org, name="nlp")
    with pytest.raises(PermissionDenied):
        orgs.add_team_member(actor=lead, team=other, user=world["viewer"])
    with pytest.raises(PermissionDenied):
        orgs.create_team(actor=lead, org=world.org, name="mine")


@pytest.mark.parametrize("persona", ["team_member", "viewer", "registry_admin"])
def test_plain_members_do_not_manage_teams(world, persona):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        orgs.change_team_role(actor=world[persona], team=world.team, user=world["member"], role=TeamRole.ADMIN)
    with pytest.raises(PermissionDenied):
        orgs.remove_team_member(actor=world[persona], team=world.team, user=world["member"])
    assert AuditEvent.objects.count() == before


def test_team_role_validation(world):
    admin, team = world["org_admin"], world.team
    with pytest.raises(ValidationError, match="Unknown team role"):
        orgs.change_team_role(actor=admin, team=team, user=world["member"], role="owner")
    with pytest.raises(ValidationError, match="not in team"):
        orgs.change_team_role(actor=admin, team=team, user=world["viewer"], role=TeamRole.ADMIN)
    bot = orgs.create_service_account(actor=admin, org=world.org, name="bot", team=team)
    with pytest.raises(ValidationError, match="cannot be team admins"):
        orgs.change_team_role(actor=admin, team=team, user=bot.user, role=TeamRole.ADMIN)


def test_removing_from_a_team_removes_registry_access_through_it(world):
    registry = world.registry
    assert Registry.objects.visible_to(world["team_member"]).filter(pk=registry.pk).exists()
    orgs.remove_team_member(actor=world["org_admin"], team=world.team, user=world["team_member"])
    assert not Registry.objects.visible_to(world["team_member"]).filter(pk=registry.pk).exists()


# --- Registry members by email ---


def test_registry_principal_by_email_within_the_org_only(world):
    assert find_principal(world.org, "user", "Viewer@example.com") == world["viewer"]
    with pytest.raises(ValidationError, match="no member"):
        find_principal(world.org, "user", "outsider@example.com")
    registries.grant_registry_role(
        actor=world["org_admin"], registry=world.registry, principal=find_principal(world.org, "team", "VISION")
    )
