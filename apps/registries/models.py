"""Registries: curated, permissioned homes for artifact versions in an organization."""

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.orgs.models import Organization, Team, is_service_account
from apps.orgs.permissions import ROLE_ORDER, Role, has_perm, role_from_perms
from apps.registries import sql
from lib.names import check_name_characters
from lib.paths import REGISTRY_PREFIX

REGISTRY_NAME_MAX = 113  # the full project name `wandb-registry-<name>` is at most 128
REGISTRY_NAME_FORBIDDEN = "/\\#?%:"


def validate_registry_name(name: str) -> str:
    """Registry names: 1–113 characters, spaces allowed, none of / \\ # ? % : nor control characters."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A registry name is required."})
    if len(name) > REGISTRY_NAME_MAX:
        raise ValidationError({"name": f"Registry names must be {REGISTRY_NAME_MAX} characters or less."})
    check_name_characters(name, "name", "Registry names")
    bad = sorted({ch for ch in name if ch in REGISTRY_NAME_FORBIDDEN})
    if bad:
        shown = " ".join(bad)
        raise ValidationError({"name": f"Registry names cannot contain these characters: {shown}"})
    if name.lower().startswith(REGISTRY_PREFIX):
        raise ValidationError({"name": f"Give the name without the “{REGISTRY_PREFIX}” prefix."})
    return name


class Visibility(models.TextChoices):
    ORGANIZATION = "organization", "Organization"
    RESTRICTED = "restricted", "Restricted"


class RegistryQuerySet(models.QuerySet):
    def visible_to(self, user) -> "RegistryQuerySet":
        """Registries `user` may view. The only definition of 'view' for registries."""
        return self.with_perm(user, "view")

    def with_perm(self, user, action: str) -> "RegistryQuerySet":
        """Registries where `user` holds `action` (view, download, write, admin): granted to them, to one
        of their teams, or to their role in the org. One hand-written subquery (registries/sql.py: guardian's
        get_objects_for_user builds the same in ten times the Python time, the ORM's subqueries in twice)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(pk__in=sql.registries_with(user.pk, f"{action}_registry"))

    def core_first(self) -> "RegistryQuerySet":
        return self.order_by("-is_core", Lower("name"))

    def with_starred(self, user) -> "RegistryQuerySet":
        """Annotate `is_starred`: whether `user` starred each registry."""
        if not user.is_authenticated:
            return self.annotate(is_starred=models.Value(False))
        return self.annotate(is_starred=models.Exists(Star.objects.filter(registry=models.OuterRef("pk"), user=user)))


class Registry(models.Model):
    """An organization's registry of collections (core: Model, Dataset; or custom)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="registries", db_index=False)
    name = models.CharField(max_length=REGISTRY_NAME_MAX)
    slug = models.SlugField(max_length=128)
    description = models.TextField(blank=True)
    is_core = models.BooleanField(default=False)
    visibility = models.CharField(max_length=16, choices=Visibility, default=Visibility.ORGANIZATION)
    allow_all_types = models.BooleanField(default=True)
    artifact_types = models.JSONField(default=list, blank=True)  # add-only once saved
    # Whether any automation listens to this registry (kept by apps/automations/services.py), so the
    # events of registries without automations skip the lookup after every commit.
    has_automations = models.BooleanField(default=False, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RegistryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "registries"
        ordering = ["org", "name"]
        permissions = [
            ("download_registry", "Download and use files of linked versions"),
            ("write_registry", "Create collections, link, alias and tag versions"),
            ("admin_registry", "Manage settings, members and protected aliases"),
        ]
        constraints = [
            models.UniqueConstraint("org", Lower("name"), name="registries_registry_unique_name_per_org"),
            models.UniqueConstraint(fields=["org", "slug"], name="registries_registry_unique_slug_per_org"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("collections:registry_detail", args=[self.org.slug, self.slug])

    def is_visible_to(self, user) -> bool:
        """The one-object form of `Registry.objects.visible_to(user)`, answered from the request's
        permission read (orgs.permissions.held_perms), which later checks reuse."""
        return has_perm(user, "registries.view_registry", self)

    def protected_alias_names(self) -> set[str]:
        """The aliases only this registry's admins may apply or remove (one query)."""
        return set(self.protected_aliases.values_list("alias", flat=True))

    @property
    def full_name(self) -> str:
        return f"{REGISTRY_PREFIX}{self.name}"

    @property
    def path(self) -> str:
        return f"{self.org.slug}/{self.full_name}"

    def accepts(self, type_: str) -> bool:
        return self.allow_all_types or type_ in self.artifact_types


class RegistryUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Registry, on_delete=models.CASCADE)


class RegistryGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Registry, on_delete=models.CASCADE)


class ProtectedAlias(models.Model):
    """An alias only registry admins may apply or remove (e.g. `production`)."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="protected_aliases", db_index=False)
    alias = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "protected aliases"
        constraints = [
            models.UniqueConstraint(fields=["registry", "alias"], name="registries_protectedalias_unique"),
        ]

    def __str__(self) -> str:
        return self.alias


class FormerName(models.Model):
    """A name a registry had before a rename: paths that use it keep resolving, as in W&B."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="former_names", db_index=False)
    name = models.CharField(max_length=REGISTRY_NAME_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint("registry", Lower("name"), name="registries_formername_unique_per_registry"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.registry.name}"


class Star(models.Model):
    """A user's star on a registry: starred registries come first on the landing page."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="stars", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registry_stars")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registry", "user"], name="registries_star_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.registry}"


# --- Who holds roles on a registry ---


@dataclass
class MemberRow:
    """A user or team holding a role of its own on the registry."""

    kind: str  # "user" or "team"
    name: str
    role: Role
    effective: Role
    is_owner: bool = False
    is_service_account: bool = False


def registry_members(registry: Registry) -> list[MemberRow]:
    """Users and teams with a direct role on `registry`, with each user's effective role, in four queries.

    The one member listing: the settings page and the API both show it.
    """
    user_codes, group_codes = defaultdict(set), defaultdict(set)
    user_perms = RegistryUserObjectPermission.objects.filter(content_object=registry)
    for user_id, codename in user_perms.values_list("user_id", "permission__codename"):
        user_codes[user_id].add(codename)
    group_perms = RegistryGroupObjectPermission.objects.filter(content_object=registry)
    for group_id, codename in group_perms.values_list("group_id", "permission__codename"):
        group_codes[group_id].add(codename)
    group_roles = {gid: role_from_perms(codes) for gid, codes in group_codes.items()}
    via_groups = defaultdict(list)
    memberships = get_user_model().groups.through.objects.filter(user_id__in=user_codes, group_id__in=group_roles)
    for user_id, group_id in memberships.values_list("user_id", "group_id"):
        via_groups[user_id].append(group_roles[group_id])

    def highest(roles):
        return max((r for r in roles if r), key=ROLE_ORDER.index)

    rows = []
    users = get_user_model().objects.filter(pk__in=user_codes).select_related("service_account").order_by("username")
    for user in users:
        role = role_from_perms(user_codes[user.pk])
        effective = highest([role, *via_groups[user.pk]])
        owner = user.pk == registry.owner_id
        rows.append(MemberRow("user", user.get_username(), role, effective, owner, is_service_account(user)))
    # Only team groups: the org role groups (org admins, organization-wide viewers) are not teams.
    for team in Team.objects.filter(org=registry.org, group_id__in=group_roles).order_by("name"):
        role = group_roles[team.group_id]
        rows.append(MemberRow("team", team.name, role, role))
    return rows


def find_principal(org: Organization, kind: str, name: str):
    """The member (kind "user") or team (kind "team") of `org` called `name`, case-insensitively.

    The one principal lookup for role changes, from the settings page and the API alike.
    """
    if kind == "team":
        team = Team.objects.filter(org=org, name__iexact=name).select_related("group").first()
        if team is None:
            raise ValidationError({"name": f"There is no team “{name}” in {org}."})
        return team
    members = get_user_model().objects.filter(memberships__org=org)
    user = members.filter(username__iexact=name).first()
    if user is None and "@" in name:  # people are also found by email (W&B: "usernames, emails, team names")
        matches = list(members.filter(email__iexact=name)[:2])
        if len(matches) > 1:
            raise ValidationError({"name": f"Several members have the address {name}: add one by username."})
        user = matches[0] if matches else None
    if user is None:
        raise ValidationError({"name": f"There is no member “{name}” in {org}."})
    return user
