"""`<team>/model-registry/<name>:<vN|alias>`: legacy paths for the API, the client and the wandb SDK.

Registered with collections' path resolvers (LegacyConfig.ready), so every face that resolves a
path through `collections.models.find_version` (the API's resolve, file and use endpoints, the
client, the GraphQL artifact lookups) reads legacy paths too. After the team's migration a path
answers the migrated collection's version, carrying W&B's deprecation warning.
"""

from django.db.models import F

from apps.collections.models import Link
from apps.legacy.models import LEGACY_PROJECT, ModelLink, RegisteredModel
from apps.legacy.services import DEPRECATION_WARNING
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
    return (link.version, None) if link is not None else None
