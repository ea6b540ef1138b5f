"""Every change to the legacy Model Registry, and the banner preference.

Team members write (link, unlink, aliases, tags, descriptions, notifications); team admins and the
team's registry admins manage protected aliases and registry admins. After a team's migration its
legacy registry is read-only: every write here answers a message naming the new registry.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from apps.artifacts.models import ArtifactVersion, Project, VersionState, validate_artifact_name, validate_tag
from apps.artifacts.services import create_project
from apps.audit.models import Action
from apps.audit.services import record
from apps.automations.models import Webhook
from apps.collections.services import DESCRIPTION_MAX
from apps.legacy.models import (
    LATEST,
    LEGACY_PROJECT,
    LegacyMigration,
    LegacyPreference,
    LegacyProtectedAlias,
    LegacyRegistryAdmin,
    ModelAlias,
    ModelLink,
    RegisteredModel,
    RegisteredModelTag,
    RegistryUI,
    is_team_admin,
    teams_of,
)
from apps.orgs.models import Team
from apps.registries.services import validate_alias
from lib.names import check_unique_name, lookalike
from lib.text import check_text

# W&B's SDK (≥ 0.21) prints this for a migrated legacy registry; we answer it on every old path.
DEPRECATION_WARNING = (
    "This model registry has been migrated and will be discontinued. Your request was redirected to {target}."
)


def migrated_message(team: Team, migration: LegacyMigration) -> str:
    return (
        f"The {team.name} model registry was migrated to the registry “{migration.registry_name}” and is now "
        f"read-only. Link, tag and alias versions in “{migration.registry_name}” instead."
    )


def migration_of(team: Team) -> LegacyMigration | None:
    return LegacyMigration.objects.filter(team=team).first()


def _require_member(actor, team: Team) -> None:
    """Team members (and org admins) write; anyone else is refused."""
    if not actor.is_authenticated or not teams_of(actor).filter(pk=team.pk).exists():
        raise PermissionDenied("Only members of this team can change its model registry.")


def _require_writable(team: Team) -> None:
    migration = migration_of(team)
    if migration is not None:
        raise ValidationError(migrated_message(team, migration))


def _require_admin(actor, team: Team) -> None:
    if not is_team_admin(actor, team):
        raise PermissionDenied("Only team admins and registry admins can manage protected aliases and admins.")


def _audit(actor, team: Team, action: Action, target, data: dict | None = None) -> None:
    """Legacy events are the Registry's actions on legacy rows (target type tells them apart)."""
    record(actor=actor, org=team.org, action=action, target=target, data={"legacy": True, **(data or {})})


def _clean_description(description: str) -> str:
    description = check_text(description or "", "description")
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError({"description": "Descriptions must be 100,000 characters or less."})
    return description


def _protected(team: Team) -> set[str]:
    return set(LegacyProtectedAlias.objects.filter(team=team).values_list("alias", flat=True))


def _check_protected(actor, team: Team, aliases, message: str) -> None:
    if aliases and not is_team_admin(actor, team):
        protected = _protected(team) & set(aliases)
        if protected:
            raise PermissionDenied(message.format(", ".join(sorted(protected))))


def _check_lookalike(team: Team, model: RegisteredModel | None, alias: str) -> None:
    """SECURITY: protected aliases are matched exactly, so a look-alike would dodge the admin check."""
    scopes = [(LegacyProtectedAlias.objects.filter(team=team), "protected alias")]
    if model is not None:
        scopes.append((ModelAlias.objects.filter(model=model), "alias"))
    for siblings, what in scopes:
        existing = lookalike(alias, siblings, "alias")
        if existing is not None and existing != alias:
            raise ValidationError({"alias": f"“{alias}” reads the same as the {what} “{existing}”; use “{existing}”."})


