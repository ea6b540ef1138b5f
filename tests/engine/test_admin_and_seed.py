"""Django admin (read-only audit, roles through guardian's pages and our services) and the demo seed."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.orgs.permissions import Role, effective_role
from apps.registries.models import Registry


def test_admin_grants_a_team_member_role_through_the_service(client, world):
    admin = world["org_admin"]
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    registry = world.registry
    url = reverse("admin:registries_registry_permissions_manage_group", args=[registry.pk, world.team.group_id])
    assert client.get(url).status_code == 200
    response = client.post(url, {"permissions": "admin"})
    assert response.status_code == 302
    assert effective_role(world["team_member"], registry) == Role.ADMIN
    event = AuditEvent.objects.filter(action=Action.ROLE_UPDATE, registry_pk=registry.pk).first()
    assert event.data == {"member": "team:vision", "from": "member", "to": "admin"}
    assert event.actor_detail == "admin"


def test_admin_refuses_roles_for_org_role_groups(client, world):
    admin = world["org_admin"]
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    url = reverse(
        "admin:registries_registry_permissions_manage_group", args=[world.registry.pk, world.org.members_group_id]
    )
    response = client.post(url, {"permissions": "admin"})
    assert response.status_code == 200  # the form is shown again with its error, nothing saved
    assert "Only teams" in str(response.context["form"].errors)
    assert effective_role(world["viewer"], world.registry) == Role.VIEWER


def test_admin_user_role_change_and_revoke(client, world):
    admin = world["org_admin"]
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    url = reverse("admin:registries_registry_permissions_manage_user", args=[world.registry.pk, world["viewer"].pk])
    client.post(url, {"permissions": ""})
    assert effective_role(world["viewer"], world.registry) is None
    assert AuditEvent.objects.filter(action=Action.ROLE_DELETE, data__member="user:viewer").exists()


def test_audit_events_are_read_only_in_admin_and_append_only_in_code(client, world):
    admin = world["org_admin"]
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    event.data = {"tampered": True}
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()


def test_seed_demo_builds_the_documented_organization_and_is_idempotent(db, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo")
    call_command("seed_demo")
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    assert {"admin", "member", "viewer", "rviewer", "outsider"} <= set(users)
    assert users["member"].check_password("demo-pass-123")
    acme = Registry.objects.filter(org__slug="acme")
    assert set(acme.values_list("name", flat=True)) == {"Model", "Dataset", "Fine-tuned Models", "Golden Datasets"}
    golden = acme.get(name="Golden Datasets")
    assert effective_role(users["member"], golden) == Role.MEMBER
    assert effective_role(users["rviewer"], golden) == Role.RESTRICTED_VIEWER
    assert not Registry.objects.visible_to(users["viewer"]).filter(pk=golden.pk).exists()
    assert not Registry.objects.visible_to(users["outsider"]).filter(org__slug="acme").exists()
    from apps.collections.models import Collection, Link, LinkAlias

    assert Collection.objects.filter(registry__org__slug="acme").count() >= 20
    assert Link.objects.filter(collection__registry__org__slug="acme").count() >= 200
    assert LinkAlias.objects.filter(alias="production").exists()
    # Team nlp is still on the legacy Model Registry: gaps in indexes, a protected alias, a notification.
    from apps.legacy.models import LegacyProtectedAlias, RegisteredModel

    router = RegisteredModel.objects.get(team__name="nlp", name="ticket-router")
    assert sorted(router.links.values_list("index", flat=True)) == [0, 2, 4]
    assert router.aliases.filter(alias="production", link__index=0).exists()
    assert LegacyProtectedAlias.objects.filter(team__name="nlp", alias="production").exists()
    from apps.automations.models import Webhook

    has_hook = Webhook.objects.filter(org__slug="acme").exists()  # none when the demo URL can't resolve
    assert RegisteredModel.objects.filter(team__name="nlp", notify_webhook__isnull=False).exists() == has_hook
