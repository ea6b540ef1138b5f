"""`<team>/model-registry/<name>:<vN|alias>`: legacy paths for the API, the client and the wandb SDK.

Registered with collections' path resolvers (LegacyConfig.ready), so every face that resolves a
path through `collections.models.find_version` (the API's resolve, file and use endpoints, the
client, the GraphQL artifact lookups) reads legacy paths too. After the team's migration a path
answers the migrated collection's version, carrying W&B's deprecation warning.
"""

from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404

from apps.artifacts.models import ArtifactVersion
from apps.collections.models import Link
from apps.collections.services import link_version
from apps.legacy.models import LEGACY_PROJECT, ModelLink, RegisteredModel, teams_of
from apps.legacy.services import DEPRECATION_WARNING, link_model_version, migrated_message, migration_of
from lib.paths import ArtifactPath


def _by_version(rows, parsed: ArtifactPath, owner: str):
    if parsed.index is not None:
        return rows.filter(index=parsed.index)
    # Both conditions in one filter(), so they bind to the same alias row.
    return rows.filter(aliases__alias=parsed.version, **{f"aliases__{owner}": F(owner)})


def resolve_legacy_path(user, parsed: ArtifactPath):
    """(version, link) for a legacy path `user` may see; None when the path is not a legacy one or absent."""
    if parsed.registry is not None or parsed.project != LEGACY_PROJECT or not user.is_authenticated:
        return None
    model = (
        RegisteredModel.objects.visible_to(user)
        .filter(team__name__iexact=parsed.team, name__iexact=parsed.name)
        .select_related("migrated_to__registry__org")
        .first()
    )
    if model is None:
        return None
    if model.migrated_to_id is not None:
        collection = model.migrated_to
        link = (
            _by_version(Link.objects.filter(collection=collection), parsed, "collection")
            .select_related("collection__registry__org", "version__sequence__project__team")
            .first()
        )
        if link is None or not link.collection.registry.is_visible_to(user):
            return None
        registry = collection.registry
        target = f"{registry.org.slug}/{registry.full_name}/{collection.name}:{parsed.version}"
        link.version.deprecation_warning = DEPRECATION_WARNING.format(target=target)
        return link.version, link
    link = (
        _by_version(ModelLink.objects.filter(model=model), parsed, "model")
        .select_related("version__sequence__project__team")
        .first()
    )
    if link is None:
        return None
    link.version.legacy_index = link.index  # the model's own vN, for faces that show a membership (GraphQL)
    return link.version, None


def link_by_path(*, actor, version: ArtifactVersion, entity: str, name: str, aliases: list[str]):
    """`run.link_model(…, registered_model_name)` / `link_artifact(…, "<team>/model-registry/<name>")`.

    Before migration: a legacy link. After: a registered model that was migrated links into its
    collection (W&B's redirect); a name created after the migration is refused, naming the new registry.
    Answers (version, registry link or None, index).
    """
    team = teams_of(actor).filter(name__iexact=entity).select_related("org").first()
    if team is None:
        raise Http404(f"No team “{entity[:64]}” whose model registry you can write.")
    migration = migration_of(team)
    if migration is None:
        link = link_model_version(actor=actor, version=version, team=team, model_name=name, aliases=aliases)
        return link.version, None, link.index
    model = RegisteredModel.objects.filter(team=team, name__iexact=name, migrated_to__isnull=False).first()
    if model is None or migration.registry is None:
        raise ValidationError(migrated_message(team, migration))
    link = link_version(
        actor=actor,
        version=version,
        registry=migration.registry,
        collection_name=model.migrated_to.name,
        aliases=aliases,
    )
    return link.version, link, link.index