@transaction.atomic
def create_registered_model(
    *, actor, team: Team, name: str, description: str = "", tags: list[str] | None = None
) -> RegisteredModel:
    """Register a model (an empty one; linking a version also creates it)."""
    _require_member(actor, team)
    _require_writable(team)
    name = validate_artifact_name(name)
    description = _clean_description(description)
    tags = [validate_tag(t) for t in dict.fromkeys(tags or [])]
    check_unique_name(name, RegisteredModel.objects.filter(team=team), what="Registered model", scope=team.name)
    model = RegisteredModel.objects.create(team=team, name=name, description=description, created_by=actor)
    RegisteredModelTag.objects.bulk_create([RegisteredModelTag(model=model, name=t) for t in tags])
    _audit(actor, team, Action.COLLECTION_CREATE, model, {"name": name, "tags": tags})
    return model


def _locked_model(team: Team, name: str, version: ArtifactVersion) -> RegisteredModel | None:
    existing = ModelLink.objects.filter(model=OuterRef("pk"), version=version.pk).values("pk")[:1]
    models = RegisteredModel.objects.select_for_update().filter(team=team, name__iexact=name)
    try:
        return models.annotate(existing_link_id=Subquery(existing)).get()
    except RegisteredModel.DoesNotExist:
        return None


def _move_alias(model: RegisteredModel, link: ModelLink, alias: str) -> ModelLink | None:
    """Point `alias` at `link`; return the link that held it before (`link` itself if unchanged)."""
    existing = ModelAlias.objects.select_related("link").filter(model=model, alias=alias).first()
    if existing is None:
        ModelAlias.objects.create(model=model, link=link, alias=alias)
        return None
    if existing.link_id == link.pk:
        return link
    previous = existing.link
    existing.link = link
    existing.save(update_fields=["link"])
    return previous


@transaction.atomic
def link_model_version(
    *, actor, version: ArtifactVersion, team: Team, model_name: str, aliases: list[str] | None = None
) -> ModelLink:
    """Link a committed source version into a registered model (created on first link); twice returns the link."""
    _require_member(actor, team)
    try:
        version = ArtifactVersion.objects.visible_to(actor).select_related("sequence__project__team").get(pk=version.pk)
    except ArtifactVersion.DoesNotExist:
        raise PermissionDenied("You cannot see this artifact version.") from None
    name = validate_artifact_name(model_name, field="model")
    migration = migration_of(team)
    if migration is not None:
        raise ValidationError(migrated_message(team, migration))
    if version.state != VersionState.COMMITTED:
        raise ValidationError({"version": "Only committed versions can be linked."})
    if version.sequence.project.team.org_id != team.org_id:
        raise ValidationError({"version": "Only artifacts logged in this organization can be linked."})
    aliases = [validate_alias(a) for a in dict.fromkeys(aliases or [])]
    _check_protected(actor, team, aliases, "Only team admins and registry admins can apply protected aliases: {}.")
    if not Project.objects.filter(team=team, name=LEGACY_PROJECT).exists():
        # W&B's legacy registry is the team's `model-registry` project: the SDK looks it up by that name.
        create_project(actor=actor, team=team, name=LEGACY_PROJECT, description="The legacy Model Registry.")
    model = _locked_model(team, name, version)
    if model is None:
        try:
            with transaction.atomic():  # savepoint: another linker may create it first
                model = create_registered_model(actor=actor, team=team, name=name)
        except (IntegrityError, ValidationError):
            model = _locked_model(team, name, version)
            if model is None:
                raise
    for alias in aliases:
        _check_lookalike(team, model, alias)
    existing = getattr(model, "existing_link_id", None)
    link = ModelLink.objects.get(pk=existing) if existing else None
    created = link is None
    if created:
        link = ModelLink.objects.create(model=model, version=version, index=model.next_index, linked_by=actor)
        model.next_index += 1
        model.save(update_fields=["next_index", "updated_at"])
        if not ModelAlias.objects.filter(model=model, alias=LATEST).update(link=link):
            ModelAlias.objects.create(model=model, link=link, alias=LATEST)
        _audit(
            actor,
            team,
            Action.COLLECTION_LINK,
            link,
            {"model": model.name, "version": link.version_label, "source": str(version), "aliases": aliases},
        )
    for alias in aliases:
        previous = _move_alias(model, link, alias)
        if previous is not link:
            _audit(
                actor,
                team,
                Action.ALIAS_ADD,
                link,
                {"alias": alias, "version": link.version_label, "moved_from": previous and previous.version_label},
            )
    link.model, link.version, link.is_new = model, version, created
    return link


