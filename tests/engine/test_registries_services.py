"""Registry services: happy path with its audit event, denied path, invalid input."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Action, AuditEvent
from apps.orgs.permissions import Role, effective_role
from apps.registries import services
from apps.registries.models import Registry, Visibility


def events(action):
    return AuditEvent.objects.filter(action=action)


def test_new_organization_has_core_models_and_datasets(world):
    core = Registry.objects.filter(org=world.org, is_core=True).order_by("name")
    assert [(r.name, r.artifact_types, r.visibility) for r in core] == [
        ("Dataset", ["dataset"], "organization"),
        ("Model", ["model"], "organization"),
    ]
    assert events(Action.REGISTRY_CREATE).filter(org=world.org, data__core=True).count() == 2


def test_member_creates_registry_and_becomes_its_admin(world):
    member = world["member"]
    registry = services.create_registry(
        actor=member, org=world.org, name="RAG Chat Models", description="d", artifact_types=["model", "prompt"]
    )
    assert registry.full_name == "wandb-registry-RAG Chat Models"
    assert registry.artifact_types == ["model", "prompt"] and not registry.allow_all_types
    assert effective_role(member, registry) == Role.ADMIN
    # Organization-visible: every org member is at least a Viewer.
    assert effective_role(world["restricted_viewer"], registry) == Role.VIEWER
    assert effective_role(world["outsider"], registry) is None
    event = events(Action.REGISTRY_CREATE).get(registry_pk=registry.pk)
    assert event.actor == member and event.data["artifact_types"] == ["model", "prompt"]


def test_org_viewer_cannot_create_registry(world):
    before = Registry.objects.count()
    with pytest.raises(PermissionDenied):
        services.create_registry(actor=world["viewer"], org=world.org, name="Nope")
    assert Registry.objects.count() == before
    assert not events(Action.REGISTRY_CREATE).filter(data__name="Nope").exists()


def test_outsider_cannot_create_registry_in_someone_elses_org(world):
    with pytest.raises(PermissionDenied):
        services.create_registry(actor=world["outsider"], org=world.org, name="Nope")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "required"),
        ("   ", "required"),
        ("a/b", "cannot contain"),
        ("a#b", "cannot contain"),
        ("a%b", "cannot contain"),
        ("line\nbreak", "cannot contain"),
        ("x" * 114, "113 characters"),
        ("wandb-registry-foo", "prefix"),
        ("golden models", "already exists"),  # case-insensitive clash with "Golden Models"
    ],
)
def test_invalid_registry_names_are_refused(world, name, message):
    before = Registry.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.create_registry(actor=world["org_admin"], org=world.org, name=name)
    assert Registry.objects.count() == before


def test_registry_name_may_have_spaces_and_113_characters(world):
    registry = services.create_registry(actor=world["org_admin"], org=world.org, name="Fine tuned " + "x" * 102)
    assert len(registry.name) == 113


def test_unknown_artifact_type_and_reserved_type_refused(world):
    with pytest.raises(ValidationError, match="reserved"):
        services.create_registry(actor=world["org_admin"], org=world.org, name="R", artifact_types=["wandb-x"])
    with pytest.raises(ValidationError, match="at least one"):
        services.create_registry(actor=world["org_admin"], org=world.org, name="R", artifact_types=[])


def test_rename_registry_keeps_slug(world):
    registry = world.registry
    slug = registry.slug
    services.rename_registry(actor=world["registry_admin"], registry=registry, name="Platinum Models")
    registry.refresh_from_db()
    assert (registry.name, registry.slug) == ("Platinum Models", slug)
    assert events(Action.REGISTRY_RENAME).get(registry_pk=registry.pk).data == {
        "from": "Golden Models",
        "to": "Platinum Models",
    }


def test_member_cannot_rename_registry_and_core_cannot_be_renamed(world):
    with pytest.raises(PermissionDenied):
        services.rename_registry(actor=world["member"], registry=world.registry, name="X")
    models = world.org.registries.get(slug="model")
    with pytest.raises(ValidationError, match="Core"):
        services.rename_registry(actor=world["org_admin"], registry=models, name="X")
    assert not events(Action.REGISTRY_RENAME).exists()


def test_visibility_is_one_way_and_removes_org_wide_access(world):
    registry = services.create_registry(actor=world["org_admin"], org=world.org, name="Open")
    assert Registry.objects.visible_to(world["viewer"]).filter(pk=registry.pk).exists()
    services.change_registry_visibility(actor=world["org_admin"], registry=registry, visibility="restricted")
    assert not Registry.objects.visible_to(world["viewer"]).filter(pk=registry.pk).exists()
    assert Registry.objects.visible_to(world["org_admin"]).filter(pk=registry.pk).exists()
    assert events(Action.REGISTRY_VISIBILITY).filter(registry_pk=registry.pk).count() == 1
    with pytest.raises(ValidationError, match="cannot be made Organization"):
        services.change_registry_visibility(actor=world["org_admin"], registry=registry, visibility="organization")
    models = world.org.registries.get(slug="model")
    with pytest.raises(ValidationError, match="core"):
        services.change_registry_visibility(actor=world["org_admin"], registry=models, visibility="restricted")


def test_member_cannot_change_visibility(world):
    with pytest.raises(PermissionDenied):
        services.change_registry_visibility(actor=world["member"], registry=world.registry, visibility="restricted")


def test_accepted_types_are_add_only(world):
    registry = world.registry
    services.add_registry_types(actor=world["registry_admin"], registry=registry, artifact_types=["onnx", "model"])
    registry.refresh_from_db()
    assert registry.artifact_types == ["model", "onnx"]
    assert events(Action.REGISTRY_ADD_TYPES).get(registry_pk=registry.pk).data == {"added": ["onnx"]}
    with pytest.raises(ValidationError, match="already accepted"):
        services.add_registry_types(actor=world["registry_admin"], registry=registry, artifact_types=["model"])
    with pytest.raises(PermissionDenied):
        services.add_registry_types(actor=world["member"], registry=registry, artifact_types=["x"])
    open_registry = services.create_registry(actor=world["org_admin"], org=world.org, name="Anything")
    with pytest.raises(ValidationError, match="all artifact types"):
        services.add_registry_types(actor=world["org_admin"], registry=open_registry, artifact_types=["x"])


def test_delete_registry_needs_the_typed_name_and_keeps_source_versions(world):
    link = world.link()
    registry = world.registry
    pk = registry.pk
    with pytest.raises(ValidationError, match="to confirm"):
        services.delete_registry(actor=world["registry_admin"], registry=registry, confirm_name="golden")
    with pytest.raises(PermissionDenied):
        services.delete_registry(actor=world["member"], registry=registry, confirm_name=registry.name)
    assert Registry.objects.filter(pk=registry.pk).exists()
    services.delete_registry(actor=world["registry_admin"], registry=registry, confirm_name="Golden Models")
    assert not Registry.objects.filter(pk=pk).exists()
    link.version.refresh_from_db()  # the source version is still there
    assert events(Action.REGISTRY_DELETE).get(registry_pk=pk).data == {"name": "Golden Models"}


def test_core_registry_cannot_be_deleted(world):
    models = world.org.registries.get(slug="model")
    with pytest.raises(ValidationError, match="Core"):
        services.delete_registry(actor=world["org_admin"], registry=models, confirm_name="Model")


def test_grant_change_revoke_role_is_audited(world):
    registry = world.registry
    user = world["viewer"]
    services.grant_registry_role(actor=world["registry_admin"], registry=registry, principal=user, role="member")
    assert effective_role(user, registry) == Role.MEMBER
    services.revoke_registry_role(actor=world["registry_admin"], registry=registry, principal=user)
    assert effective_role(user, registry) is None
    assert [e.action for e in AuditEvent.objects.filter(registry_pk=registry.pk, actor=world["registry_admin"])] == [
        Action.ROLE_DELETE,
        Action.ROLE_UPDATE,
    ]


def test_only_admins_grant_roles_and_only_to_org_members(world):
    registry = world.registry
    with pytest.raises(PermissionDenied):
        services.grant_registry_role(actor=world["member"], registry=registry, principal=world["viewer"], role="admin")
    with pytest.raises(ValidationError, match="not a member"):
        services.grant_registry_role(
            actor=world["org_admin"], registry=registry, principal=world["outsider"], role="viewer"
        )
    with pytest.raises(ValidationError, match="Unknown role"):
        services.grant_registry_role(actor=world["org_admin"], registry=registry, principal=world["viewer"], role="god")
    assert effective_role(world["outsider"], registry) is None


def test_team_role_reaches_team_members_and_leaves_with_them(world):
    from apps.orgs.services import remove_team_member

    registry = world.registry
    user = world["team_member"]
    assert effective_role(user, registry) == Role.MEMBER
    remove_team_member(actor=world["org_admin"], team=world.team, user=user)
    assert effective_role(user, registry) is None
    assert not Registry.objects.visible_to(user).filter(pk=registry.pk).exists()


def test_owner_star_and_protected_aliases(world):
    registry = world.registry
    services.set_registry_owner(actor=world["registry_admin"], registry=registry, user=world["restricted_viewer"])
    registry.refresh_from_db()
    assert registry.owner == world["restricted_viewer"]
    with pytest.raises(ValidationError, match="cannot see"):
        services.set_registry_owner(actor=world["org_admin"], registry=registry, user=world["outsider"])

    services.star_registry(actor=world["viewer"], registry=registry)
    services.star_registry(actor=world["viewer"], registry=registry)  # idempotent
    assert registry.stars.count() == 1
    assert events(Action.REGISTRY_STAR).count() == 1
    services.unstar_registry(actor=world["viewer"], registry=registry)
    assert registry.stars.count() == 0
    with pytest.raises(PermissionDenied):
        services.star_registry(actor=world["outsider"], registry=registry)

    services.declare_protected_alias(actor=world["registry_admin"], registry=registry, alias="staging")
    assert set(registry.protected_aliases.values_list("alias", flat=True)) == {"production", "staging"}
    with pytest.raises(PermissionDenied):
        services.declare_protected_alias(actor=world["member"], registry=registry, alias="qa")
    with pytest.raises(ValidationError):
        services.declare_protected_alias(actor=world["registry_admin"], registry=registry, alias="bad/alias")
    services.remove_protected_alias(actor=world["registry_admin"], registry=registry, alias="staging")
    assert events(Action.PROTECTED_ALIAS_DELETE).get().data == {"alias": "staging"}


def test_org_admin_is_admin_everywhere_and_restricted_registry_hidden_from_others(world):
    registry = world.registry
    assert effective_role(world["org_admin"], registry) == Role.ADMIN
    assert Registry.objects.visible_to(world["restricted_viewer"]).filter(pk=registry.pk).exists()
    other = services.create_registry(
        actor=world["org_admin"], org=world.org, name="Secret", visibility=Visibility.RESTRICTED
    )
    for persona in ["member", "viewer", "restricted_viewer", "team_member", "outsider"]:
        assert not Registry.objects.visible_to(world[persona]).filter(pk=other.pk).exists(), persona
