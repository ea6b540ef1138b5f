"""The registry role matrix (DESIGN.md "Roles and permissions") exercised through the services."""

import pytest
from django.core.exceptions import PermissionDenied

from apps.collections import services as collections
from apps.collections.services import can_download
from apps.orgs.permissions import Role, effective_role
from apps.registries import services as registries
from apps.registries.models import Registry

# persona → expected effective role on the world's restricted registry
ROLES = {
    "org_admin": Role.ADMIN,
    "registry_admin": Role.ADMIN,
    "member": Role.MEMBER,
    "team_member": Role.MEMBER,  # through team `vision`
    "viewer": Role.VIEWER,
    "restricted_viewer": Role.RESTRICTED_VIEWER,
    "outsider": None,
}
RANK = [None, Role.RESTRICTED_VIEWER, Role.VIEWER, Role.MEMBER, Role.ADMIN]


def allowed(persona, minimum):
    return RANK.index(ROLES[persona]) >= RANK.index(minimum)


def attempt(fn):
    try:
        fn()
    except PermissionDenied:
        return False
    return True


OPERATIONS = {
    # name: (minimum role, callable(world, actor, link))
    "view": (Role.RESTRICTED_VIEWER, lambda w, a, link: Registry.objects.visible_to(a).get(pk=w.registry.pk)),
    "download": (
        Role.VIEWER,
        lambda w, a, link: can_download(a, link.version, link) or (_ for _ in ()).throw(PermissionDenied),
    ),
    "create_collection": (
        Role.MEMBER,
        lambda w, a, link: collections.create_collection(actor=a, registry=w.registry, name="fresh", type="model"),
    ),
    "add_alias": (Role.MEMBER, lambda w, a, link: collections.add_alias(actor=a, link=link, alias="candidate")),
    "add_tag": (Role.MEMBER, lambda w, a, link: collections.add_version_tag(actor=a, link=link, tag="ok")),
    "describe": (
        Role.MEMBER,
        lambda w, a, link: collections.update_collection_description(
            actor=a, collection=link.collection, description="x"
        ),
    ),
    "unlink": (Role.MEMBER, lambda w, a, link: collections.unlink_version(actor=a, link=link)),
    "delete_collection": (
        Role.MEMBER,
        lambda w, a, link: collections.delete_collection(actor=a, collection=link.collection),
    ),
    "protected_alias": (Role.ADMIN, lambda w, a, link: collections.add_alias(actor=a, link=link, alias="production")),
    "declare_protected": (
        Role.ADMIN,
        lambda w, a, link: registries.declare_protected_alias(actor=a, registry=w.registry, alias="staging"),
    ),
    "grant_role": (
        Role.ADMIN,
        lambda w, a, link: registries.grant_registry_role(
            actor=a, registry=w.registry, principal=w.users["viewer"], role="member"
        ),
    ),
    "add_types": (
        Role.ADMIN,
        lambda w, a, link: registries.add_registry_types(actor=a, registry=w.registry, artifact_types=["onnx"]),
    ),
    "rename": (Role.ADMIN, lambda w, a, link: registries.rename_registry(actor=a, registry=w.registry, name="Renamed")),
}


@pytest.mark.parametrize("persona", list(ROLES))
def test_effective_role(world, persona):
    assert effective_role(world[persona], world.registry) == ROLES[persona]


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("persona", list(ROLES))
def test_role_matrix(world, persona, operation):
    minimum, fn = OPERATIONS[operation]
    link = world.link()
    actor = world[persona]
    if operation == "view":
        ok = Registry.objects.visible_to(actor).filter(pk=world.registry.pk).exists()
    else:
        ok = attempt(lambda: fn(world, actor, link))
    assert ok == allowed(persona, minimum), f"{persona} {operation}"


# --- permissions remembered on the user object (orgs.permissions.held_perms) ---


def test_held_perms_are_read_once_per_user_object(world, django_assert_num_queries):
    from apps.orgs.permissions import has_perm, held_perms

    member = world.users["member"]
    with django_assert_num_queries(1):
        held = held_perms(member, world.registry)
        assert has_perm(member, "registries.write_registry", world.registry)
        assert not has_perm(member, "registries.admin_registry", world.registry)
    assert held == {"view_registry", "download_registry", "write_registry"}


def test_a_new_grant_is_seen_by_a_user_object_that_already_checked(world):
    from apps.orgs.permissions import has_perm

    viewer, staff = world.users["viewer"], world.users["org_admin"]
    assert not has_perm(viewer, "registries.write_registry", world.registry)
    registries.grant_registry_role(actor=staff, registry=world.registry, principal=viewer, role="admin")
    assert has_perm(viewer, "registries.admin_registry", world.registry)
    registries.revoke_registry_role(actor=staff, registry=world.registry, principal=viewer)
    assert not has_perm(viewer, "registries.view_registry", world.registry)


def test_joining_or_leaving_a_team_is_seen_by_a_user_object_that_already_checked(world):
    from apps.orgs import services as orgs
    from apps.orgs.permissions import has_perm

    viewer, staff = world.users["viewer"], world.users["org_admin"]
    registries.revoke_registry_role(actor=staff, registry=world.registry, principal=viewer)
    assert not has_perm(viewer, "registries.view_registry", world.registry)
    orgs.add_team_member(actor=staff, team=world.team, user=viewer)  # `vision` holds Member
    assert has_perm(viewer, "registries.write_registry", world.registry)
    world.team.group.user_set.remove(viewer)  # outside the services too
    assert not has_perm(viewer, "registries.write_registry", world.registry)


def test_inactive_and_anonymous_users_hold_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    from apps.orgs.permissions import held_perms

    member = world.users["member"]
    member.is_active = False
    assert held_perms(member, world.registry) == frozenset()
    assert not Registry.objects.visible_to(member).exists()
    assert held_perms(AnonymousUser(), world.registry) == frozenset()


def test_superusers_hold_every_registry_permission_and_resolve_paths_without_membership(world):
    from django.contrib.auth import get_user_model

    from apps.collections.models import find_collection, find_registry, find_version
    from apps.orgs.permissions import held_perms

    root = get_user_model().objects.create_superuser("root", password="x")
    link = world.link()
    assert held_perms(root, world.registry) >= {
        "view_registry",
        "download_registry",
        "write_registry",
        "admin_registry",
    }
    assert find_registry(root, None, "Golden Models") == world.registry
    assert find_collection(root, "wandb-registry-Golden Models/classifier") == link.collection
    assert find_version(root, "acme/wandb-registry-Golden Models/classifier:latest")[1] == link
    assert Registry.objects.visible_to(root).filter(pk=world.registry.pk).exists()
