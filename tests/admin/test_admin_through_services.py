"""The Django admin changes things only through services: each delete or change a superuser makes there is the
service's (checked, validated, one audit event per object), and what a service refuses is an admin error message
with nothing changed."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.artifacts.models import ArtifactVersion, Project
from apps.audit.models import Action, AuditEvent
from apps.collections import services as collections
from apps.collections.models import Collection
from apps.orgs import services as orgs
from apps.orgs.models import Organization, Team
from apps.orgs.permissions import effective_role
from apps.registries import services as registries
from apps.registries.models import Registry
from tests.factories import UserFactory


@pytest.fixture
def root(client, world):
    """A superuser in no organization, logged in to the admin."""
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _events(action, **where):
    return list(AuditEvent.objects.filter(action=action, **where))


def _delete(client, obj):
    """Confirm the admin's delete page for `obj`."""
    return client.post(_url(type(obj), "delete", obj.pk), {"post": "yes"})


def _bulk_delete(client, model, objs):
    """Run the changelist's "Delete selected" action, confirmed."""
    data = {"action": "delete_selected", "_selected_action": [o.pk for o in objs], "post": "yes"}
    return client.post(_url(model, "changelist"), data)


def _change_form(client, obj, **changes):
    """Post the change form as the admin page shows it, with `changes` applied."""
    page = client.get(_url(type(obj), "change", obj.pk))
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
        for f in formset.forms:
            data.update({f.add_prefix(name): f[name].value() for name in f.fields})
    data.update(changes)
    return client.post(_url(type(obj), "change", obj.pk), {k: "" if v is None else v for k, v in data.items()})


def _custom_registry(world, name):
    return registries.create_registry(actor=world["org_admin"], org=world.org, name=name)


# Registries


def test_registry_delete_goes_through_the_service(client, world, root):
    registry = world.registry
    response = _delete(client, registry)
    assert response.status_code == 302
    assert not Registry.objects.filter(pk=registry.pk).exists()
    [event] = _events(Action.REGISTRY_DELETE, registry_pk=registry.pk)
    assert (event.actor, event.actor_detail, event.data) == (root, "admin", {"name": "Golden Models"})


def test_core_registry_delete_is_refused_with_a_message_and_nothing_changes(client, world, root):
    core = world.org.registries.get(is_core=True, name="Model")
    logs = LogEntry.objects.count()
    response = _delete(client, core)
    assert response.status_code == 302
    assert response["Location"] == _url(Registry, "change", core.pk)
    assert _messages(response) == ["“wandb-registry-Model” was not deleted: Core registries cannot be deleted."]
    assert Registry.objects.filter(pk=core.pk).exists()
    assert _events(Action.REGISTRY_DELETE) == []
    assert LogEntry.objects.count() == logs  # the admin's own log entry rolled back with the refusal
    assert "Core registries cannot be deleted" in client.get(response["Location"]).content.decode()


def test_registry_bulk_delete_is_audited_per_object(client, world, root):
    doomed = [_custom_registry(world, "Scratch A"), _custom_registry(world, "Scratch B")]
    response = _bulk_delete(client, Registry, doomed)
    assert response.status_code == 302
    assert _messages(response) == ["Successfully deleted 2 registries."]
    assert not Registry.objects.filter(pk__in=[r.pk for r in doomed]).exists()
    events = _events(Action.REGISTRY_DELETE)
    assert sorted(e.data["name"] for e in events) == ["Scratch A", "Scratch B"]
    assert {(e.actor_id, e.actor_detail) for e in events} == {(root.pk, "admin")}


def test_registry_bulk_delete_with_a_core_registry_is_refused_as_a_whole(client, world, root):
    custom = _custom_registry(world, "Scratch")
    core = world.org.registries.get(name="Dataset")
    response = _bulk_delete(client, Registry, [custom, core])
    assert response.status_code == 302
    [message] = _messages(response)
    assert message.startswith("Nothing was deleted.")
    assert "“wandb-registry-Dataset”: Core registries cannot be deleted." in message
    assert Registry.objects.filter(pk__in=[custom.pk, core.pk]).count() == 2
    assert _events(Action.REGISTRY_DELETE) == []


