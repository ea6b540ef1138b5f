"""Organizations, their members and teams."""

import datetime
import hashlib
import string

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from guardian.shortcuts import get_objects_for_user

from apps.orgs import sql

# Entity names (org slugs, team names) appear in paths like `<team>/<project>/<artifact>`.
entity_name_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,63}$",
    "Use 1–64 lowercase letters, digits, '-' or '_', starting with a letter or digit.",
)


class OrgRole(models.TextChoices):
    """A person's role in an organization."""

    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class OrganizationQuerySet(models.QuerySet):
    def visible_to(self, user) -> "OrganizationQuerySet":
        """Organizations `user` belongs to."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)

    def administered_by(self, user) -> "OrganizationQuerySet":
        """Organizations `user` administers: the one definition (the org's `admin_organization` permission)."""
        if not user.is_authenticated:
            return self.none()
        return get_objects_for_user(user, "orgs.admin_organization", klass=self, accept_global_perms=False)


class Organization(models.Model):
    """A company or group that owns registries and teams."""

    slug = models.CharField(max_length=64, unique=True, validators=[entity_name_validator])
    name = models.CharField("display name", max_length=128)
    admins_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+")
    members_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+")
    viewers_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Whether an organization or team automation exists (kept by the automation services): a commit in a
    # project, which no registry automation watches, looks for automations only when it is set.
    has_automations = models.BooleanField(default=False, editable=False)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]
        permissions = [
            ("admin_organization", "Administer the organization"),
            ("create_registry", "Create registries in the organization"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("collections:landing", args=[self.slug])

    def group_for(self, role: str) -> Group:
        """The auth group that holds everyone with this org role."""
        return {
            OrgRole.ADMIN: self.admins_group,
            OrgRole.MEMBER: self.members_group,
            OrgRole.VIEWER: self.viewers_group,
        }[role]

    def role_groups(self) -> list[Group]:
        return [self.admins_group, self.members_group, self.viewers_group]


class OrganizationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class Membership(models.Model):
    """A user's membership of an organization, with their org role."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=OrgRole, default=OrgRole.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="orgs_membership_unique_user_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} ({self.role})"


class TeamQuerySet(models.QuerySet):
    def visible_to(self, user) -> "TeamQuerySet":
        """Teams in organizations `user` belongs to."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(org__memberships__user=user)


class Team(models.Model):
    """A team inside an organization; it owns projects. Its members form an auth group."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    # Team names share one namespace with usernames across the instance (W&B entities).
    name = models.CharField(max_length=64, validators=[entity_name_validator])
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="orgs_team_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamRole(models.TextChoices):
    """A person's role in a team: team admins manage the team's members."""

    ADMIN = "admin", "Team admin"
    MEMBER = "member", "Member"


class TeamMembership(models.Model):
    """A user's membership of a team (mirrored in the team's auth group)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(max_length=16, choices=TeamRole, default=TeamRole.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="orgs_teammembership_unique_user_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in team {self.team}"


class ServiceAccount(models.Model):
    """A non-human user (CI, deploy jobs) of an organization, or of one team in it (W&B's service accounts).

    Its user row has no usable password and cannot log in to the UI; it acts through API keys that
    org admins create and revoke. It holds an org membership (role Member), and registry roles like anyone.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="service_accounts")
    # RESTRICT: a team with service accounts is not deleted by itself (deactivate them first), but an
    # organization's deletion takes both.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.RESTRICT, related_name="service_accounts")
    description = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org", "user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} (service account)"

    def get_absolute_url(self) -> str:
        return reverse("service_account_detail", args=[self.org.slug, self.pk])

    @property
    def name(self) -> str:
        return self.user.get_username()

    @property
    def is_active(self) -> bool:
        return self.user.is_active


def is_service_account(user) -> bool:
    """Whether `user` is a service account (no query when `service_account` was select_related)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    try:
        return user.service_account is not None
    except ServiceAccount.DoesNotExist:
        return False


def member_suggestions(org: "Organization", typed: str, limit: int = 20) -> list[tuple[str, str]]:
    """(username, label) of up to `limit` members of `org` whose username, first name or email contains
    `typed`, service accounts labelled as such (one query). For autocomplete fields of people who
    manage members; callers check that first."""
    memberships = (
        Membership.objects.filter(org=org)
        .filter(
            models.Q(user__username__icontains=typed)
            | models.Q(user__first_name__icontains=typed)
            | models.Q(user__email__icontains=typed)
        )
        .select_related("user__service_account")
        .order_by("user__username")[:limit]
    )
    return [
        (
            m.user.username,
            "Service account" if is_service_account(m.user) else (m.user.get_full_name() or m.get_role_display()),
        )
        for m in memberships
    ]


# Audit pages read each event's actor with its service-account row (one join), so the events table
# badges service accounts (templates/audit/_events.html); the audit app itself knows no orgs.
ACTOR_KIND = "actor__service_account"

INVITATION_LIFETIME = datetime.timedelta(days=7)


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> "InvitationQuerySet":
        """Invitations that can still be accepted."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An invitation to join an organization, sent to an email address as a link with a secret token.

    Only a SHA-256 of the token is stored (the link is shown once, and mailed); it is single-use and expires.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=OrgRole, default=OrgRole.MEMBER)
    hashed_token = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.org.slug}"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class RegistryUI(models.TextChoices):
    """Which registry a user wants to see: the new Registry App or the legacy Model Registry."""

    NEW = "new", "Registry"
    LEGACY = "legacy", "Legacy Model Registry"


class UserPreference(models.Model):
    """A user's personal interface choices (one row per user, created on first choice)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    registry_ui = models.CharField(max_length=8, choices=RegistryUI, default=RegistryUI.NEW)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} prefers {self.get_registry_ui_display()}"


API_KEY_PREFIX = "reg-"
API_KEY_ALPHABET = string.ascii_letters + string.digits + "_"
API_KEY_LENGTH = 43  # after the prefix: ~256 bits; clients accept `prefix-` + 40 or more of [A-Za-z0-9_]
API_KEY_TOUCH_EVERY = datetime.timedelta(minutes=1)


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)

    def authenticate(self, raw: str) -> "ApiKey | None":
        """The active key (with its user) whose secret is `raw`, or None."""
        if not raw or len(raw) > 256:
            return None
        # One hand-written statement (orgs/sql.py), with only the columns a request reads (not the password
        # hash, login times…; others load if asked): the ORM's version took half of a resolve call.
        return sql.active_key(self.model, hash_api_key(raw))


class ApiKey(models.Model):
    """A user's key for the API and the Python client. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=16)  # the first characters, shown so people can tell keys apart
    # Keys carry 240+ bits of randomness, so a plain SHA-256 (no salt, no stretching) cannot be reversed.
    hashed_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["user", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def touch(self) -> None:
        """Record use, at most once a minute so busy clients do not write on every request."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= API_KEY_TOUCH_EVERY:
            ApiKey.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
