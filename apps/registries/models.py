"""Registries: curated, permissioned homes for artifact versions in an organization."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.orgs.models import Organization
from apps.orgs.permissions import has_perm
from lib.paths import REGISTRY_PREFIX

REGISTRY_NAME_MAX = 113  # the full project name `wandb-registry-<name>` is at most 128
REGISTRY_NAME_FORBIDDEN = "/\\#?%:\r\n"


def validate_registry_name(name: str) -> str:
    """Registry names: 1–113 characters, spaces allowed, none of / \\ # ? % : or newlines."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A registry name is required."})
    if len(name) > REGISTRY_NAME_MAX:
        raise ValidationError({"name": f"Registry names must be {REGISTRY_NAME_MAX} characters or less."})
    bad = sorted({ch for ch in name if ch in REGISTRY_NAME_FORBIDDEN})
    if bad:
        shown = " ".join({"\r": "\\r", "\n": "\\n"}.get(ch, ch) for ch in bad)
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
        of their teams, or to their role in the org. Two indexed subqueries (guardian's
        get_objects_for_user builds the same in ten times the Python time)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        codename = f"{action}_registry"
        direct = RegistryUserObjectPermission.objects.filter(user=user, permission__codename=codename)
        grouped = RegistryGroupObjectPermission.objects.filter(group__user=user, permission__codename=codename)
        return self.filter(
            models.Q(pk__in=direct.values("content_object_id")) | models.Q(pk__in=grouped.values("content_object_id"))
        )

    def core_first(self) -> "RegistryQuerySet":
        return self.order_by("-is_core", Lower("name"))

    def with_starred(self, user) -> "RegistryQuerySet":
        """Annotate `is_starred`: whether `user` starred each registry."""
        if not user.is_authenticated:
            return self.annotate(is_starred=models.Value(False))
        return self.annotate(is_starred=models.Exists(Star.objects.filter(registry=models.OuterRef("pk"), user=user)))


class Registry(models.Model):
    """An organization's registry of collections (core: Models, Datasets; or custom)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="registries")
    name = models.CharField(max_length=REGISTRY_NAME_MAX)
    slug = models.SlugField(max_length=128)
    description = models.TextField(blank=True)
    is_core = models.BooleanField(default=False)
    visibility = models.CharField(max_length=16, choices=Visibility, default=Visibility.ORGANIZATION)
    allow_all_types = models.BooleanField(default=True)
    artifact_types = models.JSONField(default=list, blank=True)  # add-only once saved
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
        return reverse("registries:registry_detail", args=[self.org.slug, self.slug])

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

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="protected_aliases")
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


class Star(models.Model):
    """A user's star on a registry: starred registries come first on the landing page."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="stars")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registry_stars")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registry", "user"], name="registries_star_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.registry}"