def test_registry_changes_go_through_rename_description_and_visibility_services(client, world, root):
    registry = _custom_registry(world, "Scratch")
    response = _change_form(client, registry, name="Renamed", description="Now documented", visibility="restricted")
    assert response.status_code == 302, response.content.decode()[:2000]
    registry.refresh_from_db()
    assert (registry.name, registry.description, registry.visibility) == ("Renamed", "Now documented", "restricted")
    [rename] = _events(Action.REGISTRY_RENAME, registry_pk=registry.pk)
    assert rename.data == {"from": "Scratch", "to": "Renamed"}
    [update] = _events(Action.REGISTRY_UPDATE, registry_pk=registry.pk)
    assert update.data == {"description": {"from": "", "to": "Now documented"}}
    assert len(_events(Action.REGISTRY_VISIBILITY, registry_pk=registry.pk)) == 1
    assert {rename.actor_detail, update.actor_detail} == {"admin"}


def test_core_registry_rename_is_refused_with_a_message(client, world, root):
    core = world.org.registries.get(name="Model")
    response = _change_form(client, core, name="Weights", description="changed too")
    assert response.status_code == 302
    assert _messages(response) == ["“wandb-registry-Weights” was not changed: Core registries cannot be renamed."]
    core.refresh_from_db()
    assert (core.name, core.description) != ("Weights", "changed too")
    assert _events(Action.REGISTRY_RENAME) == [] and _events(Action.REGISTRY_UPDATE) == []


# Collections


def test_collection_delete_and_rename_go_through_the_services(client, world, root):
    link = world.link(collection="classifier")
    collection = link.collection
    response = _change_form(client, collection, name="detector", description="Boxes")
    assert response.status_code == 302
    [rename] = _events(Action.COLLECTION_RENAME, collection_pk=collection.pk)
    assert rename.data == {"from": "classifier", "to": "detector"}
    assert _events(Action.COLLECTION_UPDATE, collection_pk=collection.pk)[0].actor_detail == "admin"
    assert _delete(client, collection).status_code == 302
    assert not Collection.objects.filter(pk=collection.pk).exists()
    [event] = _events(Action.COLLECTION_DELETE, collection_pk=collection.pk)
    assert (event.actor, event.data) == (root, {"name": "detector", "links": 1})
    assert ArtifactVersion.objects.filter(pk=link.version_id).exists()  # the source version stays


def test_collection_bulk_delete_is_audited_per_object(client, world, root):
    made = [
        collections.create_collection(actor=world["org_admin"], registry=world.registry, name=n, type="model")
        for n in ["one", "two"]
    ]
    assert _bulk_delete(client, Collection, made).status_code == 302
    assert sorted(e.data["name"] for e in _events(Action.COLLECTION_DELETE)) == ["one", "two"]


def test_collection_with_a_protected_alias_follows_the_ui_rule(client, world):
    """A registry Member who may use the admin still cannot delete a collection holding a protected alias."""
    member = world["member"]
    member.is_staff = True
    member.save()
    member.user_permissions.add(*_model_perms(Collection, "view", "delete"))
    client.force_login(member)
    guarded = world.link(collection="guarded", aliases=["production"]).collection
    plain = world.link(collection="plain", version=world.version(content=b"other")).collection
    response = _bulk_delete(client, Collection, [guarded, plain])
    [message] = _messages(response)
    assert "“wandb-registry-Golden Models/guarded”: A version in this collection holds a protected alias" in message
    assert Collection.objects.filter(pk__in=[guarded.pk, plain.pk]).count() == 2
    assert _events(Action.COLLECTION_DELETE) == []
    assert _delete(client, plain).status_code == 302  # the same member may delete an unprotected one
    assert len(_events(Action.COLLECTION_DELETE, actor=member)) == 1


def _model_perms(model, *actions):
    from django.contrib.auth.models import Permission

    codenames = [f"{a}_{model._meta.model_name}" for a in actions]
    return Permission.objects.filter(content_type__app_label=model._meta.app_label, codename__in=codenames)


# Organizations, teams and projects


def test_organization_delete_goes_through_the_service(client, world, root):
    globex = world.other_org
    groups = [g.pk for g in globex.role_groups()]
    response = _delete(client, globex)
    assert response.status_code == 302
    assert not Organization.objects.filter(pk=globex.pk).exists()
    assert not Registry.objects.filter(org_id=globex.pk).exists()  # core registries go with their org
    assert not Group.objects.filter(pk__in=groups).exists()
    [event] = _events(Action.ORG_DELETE)
    assert (event.actor, event.org_slug, event.org_id) == (root, "globex", None)
    assert event.data == {"slug": "globex", "name": "Globex", "teams": [], "members": ["outsider"]}


