"""migrate_legacy_registry: equivalence, dry run, idempotency, read-only afterwards, redirects."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from apps.audit.models import Action, AuditEvent
from apps.automations import services as automations
from apps.automations.models import Automation
from apps.collections.models import Collection, Link, LinkAlias
from apps.legacy import services
from apps.legacy.models import LegacyMigration, ModelAlias, ModelLink, RegisteredModel
from apps.orgs.permissions import Role, effective_role
from apps.registries.models import Registry, Visibility


@pytest.fixture(autouse=True)
def _local_webhooks(settings):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True


def build_legacy(world):
    """Team vision's legacy registry: resnet v0, v2, v3, v4 (v1 unlinked), protected `production`,
    `staging`, a tag, a description, a webhook notification; and `tiny` with one version."""
    admin, member = world["org_admin"], world["member"]
    services.declare_protected_alias(actor=admin, team=world.team, alias="production")
    links = [
        services.link_model_version(
            actor=member, version=world.version(content=bytes([i])), team=world.team, model_name="resnet"
        )
        for i in range(4)
    ]
    services.unlink_model_version(actor=member, link=links[1])
    services.link_model_version(
        actor=member, version=world.version(content=b"x"), team=world.team, model_name="resnet", aliases=["staging"]
    )
    services.add_model_alias(actor=admin, link=links[2], alias="production")
    model = links[0].model
    services.add_model_tag(actor=member, model=model, tag="vision")
    services.update_model_description(actor=member, model=model, description="# ResNet card")
    webhook = automations.create_webhook(actor=admin, org=world.org, name="ci", url="http://127.0.0.1:9/hook")
    services.set_model_notification(actor=member, model=model, webhook=webhook)
    services.link_model_version(
        actor=member, version=world.version(name="tiny-src", content=b"t"), team=world.team, model_name="tiny"
    )
    return model


def run(*args) -> str:
    out = StringIO()
    call_command("migrate_legacy_registry", *args, stdout=out)
    return out.getvalue()


def state() -> tuple:
    return (
        Registry.objects.count(),
        Collection.objects.count(),
        Link.objects.count(),
        LinkAlias.objects.count(),
        AuditEvent.objects.count(),
        LegacyMigration.objects.count(),
    )


def test_dry_run_writes_nothing_and_prints_the_report(world):
    build_legacy(world)
    before = state()
    out = run("--dry-run")
    assert state() == before
    assert "[dry run] Team vision → registry “vision-mr-migrated” (would be created)" in out
    assert "resnet: would be migrated — 4 versions (v0, v2, v3, v4), 3 aliases, 1 tags, 1 automations" in out
    assert "2 would be migrated, 0 already migrated, 0 skipped." in out
    assert run("--dry-run", "--team", "vision").splitlines()[1:] == out.splitlines()[1:]


def test_migration_is_equivalent_and_idempotent(world):
    model = build_legacy(world)
    out = run("--team", "vision")
    assert "2 migrated, 0 already migrated, 0 skipped." in out
    registry = Registry.objects.get(name="vision-mr-migrated")
    assert registry.visibility == Visibility.RESTRICTED
    # Members: the team's members with their roles; org admins Admin; nobody else.
    assert effective_role(world["member"], registry) == Role.MEMBER
    assert effective_role(world["team_member"], registry) == Role.MEMBER
    assert effective_role(world["org_admin"], registry) == Role.ADMIN
    assert effective_role(world["viewer"], registry) is None
    assert registry.protected_alias_names() == {"production"}
    collection = Collection.objects.get(registry=registry, name="resnet")
    assert collection.description == "# ResNet card" and collection.created_at == model.created_at
    assert list(collection.tags.values_list("name", flat=True)) == ["vision"]
    # Every legacy link at the same index, pointing at the same source version (no copy), same dates.
    for old in ModelLink.objects.filter(model=model):
        new = Link.objects.get(collection=collection, index=old.index)
        assert (new.version_id, new.created_at, new.linked_by_id) == (old.version_id, old.created_at, old.linked_by_id)
    assert sorted(collection.links.values_list("index", flat=True)) == [0, 2, 3, 4]
    assert collection.next_index == 5
    old_aliases = dict(ModelAlias.objects.filter(model=model).values_list("alias", "link__index"))
    assert (
        dict(collection.aliases.values_list("alias", "link__index"))
        == old_aliases
        == {
            "latest": 4,
            "staging": 4,
            "production": 2,
        }
    )
    automation = Automation.objects.get(collection=collection)
    assert automation.event_type == "LINK_ARTIFACT" and automation.webhook.name == "ci"
    # One audit event per created object, marked migrated.
    migrated = AuditEvent.objects.filter(data__migrated=True)
    assert migrated.filter(action=Action.COLLECTION_LINK).count() == 5
    assert migrated.filter(action=Action.ALIAS_ADD).count() == 4
    assert migrated.filter(action=Action.REGISTRY_CREATE).count() == 1
    assert migrated.filter(action=Action.AUTOMATION_CREATE).count() == 1
    # Second run: nothing changes and it says so.
    before = state()
    again = run()
    assert state() == before
    assert "Nothing to do" in again and "resnet: already migrated" in again


def test_after_migration_the_legacy_registry_is_read_only(world):
    model = build_legacy(world)
    run()
    with pytest.raises(ValidationError, match="vision-mr-migrated"):
        services.link_model_version(
            actor=world["member"], version=world.version(content=b"n"), team=world.team, model_name="new"
        )
    with pytest.raises(ValidationError, match="read-only"):
        services.add_model_tag(actor=world["member"], model=model, tag="more")
    assert not RegisteredModel.objects.filter(name="new").exists()


def test_after_migration_ui_urls_redirect_permanently(login, world):
    build_legacy(world)
    run()
    client = login("member")
    collection = Collection.objects.get(name="resnet", registry__name="vision-mr-migrated")
    response = client.get(reverse("legacy:version_detail", args=["vision", "resnet", 2]))
    assert response.status_code == 301
    assert response["Location"] == reverse(
        "collections:version_detail", args=["acme", collection.registry.slug, "resnet", 2]
    )
    assert (
        client.get(reverse("legacy:model_detail", args=["vision", "resnet"]))["Location"]
        == collection.get_absolute_url()
    )
    assert client.get(reverse("legacy:model_list", args=["vision"])).status_code == 301
    # The redirect target opens for the team member.
    assert client.get(response["Location"]).status_code == 200
    # Outsiders to the team still get 404, not a redirect revealing the name.
    assert login("viewer").get(reverse("legacy:model_detail", args=["vision", "resnet"])).status_code == 404


def test_admin_action_queues_the_migration_for_the_worker_and_shows_progress(client, world, settings):
    build_legacy(world)
    superuser = world["org_admin"]
    superuser.is_superuser = True
    superuser.save()
    client.force_login(superuser)
    changelist = reverse("admin:legacy_legacyteam_changelist")
    html = client.get(changelist).content.decode()
    assert "0 / 2" in html and "not migrated" in html
    # Queued on the database backend: nothing happens until the worker runs it.
    response = client.post(changelist, {"action": "migrate_selected", "_selected_action": [world.team.pk]}, follow=True)
    assert "Migration queued for vision" in response.content.decode()
    assert not LegacyMigration.objects.exists()
    queued = DBTaskResult.objects.get(task_path="apps.legacy.tasks.migrate_legacy_registry_task")
    # What the worker runs (the real `db_worker` loop is in tests/browser/test_legacy_banner.py: it closes the
    # connection, which this test's transaction on PostgreSQL would not survive).
    lines = queued.task.call(*queued.args_kwargs["args"], **queued.args_kwargs["kwargs"])
    assert "Team vision → registry “vision-mr-migrated” (created)" in lines[0]
    html = client.get(changelist).content.decode()
    assert "2 / 2" in html and "migrated to vision-mr-migrated" in html
