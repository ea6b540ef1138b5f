"""Roles as django-guardian object permissions, and the one place that grants them."""

import itertools

from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_perms_for_model, remove_perm
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model


class Role(models.TextChoices):
    """A role on a registry, lowest first (W&B's four registry roles)."""

    RESTRICTED_VIEWER = "restricted_viewer", "Restricted Viewer"
    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"


ROLE_ORDER = [Role.RESTRICTED_VIEWER, Role.VIEWER, Role.MEMBER, Role.ADMIN]

# Each role holds these actions on the object (`<action>_<model name>` permissions).
ROLE_ACTIONS = {
    Role.RESTRICTED_VIEWER: ["view"],
    Role.VIEWER: ["view", "download"],
    Role.MEMBER: ["view", "download", "write"],
    Role.ADMIN: ["view", "download", "write", "admin"],
}


def perm_name(action: str, obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{action}_{obj._meta.model_name}"


# Bumped whenever an object permission or a group membership changes in this process (see
# OrgsConfig.ready), so a user object never answers from permissions read before the change.
_grants_changed = itertools.count()
_generation = next(_grants_changed)


def grants_changed(**kwargs) -> None:
    global _generation
    _generation = next(_grants_changed)


def _codenames(user, obj: models.Model) -> frozenset[str]:
    """Bare codenames held on `obj` directly and through groups (teams, org roles), in one query."""
    if user.is_superuser:
        return _model_codenames(obj)
    rows = []
    for model, principal in ((get_user_obj_perms_model(obj), "user"), (get_group_obj_perms_model(obj), "group__user")):
        where = {principal: user}
        if model.objects.is_generic():
            where.update(content_type=ContentType.objects.get_for_model(obj), object_pk=str(obj.pk))
        else:
            where["content_object_id"] = obj.pk
        rows.append(model.objects.filter(**where).values_list("permission__codename", flat=True).order_by())
    return frozenset(rows[0].union(rows[1]))


def _model_codenames(obj: models.Model) -> frozenset[str]:
    """Every permission codename of `obj`'s model (what a superuser holds), from its Meta: no query."""
    opts = obj._meta
    return frozenset(
        [f"{action}_{opts.model_name}" for action in opts.default_permissions]
        + [codename for codename, _ in opts.permissions]
    )


def _remembered(user) -> dict:
    """What this user object has learnt of its permissions since grants last changed."""
    generation, cache = user.__dict__.get("_held_perms", (None, None))
    if generation != _generation:
        cache = {}
        user.__dict__["_held_perms"] = (_generation, cache)
    return cache


def remembered(user, key: tuple, compute):
    """`compute()`, read once per user object for `key` (see held_perms) and remembered until a grant
    or membership changes. For access answers that are not guardian permissions (project writers)."""
    cache = _remembered(user)
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def remember(user, key: tuple, value) -> None:
    """Record an access answer a query already read alongside its rows (a path lookup reads the
    caller's permissions on the registry in the same statement), so no check reads it again."""
    _remembered(user)[key] = value


def perms_key(label: str, pk) -> tuple:
    """The key held_perms remembers an object's codenames under (`label` like "registries.Registry")."""
    return (label, pk)


def held_perms(user, obj: models.Model) -> frozenset[str]:
    """The bare codenames `user` holds on `obj` from every source.

    Read once per user object (each request loads its own) and remembered until a grant or
    membership changes, so a view or service that checks several actions on one registry pays
    one query. Not a cross-request cache: nothing outlives the user object.
    """
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    return remembered(user, perms_key(obj._meta.label, obj.pk), lambda: _codenames(user, obj))


def has_perm(user, perm: str, obj: models.Model) -> bool:
    """Whether `user` holds `perm` ("app_label.codename") on `obj`."""
    return perm.partition(".")[2] in held_perms(user, obj)


def require(user, perm: str, obj: models.Model | None = None) -> None:
    """Raise PermissionDenied unless `user` holds `perm` (on `obj`)."""
    if not user.is_authenticated:
        raise PermissionDenied
    if not (has_perm(user, perm, obj) if obj is not None else user.has_perm(perm)):
        raise PermissionDenied


class SystemActor(AnonymousUser):
    """The instance itself (maintenance commands, the task worker): never a person or an API key.

    Not authenticated, so `require()` refuses it everything people do; the few services only the
    system runs check `require_system()`. Its audit events have no actor (the log says "system").
    """

    def __str__(self) -> str:
        return "system"


SYSTEM_ACTOR = SystemActor()


def require_system(actor) -> None:
    """Raise PermissionDenied unless the instance itself is acting."""
    if not isinstance(actor, SystemActor):
        raise PermissionDenied("Only the system runs this (manage.py or the task worker).")


def role_from_perms(codenames) -> Role | None:
    """The highest role whose actions are all in `codenames` (bare codenames)."""
    held = {codename.split("_", 1)[0] for codename in codenames}
    best = None
    for role in ROLE_ORDER:
        if set(ROLE_ACTIONS[role]) <= held:
            best = role
    return best


def effective_role(user, obj: models.Model, checker: ObjectPermissionChecker | None = None) -> Role | None:
    """The highest role `user` holds on `obj` from any source (direct, teams, org)."""
    if not user.is_authenticated:
        return None
    return role_from_perms(checker.get_perms(obj) if checker else held_perms(user, obj))


def direct_role(principal, obj: models.Model) -> Role | None:
    """The role granted to this user or group itself, ignoring other sources."""
    if isinstance(principal, Group):
        codenames = ObjectPermissionChecker(principal).get_group_perms(obj)
    else:
        codenames = ObjectPermissionChecker(principal).get_user_perms(obj)
    return role_from_perms(codenames)


def _role_codenames(obj: models.Model) -> list[str]:
    existing = {p.codename for p in get_perms_for_model(obj)}
    actions = ROLE_ACTIONS[Role.ADMIN]
    return [f"{action}_{obj._meta.model_name}" for action in actions if f"{action}_{obj._meta.model_name}" in existing]


def grant_role(principal, role: Role, obj: models.Model) -> None:
    """Give a user or group exactly `role` on `obj`, replacing any role they had."""
    revoke_role(principal, obj)
    for action in ROLE_ACTIONS[role]:
        assign_perm(perm_name(action, obj), principal, obj)
    grants_changed()


def revoke_role(principal, obj: models.Model) -> None:
    """Take away whatever role a user or group holds directly on `obj`."""
    for codename in _role_codenames(obj):
        remove_perm(f"{obj._meta.app_label}.{codename}", principal, obj)
    grants_changed()


def grant_perms(principal, obj: models.Model, codenames: list[str]) -> None:
    """Grant plain object permissions (for objects without roles, e.g. organizations)."""
    for codename in codenames:
        assign_perm(f"{obj._meta.app_label}.{codename}", principal, obj)
    grants_changed()


def can_manage_team(user, team) -> bool:
    """Org admins and the team's own admins manage a team's members (one query at most)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if has_perm(user, "orgs.admin_organization", team.org):
        return True
    return team.memberships.filter(user=user, role="admin").exists()


def require_team_manager(user, team) -> None:
    """Raise PermissionDenied unless `user` may manage `team`'s members."""
    if not can_manage_team(user, team):
        raise PermissionDenied("Only organization admins and this team's admins manage its members.")
