"""The legacy, team-scoped Model Registry: registered models, their linked versions, aliases and tags.

Each team has one legacy registry (W&B's `<team>/model-registry` project). A registered model is
the legacy word for a collection: links point at source artifact versions (never copies) and
take the model's next index `vN`; unlinking leaves a gap. The Registry App replaces it: the
`migrate_legacy_registry` command copies a team's models into a Restricted registry and leaves
the legacy one read-only (`LegacyMigration`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from apps.artifacts.models import ArtifactVersion
from apps.automations.models import Webhook
from apps.collections.models import Collection, Link
from apps.orgs.models import OrgRole, Team
from apps.orgs.permissions import has_perm
from apps.registries.models import Registry

# The project name W&B gives the legacy registry in paths: `<team>/model-registry/<name>:<vN|alias>`.
LEGACY_PROJECT = "model-registry"
LATEST = "latest"


def teams_of(user) -> models.QuerySet:
    """Teams whose legacy registry `user` sees and writes: their own teams, and every team of the
    organizations they administer (the same answer as source projects, artifacts.ProjectQuerySet).

    SECURITY: one Q, so both conditions bind to the same membership row.
    """
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(
        Q(memberships__user=user) | Q(org__memberships__user=user, org__memberships__role=OrgRole.ADMIN)
    ).distinct()


def is_team_admin(user, team: Team) -> bool:
    """Team admins manage protected aliases and the registry admins: the organization's admins
    (orgs.permissions' one "org admin" answer) and the people named registry admins of this team."""
    if not user.is_authenticated:
        return False
    if has_perm(user, "orgs.admin_organization", team.org):
        return True
    return LegacyRegistryAdmin.objects.filter(team=team, user=user).exists()


class RegisteredModelQuerySet(models.QuerySet):
    def visible_to(self, user) -> "RegisteredModelQuerySet":
        """Registered models of the teams `user` sees (teams_of): the only definition of 'view'."""
        return self.filter(team__in=teams_of(user).values("pk"))


class RegisteredModel(models.Model):
    """A registered model in a team's legacy Model Registry (the legacy word for a collection)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="registered_models", db_index=False)
    name = models.CharField(max_length=128)
    description = models.TextField(blank=True)  # Markdown
    # Links take consecutive indexes from this counter (read and bumped under a row lock).
    next_index = models.PositiveIntegerField(default=0)
    # "New version linked" notification: a webhook of the team's organization, or none.
    notify_webhook = models.ForeignKey(Webhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Where the migration copied this model (set in the same transaction as the copy).
    migrated_to = models.ForeignKey(Collection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = RegisteredModelQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint("team", Lower("name"), name="legacy_registeredmodel_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.team.name}/{LEGACY_PROJECT}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("legacy:model_detail", args=[self.team.name, self.name])


class RegisteredModelTag(models.Model):
    """A tag on a registered model."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="tags", db_index=False)
    name = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="legacy_registeredmodeltag_unique")]

    def __str__(self) -> str:
        return self.name


class ModelLinkQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ModelLinkQuerySet":
        return self.filter(model__team__in=teams_of(user).values("pk"))


class ModelLink(models.Model):
    """A source artifact version linked into a registered model, with the model's own index vN."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="links", db_index=False)
    version = models.ForeignKey(ArtifactVersion, on_delete=models.PROTECT, related_name="legacy_links")
    index = models.PositiveIntegerField()
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where the migration copied this link.
    migrated_to = models.ForeignKey(Link, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ModelLinkQuerySet.as_manager()

    class Meta:
        ordering = ["model", "-index"]
        constraints = [
            models.UniqueConstraint(fields=["model", "index"], name="legacy_modellink_unique_index"),
            models.UniqueConstraint(fields=["model", "version"], name="legacy_modellink_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.model}:v{self.index}"

    def get_absolute_url(self) -> str:
        return reverse("legacy:version_detail", args=[self.model.team.name, self.model.name, self.index])

    @property
    def version_label(self) -> str:
        return f"v{self.index}"


class ModelAlias(models.Model):
    """An alias on a linked version, unique within its registered model (`latest`, `production`, …)."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases", db_index=False)
    link = models.ForeignKey(ModelLink, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alias"]
        constraints = [models.UniqueConstraint(fields=["model", "alias"], name="legacy_modelalias_unique")]

    def __str__(self) -> str:
        return self.alias


class LegacyProtectedAlias(models.Model):
    """An alias only team admins and registry admins may apply or remove, in one team's legacy registry."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="legacy_protected_aliases", db_index=False)
    alias = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "legacy protected aliases"
        constraints = [models.UniqueConstraint(fields=["team", "alias"], name="legacy_protectedalias_unique")]

    def __str__(self) -> str:
        return f"{self.team.name}: {self.alias}"


class LegacyRegistryAdmin(models.Model):
    """A team member named admin of the team's legacy registry (W&B's "Manage registry admins")."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="legacy_registry_admins", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="legacy_registryadmin_unique")]

    def __str__(self) -> str:
        return f"{self.user} admin of {self.team.name}'s model registry"


class LegacyMigration(models.Model):
    """A team's legacy registry being (or having been) migrated into `registry`.

    From its creation the team's legacy registry is read-only; `finished_at` is set once every
    model is copied. Models are copied one per transaction (RegisteredModel.migrated_to), so a
    killed run resumes where it stopped.
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="legacy_migration")
    registry = models.ForeignKey(Registry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    registry_name = models.CharField(max_length=128)  # a snapshot: messages name it even if it goes
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.team.name} → {self.registry_name}"


class RegistryUI(models.TextChoices):
    NEW = "new", "Registry"
    LEGACY = "legacy", "Legacy Model Registry"


class LegacyPreference(models.Model):
    """Which registry a user wants to land on: the new Registry or the legacy Model Registry."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="legacy_preference")
    registry_ui = models.CharField(max_length=8, choices=RegistryUI, default=RegistryUI.NEW)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} prefers {self.get_registry_ui_display()}"


class LegacyTeam(Team):
    """A team seen from its legacy Model Registry (the Django admin's migration action lists these)."""

    class Meta:
        proxy = True
        verbose_name = "team's legacy model registry"
        verbose_name_plural = "teams' legacy model registries"
