"""delete_organization, delete_team and delete_project: who may, what blocks them, one audit event."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from apps.artifacts import services as artifacts
from apps.artifacts.models import Project
from apps.audit.models import Action, AuditEvent
from apps.orgs import services as orgs
from apps.orgs.models import Membership, Organization, Team


@pytest.mark.parametrize("persona", ["member", "team_member", "registry_admin", "outsider"])
def test_only_org_admins_delete_teams_and_projects(world, persona):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        orgs.delete_team(actor=world[persona], team=world.team)
    with pytest.raises(PermissionDenied):
        artifacts.delete_project(actor=world[persona], project=world.project)
    assert Team.objects.filter(pk=world.team.pk).exists() and Project.objects.filter(pk=world.project.pk).exists()
    assert AuditEvent.objects.count() == before


def test_only_staff_delete_organizations(world):
    org_admin_without_staff = world["member"]
    Membership.objects.filter(org=world.org, user=org_admin_without_staff).update(role="admin")
    with pytest.raises(PermissionDenied, match="instance staff"):
        orgs.delete_organization(actor=org_admin_without_staff, org=world.org)
    assert Organization.objects.filter(pk=world.org.pk).exists()


def test_published_versions_block_every_delete_and_nothing_is_written(world):
    world.version()
    admin = world["org_admin"]
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="artifact version"):
        artifacts.delete_project(actor=admin, project=world.project)
    with pytest.raises(ValidationError, match="Team “vision” cannot be deleted: 1 artifact versions"):
        orgs.delete_team(actor=admin, team=world.team)
    with pytest.raises(ValidationError, match="Organization “Acme ML” cannot be deleted"):
        orgs.delete_organization(actor=admin, org=world.org)
    assert AuditEvent.objects.count() == before
    assert Group.objects.filter(pk=world.team.group_id).exists()
    assert world.org.registries.count() == 3


def test_delete_team_removes_its_group_projects_and_memberships(world):
    team, admin = world.team, world["org_admin"]
    team_pk = team.pk
    artifacts.create_run(actor=admin, project=world.project)
    orgs.delete_team(actor=admin, team=team)
    assert not Group.objects.filter(pk=team.group_id).exists()
    assert not world["team_member"].groups.filter(name="team:vision").exists()
    assert not Project.objects.filter(team_id=team_pk).exists()
    [event] = AuditEvent.objects.filter(action=Action.TEAM_DELETE)
    assert (event.target_type, event.target_id, event.org_slug) == ("team", str(team_pk), "acme")


def test_delete_organization_removes_its_role_and_team_groups(world):
    admin = world["org_admin"]
    team = world.team
    groups = [g.pk for g in world.org.role_groups()] + [team.group_id]
    orgs.delete_organization(actor=admin, org=world.org)
    assert not Group.objects.filter(pk__in=groups).exists()
    assert not Membership.objects.filter(org_id=world.org.pk).exists()
    [event] = AuditEvent.objects.filter(action=Action.ORG_DELETE)
    assert event.data["teams"] == ["vision"]
    assert "viewer" in event.data["members"]
    # Earlier events keep their org snapshot after the org is gone.
    assert AuditEvent.objects.filter(org_slug="acme", org__isnull=True, action=Action.ORG_CREATE).exists()