@transaction.atomic
def unlink_model_version(*, actor, link: ModelLink) -> None:
    """Remove a version from a registered model; its index stays a gap. Protected versions need an admin."""
    model = link.model
    _require_member(actor, model.team)
    _require_writable(model.team)
    held = set(link.aliases.values_list("alias", flat=True))
    if held & _protected(model.team) and not is_team_admin(actor, model.team):
        raise PermissionDenied(
            "This version holds a protected alias; only team admins and registry admins can unlink it."
        )
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    _audit(
        actor,
        model.team,
        Action.COLLECTION_UNLINK,
        link,
        {"model": model.name, "version": link.version_label, "aliases": sorted(held)},
    )
    link.delete()
    if LATEST in held:
        newest = ModelLink.objects.filter(model=model).order_by("-index").first()
        if newest is not None:
            ModelAlias.objects.create(model=model, link=newest, alias=LATEST)
    model.save(update_fields=["updated_at"])


@transaction.atomic
def add_model_alias(*, actor, link: ModelLink, alias: str) -> ModelAlias:
    """Put an alias on a linked version; it moves if another version held it."""
    team = link.model.team
    _require_member(actor, team)
    _require_writable(team)
    alias = validate_alias(alias)
    _check_protected(
        actor, team, [alias], "“{}” is a protected alias; only team admins and registry admins can apply it."
    )
    _check_lookalike(team, link.model, alias)
    previous = _move_alias(link.model, link, alias)
    if previous is not link:
        _audit(
            actor,
            team,
            Action.ALIAS_ADD,
            link,
            {"alias": alias, "version": link.version_label, "moved_from": previous and previous.version_label},
        )
    return ModelAlias.objects.get(model=link.model, alias=alias)


@transaction.atomic
def remove_model_alias(*, actor, link: ModelLink, alias: str) -> None:
    """Take an alias off a linked version (`latest` follows the newest link)."""
    team = link.model.team
    _require_member(actor, team)
    _require_writable(team)
    if alias == LATEST:
        raise ValidationError({"alias": "“latest” always points at the newest version and cannot be removed."})
    _check_protected(
        actor, team, [alias], "“{}” is a protected alias; only team admins and registry admins can remove it."
    )
    deleted, _ = ModelAlias.objects.filter(link=link, alias=alias).delete()
    if not deleted:
        raise ValidationError({"alias": f"{link.version_label} has no alias “{alias}”."})
    _audit(actor, team, Action.ALIAS_REMOVE, link, {"alias": alias, "version": link.version_label})


@transaction.atomic
def add_model_tag(*, actor, model: RegisteredModel, tag: str) -> RegisteredModelTag:
    _require_member(actor, model.team)
    _require_writable(model.team)
    tag = validate_tag(tag)
    row, created = RegisteredModelTag.objects.get_or_create(model=model, name=tag)
    if created:
        _audit(actor, model.team, Action.COLLECTION_ADD_TAG, model, {"tag": tag})
    return row


@transaction.atomic
def remove_model_tag(*, actor, model: RegisteredModel, tag: str) -> None:
    _require_member(actor, model.team)
    _require_writable(model.team)
    deleted, _ = RegisteredModelTag.objects.filter(model=model, name=tag).delete()
    if not deleted:
        raise ValidationError({"tag": f"“{model.name}” has no tag “{tag}”."})
    _audit(actor, model.team, Action.COLLECTION_REMOVE_TAG, model, {"tag": tag})


@transaction.atomic
def update_model_description(*, actor, model: RegisteredModel, description: str) -> RegisteredModel:
    """Replace a registered model's Markdown description (its model card)."""
    _require_member(actor, model.team)
    _require_writable(model.team)
    before = model.description
    model.description = _clean_description(description)
    model.save(update_fields=["description", "updated_at"])
    _audit(
        actor,
        model.team,
        Action.COLLECTION_UPDATE,
        model,
        {"description": {"from": before[:200], "to": model.description[:200]}},
    )
    return model