def test_organization_with_artifact_versions_is_refused(client, world, root):
    """Django's own delete page already refuses: versions are PROTECTed (the service refuses them too)."""
    world.version()
    response = _delete(client, world.org)
    assert response.status_code == 200
    assert response.context["title"] == "Cannot delete organization"
    assert response.context["protected"]  # the page lists the artifact version
    assert Organization.objects.filter(pk=world.org.pk).exists()
    assert world.org.registries.count() == 3 and world.org.teams.count() == 1
    assert _events(Action.ORG_DELETE) == []


def test_team_delete_goes_through_the_service_and_drops_its_roles(client, world, root):
    team = world.team
    assert effective_role(world["team_member"], world.registry) == "member"
    response = _delete(client, team)
    assert response.status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()
    assert not Group.objects.filter(pk=team.group_id).exists()
    assert not Project.objects.filter(pk=world.project.pk).exists()
    assert effective_role(world["team_member"], world.registry) is None
    [event] = _events(Action.TEAM_DELETE)
    assert (event.actor, event.data) == (root, {"name": "vision", "members": ["member", "team_member"]})


def test_project_delete_is_audited_and_refused_while_it_holds_versions(client, world, root):
    empty = Project.objects.create(team=world.team, name="empty")
    assert _delete(client, empty).status_code == 302
    [event] = _events(Action.PROJECT_DELETE)
    assert event.data == {"name": "empty", "team": "vision", "runs": 0}
    world.version()
    for response in [_delete(client, world.project), _bulk_delete(client, Team, [world.team])]:
        assert response.status_code == 200  # Django's "Cannot delete …" page, listing the protected version
        assert response.context["title"].startswith("Cannot delete") and response.context["protected"]
    assert Project.objects.filter(pk=world.project.pk).exists() and Team.objects.filter(pk=world.team.pk).exists()
    assert len(_events(Action.PROJECT_DELETE)) == 1 and _events(Action.TEAM_DELETE) == []


@pytest.mark.parametrize("model", [Organization, Team, Project])
def test_bulk_delete_is_audited_per_object(client, world, root, model):
    make = {
        Organization: lambda n: orgs.create_organization(actor=root, slug=f"org-{n}", name=n),
        Team: lambda n: orgs.create_team(actor=root, org=world.org, name=f"team-{n}"),
        Project: lambda n: Project.objects.create(team=world.team, name=f"project-{n}"),
    }[model]
    made = [make("a"), make("b")]
    action = {Organization: Action.ORG_DELETE, Team: Action.TEAM_DELETE, Project: Action.PROJECT_DELETE}[model]
    assert _bulk_delete(client, model, made).status_code == 302
    assert not model.objects.filter(pk__in=[o.pk for o in made]).exists()
    events = _events(action)
    assert sorted(e.target_id for e in events) == sorted(str(o.pk) for o in made)
    assert {(e.actor_id, e.actor_detail) for e in events} == {(root.pk, "admin")}


# What has no service is read-only


@pytest.mark.parametrize("model", [Organization, Team, Project])
def test_models_without_a_change_service_are_read_only(client, world, root, model):
    obj = {Organization: world.org, Team: world.team, Project: world.project}[model]
    assert client.get(_url(model, "change", obj.pk)).status_code == 200  # view only
    assert client.post(_url(model, "change", obj.pk), {"name": "changed"}).status_code == 403
    assert client.get(_url(model, "add")).status_code == 403
    assert model.objects.get(pk=obj.pk).name == obj.name


def test_artifact_versions_cannot_be_deleted_in_the_admin(client, world, root):
    version = world.version()
    assert _delete(client, version).status_code == 403
    assert ArtifactVersion.objects.filter(pk=version.pk).exists()


@pytest.mark.parametrize("model", [Organization, Team, Project, Registry, Collection, ArtifactVersion, AuditEvent])
def test_changelists_render_and_offer_only_the_audited_delete(client, world, root, model):
    world.link()
    response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    action_form = response.context["action_form"]  # None when no action is offered
    actions = [name for name, _ in action_form.fields["action"].choices if name] if action_form else []
    assert actions == ([] if model in (ArtifactVersion, AuditEvent) else ["delete_selected"])
