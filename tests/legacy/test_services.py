"""The legacy Model Registry's services: who may write, indexes with gaps, aliases, protected aliases, audit."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Action, AuditEvent
from apps.legacy import services
from apps.legacy.models import LegacyPreference, ModelAlias, ModelLink, RegisteredModel


def _link(world, persona="team_member", name="resnet", content=b"w", aliases=None):
    version = world.version(content=content)
    return services.link_model_version(
        actor=world[persona], version=version, team=world.team, model_name=name, aliases=aliases
    )


def _aliases(model):
    return dict(ModelAlias.objects.filter(model=model).values_list("alias", "link__index"))


def test_team_member_links_with_per_model_indexes_and_latest_moves(world):
    first = _link(world, content=b"a")
    second = _link(world, content=b"b", aliases=["staging"])
    assert (first.index, second.index) == (0, 1)
    assert _aliases(first.model) == {"latest": 1, "staging": 1}
    event = AuditEvent.objects.filter(action=Action.COLLECTION_LINK, target_type="modellink").first()
    assert event.data["legacy"] is True and event.data["version"] == "v1"
    assert event.actor == world["team_member"]
    # No bytes copied: the link points at the source version itself.
    assert second.version.links.count() == 0 and second.version.legacy_links.get() == second


def test_linking_twice_returns_the_existing_link(world):
    version = world.version()
    a = services.link_model_version(actor=world["member"], version=version, team=world.team, model_name="m")
    b = services.link_model_version(actor=world["member"], version=version, team=world.team, model_name="m")
    assert a.pk == b.pk and not b.is_new and ModelLink.objects.count() == 1


def test_unlinking_keeps_the_gap_and_latest_moves_back(world):
    links = [_link(world, content=bytes([i])) for i in range(3)]
    services.unlink_model_version(actor=world["member"], link=links[2])
    services.unlink_model_version(actor=world["member"], link=links[1])
    third = _link(world, content=b"new")
    assert third.index == 3
    assert sorted(ModelLink.objects.values_list("index", flat=True)) == [0, 3]
    assert _aliases(third.model) == {"latest": 3}
    assert AuditEvent.objects.filter(action=Action.COLLECTION_UNLINK).count() == 2


@pytest.mark.parametrize("persona", ["registry_admin", "viewer", "restricted_viewer", "outsider"])
def test_people_outside_the_team_cannot_link(world, persona):
    version = world.version()
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.link_model_version(actor=world[persona], version=version, team=world.team, model_name="m")
    assert not RegisteredModel.objects.exists() and AuditEvent.objects.count() == before


def test_protected_aliases_need_a_team_admin_or_registry_admin(world):
    services.declare_protected_alias(actor=world["org_admin"], team=world.team, alias="production")
    assert AuditEvent.objects.filter(action=Action.PROTECTED_ALIAS_CREATE, data__legacy=True).exists()
    link = _link(world)
    with pytest.raises(PermissionDenied):
        services.add_model_alias(actor=world["member"], link=link, alias="production")
    with pytest.raises(PermissionDenied):
        services.declare_protected_alias(actor=world["member"], team=world.team, alias="prod2")
    services.add_registry_admin(actor=world["org_admin"], team=world.team, user=world["member"])
    services.add_model_alias(actor=world["member"], link=link, alias="production")
    assert _aliases(link.model)["production"] == 0
    # The version holding it can't be unlinked by a plain team member.
    with pytest.raises(PermissionDenied):
        services.unlink_model_version(actor=world["team_member"], link=link)
    with pytest.raises(PermissionDenied):
        services.remove_model_alias(actor=world["team_member"], link=link, alias="production")


def test_lookalike_of_a_protected_alias_is_refused(world):
    services.declare_protected_alias(actor=world["org_admin"], team=world.team, alias="production")
    with pytest.raises(ValidationError):
        _link(world, aliases=["Production"])


def test_registry_admins_must_be_team_members(world):
    with pytest.raises(ValidationError):
        services.add_registry_admin(actor=world["org_admin"], team=world.team, user=world["viewer"])


def test_tags_descriptions_and_bad_input(world):
    link = _link(world)
    model = link.model
    services.add_model_tag(actor=world["member"], model=model, tag="vision")
    services.update_model_description(actor=world["member"], model=model, description="# Card")
    model.refresh_from_db()
    assert model.description == "# Card" and list(model.tags.values_list("name", flat=True)) == ["vision"]
    assert AuditEvent.objects.filter(action=Action.COLLECTION_ADD_TAG, target_type="registeredmodel").exists()
    for bad in ["a/b", "", "x:y"]:
        with pytest.raises(ValidationError):
            services.create_registered_model(actor=world["member"], team=world.team, name=bad)
    with pytest.raises(ValidationError):
        services.add_model_tag(actor=world["member"], model=model, tag="no!")
    with pytest.raises(ValidationError):
        services.remove_model_alias(actor=world["member"], link=link, alias="latest")
    with pytest.raises(ValidationError):
        services.create_registered_model(actor=world["member"], team=world.team, name="RESNET")


def test_preference_is_remembered_and_audited_as_a_preference(world):
    services.set_registry_ui_preference(actor=world["member"], registry_ui="legacy")
    assert LegacyPreference.objects.get(user=world["member"]).registry_ui == "legacy"
    event = AuditEvent.objects.get(action=Action.PREFERENCE_UPDATE)
    assert event.org is None and event.data == {"registry_ui": "legacy"}
    with pytest.raises(ValidationError):
        services.set_registry_ui_preference(actor=world["member"], registry_ui="both")