@transaction.atomic
def set_model_notification(*, actor, model: RegisteredModel, webhook: Webhook | None) -> RegisteredModel:
    """Turn the "New version linked" notification on (to a webhook of the team's organization) or off."""
    _require_member(actor, model.team)
    _require_writable(model.team)
    if webhook is not None and webhook.org_id != model.team.org_id:
        raise ValidationError({"webhook": "Choose a webhook of this organization."})
    before = model.notify_webhook.name if model.notify_webhook else None
    model.notify_webhook = webhook
    model.save(update_fields=["notify_webhook", "updated_at"])
    _audit(
        actor,
        model.team,
        Action.AUTOMATION_UPDATE,
        model,
        {"event": "LINK_ARTIFACT", "webhook": {"from": before, "to": webhook.name if webhook else None}},
    )
    return model


@transaction.atomic
def declare_protected_alias(*, actor, team: Team, alias: str) -> LegacyProtectedAlias:
    _require_admin(actor, team)
    _require_writable(team)
    alias = validate_alias(alias)
    _check_lookalike(team, None, alias)
    row, created = LegacyProtectedAlias.objects.get_or_create(team=team, alias=alias)
    if not created:
        raise ValidationError({"alias": f"“{alias}” is already protected."})
    _audit(actor, team, Action.PROTECTED_ALIAS_CREATE, row, {"alias": alias})
    return row


@transaction.atomic
def remove_protected_alias(*, actor, team: Team, alias: str) -> None:
    _require_admin(actor, team)
    _require_writable(team)
    deleted, _ = LegacyProtectedAlias.objects.filter(team=team, alias=alias).delete()
    if not deleted:
        raise ValidationError({"alias": f"“{alias}” is not a protected alias."})
    _audit(actor, team, Action.PROTECTED_ALIAS_DELETE, team, {"alias": alias})


@transaction.atomic
def add_registry_admin(*, actor, team: Team, user) -> LegacyRegistryAdmin:
    """Name a team member admin of the team's legacy registry (team admins and registry admins only)."""
    _require_admin(actor, team)
    _require_writable(team)
    if not team.memberships.filter(user=user).exists():
        raise ValidationError({"user": f"{user.get_username()} is not a member of team {team.name}."})
    row, created = LegacyRegistryAdmin.objects.get_or_create(team=team, user=user)
    if created:
        _audit(actor, team, Action.ROLE_CREATE, row, {"user": user.get_username(), "role": "admin"})
    return row


@transaction.atomic
def remove_registry_admin(*, actor, team: Team, user) -> None:
    _require_admin(actor, team)
    _require_writable(team)
    deleted, _ = LegacyRegistryAdmin.objects.filter(team=team, user=user).delete()
    if not deleted:
        raise ValidationError({"user": f"{user.get_username()} is not a registry admin."})
    _audit(actor, team, Action.ROLE_DELETE, team, {"user": user.get_username(), "role": "admin"})


@transaction.atomic
def set_registry_ui_preference(*, actor, registry_ui: str) -> LegacyPreference:
    """Remember whether `actor` wants the new Registry or the legacy Model Registry.

    A personal display choice: audited as a preference (no organization), not as a change to shared data.
    """
    if not actor.is_authenticated:
        raise PermissionDenied("Log in to save preferences.")
    if registry_ui not in RegistryUI.values:
        raise ValidationError({"registry_ui": "Choose “new” or “legacy”."})
    preference, _ = LegacyPreference.objects.update_or_create(user=actor, defaults={"registry_ui": registry_ui})
    record(actor=actor, org=None, action=Action.PREFERENCE_UPDATE, target=preference, data={"registry_ui": registry_ui})
    return preference


def legacy_path(link: ModelLink) -> str:
    return f"{link.model.team.name}/{LEGACY_PROJECT}/{link.model.name}:{link.version_label}"
