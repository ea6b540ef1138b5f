"""Organization services: members, roles, teams."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Action, AuditEvent
from apps.orgs import services
from apps.orgs.models import Membership, OrgRole, Team
from apps.registries.models import Registry
from tests.factories import UserFactory


def test_create_organization_requires_staff(db):
    with pytest.raises(PermissionDenied):
        services.create_organization(actor=UserFactory(), slug="x", name="X")


def test_create_organization_validates_slug(world):
    with pytest.raises(ValidationError, match="already exists"):
        services.create_organization(actor=world["org_admin"], slug="acme", name="Again")
    with pytest.raises(ValidationError):
        services.create_organization(actor=world["org_admin"], slug="Bad Slug!", name="Bad")


def test_add_change_remove_member(world):
    user = UserFactory(username="newbie")
    membership = services.add_org_member(actor=world["org_admin"], org=world.org, user=user, role=OrgRole.VIEWER)
    assert Registry.objects.visible_to(user).filter(org=world.org).count() == 2  # the core registries
    services.change_org_role(actor=world["org_admin"], membership=membership, role=OrgRole.ADMIN)
    assert Registry.objects.visible_to(user).filter(pk=world.registry.pk).exists()
    assert AuditEvent.objects.get(action=Action.ORG_UPDATE_MEMBER).data == {
        "user": "newbie",
        "from": "viewer",
        "to": "admin",
    }
    services.remove_org_member(actor=world["org_admin"], membership=membership)
    assert not Registry.objects.visible_to(user).exists()
    assert AuditEvent.objects.filter(action=Action.ORG_REMOVE_MEMBER).count() == 1


def test_member_management_is_admin_only_and_validated(world):
    user = UserFactory(username="newbie")
    with pytest.raises(PermissionDenied):
        services.add_org_member(actor=world["member"], org=world.org, user=user)
    with pytest.raises(ValidationError, match="Unknown role"):
        services.add_org_member(actor=world["org_admin"], org=world.org, user=user, role="owner")
    with pytest.raises(ValidationError, match="already a member"):
        services.add_org_member(actor=world["org_admin"], org=world.org, user=world["member"])
    assert not Membership.objects.filter(user=user).exists()
    last_admin = Membership.objects.get(org=world.org, user=world["org_admin"])
    with pytest.raises(ValidationError, match="at least one admin"):
        services.change_org_role(actor=world["org_admin"], membership=last_admin, role=OrgRole.MEMBER)


def test_teams_share_the_username_namespace(world):
    with pytest.raises(ValidationError, match="taken"):
        services.create_team(actor=world["org_admin"], org=world.org, name="member")
    with pytest.raises(ValidationError, match="taken"):
        services.create_team(actor=world["org_admin"], org=world.org, name="VISION")
    with pytest.raises(PermissionDenied):
        services.create_team(actor=world["member"], org=world.org, name="nlp")
    team = services.create_team(actor=world["org_admin"], org=world.org, name="nlp")
    assert team.group.name == "team:nlp"
    assert AuditEvent.objects.filter(action=Action.TEAM_CREATE, target_id=str(team.pk)).exists()
    assert Team.objects.visible_to(world["viewer"]).filter(pk=team.pk).exists()
    assert not Team.objects.visible_to(world["outsider"]).filter(pk=team.pk).exists()


def test_team_membership(world):
    with pytest.raises(ValidationError, match="not a member"):
        services.add_team_member(actor=world["org_admin"], team=world.team, user=world["outsider"])
    with pytest.raises(ValidationError, match="already"):
        services.add_team_member(actor=world["org_admin"], team=world.team, user=world["member"])
    services.remove_team_member(actor=world["org_admin"], team=world.team, user=world["member"])
    assert not world["member"].groups.filter(pk=world.team.group_id).exists()
    with pytest.raises(ValidationError, match="not in team"):
        services.remove_team_member(actor=world["org_admin"], team=world.team, user=world["member"])
