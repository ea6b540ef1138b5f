"""Every change to collections and links: link/unlink, aliases, tags, descriptions."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery

from apps.artifacts.models import (
    ArtifactUsage,
    ArtifactVersion,
    Project,
    Run,
    VersionState,
    VersionTag,
    metadata_change,
    validate_artifact_name,
    validate_artifact_type,
    validate_metadata,
    validate_reference_uri,
    validate_tag,
    validate_tag_key,
    validate_tag_value,
)
from apps.artifacts.services import (
    can_read_source,
    create_reference_version,
    create_version_in_transaction,
    delete_version,
    locked_committed,
    record_usage,
    require_project_writer,
)
from apps.audit.models import Action
from apps.audit.services import batched, record
from apps.collections import sql
from apps.collections.models import Collection, CollectionFormerName, CollectionTag, Link, LinkAlias
from apps.orgs.permissions import has_perm, require
from apps.registries.models import REGISTRY_PREFIX, ProtectedAlias, Registry
from apps.registries.services import validate_alias
from lib.names import check_unique_name, fold, lookalike
from lib.rows import insert
from lib.text import check_text

LATEST = "latest"
# Link targets that are projects rather than registries, by project name (apps/legacy registers
# "model-registry": the wandb SDK's `link_model`). Each is called as linker(actor=, version=, entity=,
# name=, aliases=) and answers (version, link or None, index). Registered in AppConfig.ready().
PROJECT_LINKERS: dict = {}
# Registry pages live beside collection pages (`…/<registry>/settings/`), so these names are taken.
RESERVED_COLLECTION_NAMES = {"settings", "automations", "audit", "search", "members", "star", "link", "new", "history"}
DESCRIPTION_MAX = 100_000


def _is_admin(user, registry: Registry) -> bool:
    return has_perm(user, "registries.admin_registry", registry)


def _audit(actor, collection: Collection, action: Action, data=None, target=None, link: Link | None = None):
    record(
        actor=actor,
        org=collection.registry.org,
        action=action,
        target=target or collection,
        data=data,
        registry_pk=collection.registry_id,
        collection_pk=collection.pk,
        version_pk=link.version_id if link else None,
        # Automations are the only listeners; the automation services keep this flag.
        notify=collection.registry.has_automations,
    )


def _clean_description(description: str) -> str:
    description = check_text(description or "", "description")
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError({"description": "Descriptions must be 100,000 characters or less."})
    return description


def _check_collection_name(name: str, field: str = "name") -> str:
    name = validate_artifact_name(name, field=field)
    if name.lower() in RESERVED_COLLECTION_NAMES:
        raise ValidationError({field: f"“{name}” is reserved for registry pages; choose another name."})
    return name


def _check_type(registry: Registry, type_: str) -> str:
    type_ = validate_artifact_type(type_)
    if not registry.accepts(type_):
        accepted = ", ".join(registry.artifact_types) or "none"
        raise ValidationError(
            {"type": f"Registry “{registry.name}” does not accept artifacts of type “{type_}” (accepted: {accepted})."}
        )
    return type_


@transaction.atomic
def create_collection(
    *, actor, registry: Registry, name: str, type: str, description: str = "", tags: list[str] | None = None
) -> Collection:
    """Create a collection of one artifact type in a registry."""
    require(actor, "registries.write_registry", registry)
    name = _check_collection_name(name)
    type = _check_type(registry, type)
    description = _clean_description(description)
    tags = [validate_tag(t) for t in dict.fromkeys(tags or [])]
    check_unique_name(name, Collection.objects.filter(registry=registry), what="Collection", scope=registry.name)
    collection = Collection.objects.create(
        registry=registry, name=name, type=type, description=description, created_by=actor
    )
    CollectionTag.objects.bulk_create([CollectionTag(collection=collection, name=t) for t in tags])
    _audit(actor, collection, Action.COLLECTION_CREATE, {"name": name, "type": type, "tags": tags})
    return collection


def _move_alias(collection: Collection, link: Link, alias: str) -> tuple[LinkAlias, Link | None]:
    """Point `alias` at `link`; return it and the link that held it before (`link` itself if unchanged)."""
    try:  # (collection, alias) is unique
        existing = LinkAlias.objects.select_related("link").get(collection=collection, alias=alias)
    except LinkAlias.DoesNotExist:
        return LinkAlias.objects.create(collection=collection, link=link, alias=alias), None
    if existing.link_id == link.pk:
        return existing, link
    previous = existing.link
    existing.link = link
    existing.save(update_fields=["link"])
    return existing, previous


def _check_protected(actor, registry: Registry, aliases, message: str) -> None:
    """Protected aliases need a registry admin (admins skip reading the list)."""
    if aliases and not _is_admin(actor, registry):
        protected = registry.protected_alias_names() & set(aliases)
        if protected:
            raise PermissionDenied(message.format(", ".join(sorted(protected))))


def _check_lookalike_aliases(registry: Registry, collection: Collection | None, aliases: list[str]) -> None:
    """Refuse an alias that reads like another one but is not it (“ｐroduction”, “Production”).

    SECURITY: protected aliases are matched exactly, so a look-alike would dodge the admin check.
    """
    for alias in aliases:
        scopes = [(ProtectedAlias.objects.filter(registry=registry), "protected alias")]
        if collection is not None:
            scopes.append((LinkAlias.objects.filter(collection=collection), "alias"))
        for siblings, what in scopes:
            existing = lookalike(alias, siblings, "alias")
            if existing is not None and existing != alias:
                message = f"“{alias}” reads the same as the {what} “{existing}”; use “{existing}” or a distinct alias."
                raise ValidationError({"alias": message})


def _locked_collection(registry: Registry, name: str, version: ArtifactVersion) -> Collection | None:
    """The collection row, locked, with `existing_link_id`: the version's link in it, if any (one query)."""
    existing = Link.objects.filter(collection=OuterRef("pk"), version=version.pk).values("pk")[:1]
    collections = Collection.objects.select_for_update().filter(registry=registry, name__iexact=name)
    try:  # names are unique per registry, case-insensitively (a constraint)
        return collections.annotate(existing_link_id=Subquery(existing)).get()
    except Collection.DoesNotExist:
        return None


@transaction.atomic
def link_version(
    *,
    actor,
    version: ArtifactVersion,
    registry: Registry,
    collection_name: str,
    aliases: list[str] | None = None,
) -> Link:
    """Link a committed version into a collection (created on first link). Linking twice returns the existing link.

    `version` is read again here (its pk is all that counts), checking that `actor` sees it. The link
    comes back with its collection, registry and version loaded, and `is_new` telling whether this
    call made it.
    """
    require(actor, "registries.write_registry", registry)
    # One query: the visibility check also brings the version's sequence, project and team.
    try:
        version = ArtifactVersion.objects.visible_to(actor).select_related("sequence__project__team").get(pk=version.pk)
    except ArtifactVersion.DoesNotExist:
        raise PermissionDenied("You cannot see this artifact version.") from None
    if version.state != VersionState.COMMITTED:
        raise ValidationError({"version": "Only committed versions can be linked."})
    if version.sequence.project.team.org_id != registry.org_id:
        raise ValidationError({"version": "Only artifacts logged by a team of this organization can be linked."})
    return _link(actor, version, registry, collection_name, aliases)


def _link(actor, version: ArtifactVersion, registry: Registry, collection_name: str, aliases) -> Link:
    """The link of `version` (committed, of the registry's org, sequence loaded) in the named collection."""
    aliases = [validate_alias(a) for a in dict.fromkeys(aliases or [])]
    _check_protected(actor, registry, aliases, "Only registry admins can apply protected aliases: {}.")
    name = _check_collection_name(collection_name, field="collection")
    # Lock the collection row: concurrent links queue here, so indexes stay unique and gapless.
    collection = _locked_collection(registry, name, version)
    if collection is None:
        try:
            with transaction.atomic():  # savepoint: another linker may create it first
                collection = create_collection(actor=actor, registry=registry, name=name, type=version.sequence.type)
        except (IntegrityError, ValidationError):
            # A concurrent linker may have created it first; otherwise the error stands.
            collection = _locked_collection(registry, name, version)
            if collection is None:
                raise
    _check_lookalike_aliases(registry, collection, aliases)
    if collection.type != version.sequence.type:
        raise ValidationError(
            {
                "version": f"Collection “{collection.name}” holds “{collection.type}” artifacts; "
                f"this version is a “{version.sequence.type}”."
            }
        )
    _check_type(registry, version.sequence.type)
    collection.registry = registry
    existing = getattr(collection, "existing_link_id", None)
    if existing:
        link = Link.objects.get(pk=existing)
        link.collection, link.version, link.is_new = collection, version, False
        _apply_aliases(actor, link, aliases)
        return link
    index = collection.next_index
    collection.next_index += 1
    collection.save(update_fields=["next_index", "updated_at"])
    return _add_link(actor, collection, version, index, aliases)


def _add_link(actor, collection: Collection, version: ArtifactVersion, index: int, aliases: list[str]) -> Link:
    """Insert the link at `index` (taken from the collection's counter), move `latest` to it, apply `aliases`."""
    link = Link(collection=collection, version=version, index=index, linked_by=actor)
    insert(link)
    # `latest` moves with one UPDATE; only a collection's first link creates it.
    if not sql.move_alias(collection.pk, LATEST, link.pk):
        LinkAlias.objects.create(collection=collection, link=link, alias=LATEST)
    _audit(
        actor,
        collection,
        Action.COLLECTION_LINK,
        target=link,
        link=link,
        data={"version": link.version_label, "source": str(version), "aliases": aliases},
    )
    link.collection, link.version, link.is_new = collection, version, True
    link.alias_names = [LATEST]  # what it holds now, so answers need not read them again
    _apply_aliases(actor, link, aliases)
    return link


def _apply_aliases(actor, link: Link, aliases: list[str]) -> None:
    for alias in aliases:
        _, previous = _move_alias(link.collection, link, alias)
        if previous is not link:
            _audit(
                actor,
                link.collection,
                Action.ALIAS_ADD,
                target=link,
                link=link,
                data={
                    "alias": alias,
                    "version": link.version_label,
                    "moved_from": previous.version_label if previous else None,
                },
            )
    if hasattr(link, "alias_names"):
        link.alias_names = sorted({*link.alias_names, *aliases})


@transaction.atomic
@batched()  # its three or more audit events in one statement
def create_linked_version(
    *,
    actor,
    project: Project,
    name: str,
    type: str,
    files: list[dict],
    registry: Registry,
    collection_name: str,
    aliases: list[str] | None = None,
    metadata: dict | None = None,
    description: str = "",
    run: Run | None = None,
) -> Link:
    """Create a version whose bytes are all stored, commit it and link it into a collection (created on
    first link), in one transaction: the one-call form of create, commit and link, with the same audit
    events. Missing bytes raise artifacts.services.BlobsMissing and nothing is written.

    The link comes back with its collection, registry and version loaded, `is_new` and `alias_names`.
    """
    require(actor, "registries.write_registry", registry)
    aliases = [validate_alias(a) for a in dict.fromkeys(aliases or [])]
    _check_protected(actor, registry, aliases, "Only registry admins can apply protected aliases: {}.")
    collection_name = _check_collection_name(collection_name, field="collection")
    if project.team.org_id != registry.org_id:
        raise ValidationError({"version": "Only artifacts logged by a team of this organization can be linked."})
    _check_type(registry, type)
    version = create_version_in_transaction(
        actor=actor,
        project=project,
        name=name,
        type=type,
        files=files,
        metadata=metadata,
        description=description,
        run=run,
        commit=True,
    )
    taken = sql.take_link_index(registry.pk, collection_name)
    if taken is None:  # the collection's first link creates it
        link = _link(actor, version, registry, collection_name, aliases)
        link.tag_names = []  # a new version has none
        return link
    pk, found_name, found_type, index = taken
    # Only what the link, its audit event and the answer read: other fields load if asked for.
    collection = Collection.from_db(
        Collection.objects.db,
        ["id", "registry_id", "name", "type", "next_index"],
        [pk, registry.pk, found_name, found_type, index + 1],
    )
    collection.registry = registry
    if collection.type != version.sequence.type:
        raise ValidationError(
            {
                "version": f"Collection “{collection.name}” holds “{collection.type}” artifacts; "
                f"this version is a “{version.sequence.type}”."
            }
        )
    _check_lookalike_aliases(registry, collection, aliases)
    link = _add_link(actor, collection, version, index, aliases)
    link.tag_names = []  # a new version has none
    return link


@transaction.atomic
def unlink_version(*, actor, link: Link) -> None:
    """Remove a version from a collection; the source version stays. Protected versions need an admin."""
    collection = link.collection
    registry = collection.registry
    require(actor, "registries.write_registry", registry)
    held = set(link.aliases.values_list("alias", flat=True))
    if held & registry.protected_alias_names() and not _is_admin(actor, registry):
        raise PermissionDenied("This version holds a protected alias; only registry admins can unlink it.")
    collection = Collection.objects.select_for_update().get(pk=collection.pk)
    _audit(
        actor,
        collection,
        Action.COLLECTION_UNLINK,
        target=link,
        link=link,
        data={
            "version": link.version_label,
            "source": str(link.version),
            "aliases": sorted(held),
        },
    )
    link.delete()
    if LATEST in held:
        newest = Link.objects.filter(collection=collection).order_by("-index").first()
        if newest is not None:
            LinkAlias.objects.create(collection=collection, link=newest, alias=LATEST)
    collection.save(update_fields=["updated_at"])


def _refuse_lookalike(alias: str, names, what: str) -> None:
    """SECURITY: refuse an alias that reads like another one but is not it (“ｐroduction”, “Production”):
    protected aliases are matched exactly, so a look-alike would dodge the admin check."""
    key = fold(alias)
    existing = next((name for name in sorted(names) if name != alias and fold(name) == key), None)
    if existing is not None:
        message = f"“{alias}” reads the same as the {what} “{existing}”; use “{existing}” or a distinct alias."
        raise ValidationError({"alias": message})


@transaction.atomic
def add_alias(*, actor, link: Link, alias: str) -> LinkAlias:
    """Put an alias on a link; it moves if another version held it.

    Reads what it decides from in one statement (the collection's aliases, the registry's protected
    ones, the version's tags); the link comes back with `alias_names` and `tag_names` for answers.
    """
    collection = link.collection
    registry = collection.registry
    require(actor, "registries.write_registry", registry)
    alias = validate_alias(alias)
    held, protected, tags = sql.alias_state(collection.pk, registry.pk, link.version_id)
    if alias in protected and not _is_admin(actor, registry):
        raise PermissionDenied(f"“{alias}” is a protected alias; only registry admins can apply it.")
    _refuse_lookalike(alias, protected, "protected alias")
    _refuse_lookalike(alias, held, "alias")
    link_alias = LinkAlias(collection=collection, link=link, alias=alias)
    holder = held.get(alias)
    if holder is None:
        link_alias.save(force_insert=True)
    elif holder[0] != link.pk:
        LinkAlias.objects.filter(collection=collection, alias=alias).update(link=link)
    if holder is None or holder[0] != link.pk:
        _audit(
            actor,
            collection,
            Action.ALIAS_ADD,
            target=link,
            link=link,
            data={"alias": alias, "version": link.version_label, "moved_from": f"v{holder[1]}" if holder else None},
        )
    link.alias_names = sorted({name for name, (link_id, _) in held.items() if link_id == link.pk} | {alias})
    link.tag_names = tags
    return link_alias


@transaction.atomic
def remove_alias(*, actor, link: Link, alias: str) -> None:
    """Take an alias off a link (`latest` is managed by the registry)."""
    registry = link.collection.registry
    require(actor, "registries.write_registry", registry)
    if alias == LATEST:
        raise ValidationError({"alias": "“latest” always points at the newest version and cannot be removed."})
    _check_protected(actor, registry, [alias], "“{}” is a protected alias; only registry admins can remove it.")
    deleted, _ = LinkAlias.objects.filter(link=link, alias=alias).delete()
    if not deleted:
        raise ValidationError({"alias": f"v{link.index} has no alias “{alias}”."})
    _audit(
        actor,
        link.collection,
        Action.ALIAS_REMOVE,
        target=link,
        link=link,
        data={"alias": alias, "version": link.version_label},
    )


@transaction.atomic
def add_collection_tag(*, actor, collection: Collection, tag: str) -> CollectionTag:
    """Tag a collection (idempotent)."""
    require(actor, "registries.write_registry", collection.registry)
    tag = validate_tag(tag)
    obj, created = CollectionTag.objects.get_or_create(collection=collection, name=tag)
    if created:
        _audit(actor, collection, Action.COLLECTION_ADD_TAG, {"tag": tag})
    return obj


@transaction.atomic
def remove_collection_tag(*, actor, collection: Collection, tag: str) -> None:
    """Remove a tag from a collection."""
    require(actor, "registries.write_registry", collection.registry)
    deleted, _ = CollectionTag.objects.filter(collection=collection, name=tag).delete()
    if not deleted:
        raise ValidationError({"tag": f"The collection has no tag “{tag}”."})
    _audit(actor, collection, Action.COLLECTION_REMOVE_TAG, {"tag": tag})


@transaction.atomic
def add_version_tag(*, actor, link: Link, tag: str) -> VersionTag:
    """Tag a linked version (the tag lives on the source version, as in W&B)."""
    require(actor, "registries.write_registry", link.collection.registry)
    tag = validate_tag(tag)
    obj, created = VersionTag.objects.get_or_create(version=link.version, name=tag)
    if created:
        _audit(
            actor,
            link.collection,
            Action.VERSION_ADD_TAG,
            target=link,
            link=link,
            data={"tag": tag, "version": link.version_label},
        )
    return obj


@transaction.atomic
def remove_version_tag(*, actor, link: Link, tag: str) -> None:
    """Remove a tag from a linked version."""
    require(actor, "registries.write_registry", link.collection.registry)
    deleted, _ = VersionTag.objects.filter(version=link.version, name=tag).delete()
    if not deleted:
        raise ValidationError({"tag": f"v{link.index} has no tag “{tag}”."})
    _audit(
        actor,
        link.collection,
        Action.VERSION_REMOVE_TAG,
        target=link,
        link=link,
        data={"tag": tag, "version": link.version_label},
    )


@transaction.atomic
def update_collection_description(*, actor, collection: Collection, description: str) -> Collection:
    """Replace a collection's Markdown description."""
    require(actor, "registries.write_registry", collection.registry)
    old = collection.description
    collection.description = _clean_description(description)
    collection.save(update_fields=["description", "updated_at"])
    _audit(actor, collection, Action.COLLECTION_UPDATE, {"description": {"from": old, "to": collection.description}})
    return collection


@transaction.atomic
def rename_collection(*, actor, collection: Collection, name: str) -> Collection:
    """Rename a collection within its registry."""
    require(actor, "registries.write_registry", collection.registry)
    name = _check_collection_name(name)
    others = Collection.objects.filter(registry=collection.registry).exclude(pk=collection.pk)
    check_unique_name(name, others, what="Collection", scope=collection.registry.name)
    old = collection.name
    collection.name = name
    collection.save(update_fields=["name", "updated_at"])
    if old.lower() != name.lower():
        # Old paths and pages keep resolving (as a renamed registry's do): the old name is kept once,
        # newest; a name that becomes current again stops being a former one.
        CollectionFormerName.objects.filter(Q(name__iexact=name) | Q(name__iexact=old), collection=collection).delete()
        CollectionFormerName.objects.create(collection=collection, name=old)
    _audit(actor, collection, Action.COLLECTION_RENAME, {"from": old, "to": name})
    return collection


@transaction.atomic
def update_version_description(*, actor, link: Link, description: str) -> ArtifactVersion:
    """Edit a linked version's description (it is the source's, shared by all its links)."""
    require(actor, "registries.write_registry", link.collection.registry)
    version = link.version
    old = version.description
    version.description = _clean_description(description)
    version.save(update_fields=["description"])
    _audit(
        actor,
        link.collection,
        Action.VERSION_UPDATE,
        target=link,
        link=link,
        data={"description": {"from": old, "to": version.description}},
    )
    return version


@transaction.atomic
def delete_collection(*, actor, collection: Collection) -> None:
    """Delete a collection and its links (source versions stay). Protected versions need an admin."""
    registry = collection.registry
    require(actor, "registries.write_registry", registry)
    protected = registry.protected_alias_names()
    if protected and collection.aliases.filter(alias__in=protected).exists() and not _is_admin(actor, registry):
        raise PermissionDenied(
            "A version in this collection holds a protected alias; only registry admins can delete it."
        )
    _audit(actor, collection, Action.COLLECTION_DELETE, {"name": collection.name, "links": collection.links.count()})
    collection.delete()


def can_download(user, version: ArtifactVersion, link: Link | None = None) -> bool:
    """Whether `user` may read the files of `version` reached by a path: through `link`'s registry
    (Viewer or more there) for a registry path, or from its source project for a source path.

    SECURITY: access is decided by the path the request names, never by another link: a
    Restricted Viewer of the registry in the path may not download a version that is also linked
    into a registry where they are a Viewer.
    """
    if link is not None:
        return has_perm(user, "registries.download_registry", link.collection.registry)
    return can_read_source(user, version)


@transaction.atomic
def use_artifact(*, actor, run: Run, version: ArtifactVersion, link: Link | None = None) -> ArtifactUsage:
    """Record that a run used a version reached through `link` (a registry path) or its source path."""
    if not can_download(actor, version, link):
        raise PermissionDenied("You may not use this artifact version.")
    return record_usage(actor=actor, run=run, version=version)


@transaction.atomic
def register_reference(
    *,
    actor,
    registry: Registry,
    collection_name: str,
    uri: str,
    description: str = "",
    metadata: dict | None = None,
    tags: dict[str, str] | None = None,
) -> Link:
    """Link a new reference version (files at `uri`, outside Registry) into a collection (created on first use).

    The version lives in the org's own project for this registry (see
    artifacts.services.create_reference_version); an MLflow `create_model_version` lands here.
    """
    require(actor, "registries.write_registry", registry)
    uri = validate_reference_uri(uri)
    name = _check_collection_name(collection_name, field="collection")
    existing = Collection.objects.filter(registry=registry, name__iexact=name).first()
    type_ = _check_type(registry, existing.type if existing else "model")
    tags = {validate_tag_key(k): validate_tag_value(v) for k, v in (tags or {}).items()}
    version = create_reference_version(
        actor=actor,
        org=registry.org,
        project_name=f"{REGISTRY_PREFIX}{registry.slug}",
        name=existing.name if existing else name,
        type=type_,
        uri=uri,
        description=_clean_description(description),
        metadata=metadata,
    )
    version = ArtifactVersion.objects.select_related("sequence__project__team").get(pk=version.pk)
    link = _link(actor, version, registry, name, [])
    for key, value in tags.items():
        set_version_tag(actor=actor, link=link, key=key, value=value)
    return link


@transaction.atomic
def set_collection_tag(*, actor, collection: Collection, key: str, value: str) -> CollectionTag:
    """Set a key/value tag on a collection (MLflow's registered-model tags); a W&B tag is a key without value."""
    require(actor, "registries.write_registry", collection.registry)
    key, value = validate_tag_key(key), validate_tag_value(value)
    tag, created = CollectionTag.objects.get_or_create(collection=collection, name=key, defaults={"value": value})
    if created or tag.value != value:
        old, tag.value = tag.value, value
        tag.save(update_fields=["value"])
        _audit(
            actor, collection, Action.COLLECTION_ADD_TAG, {"tag": key, "value": value, "from": None if created else old}
        )
    return tag


@transaction.atomic
def set_version_tag(*, actor, link: Link, key: str, value: str) -> VersionTag:
    """Set a key/value tag on a linked version (it lives on the source version, as W&B tags do)."""
    require(actor, "registries.write_registry", link.collection.registry)
    key, value = validate_tag_key(key), validate_tag_value(value)
    tag, created = VersionTag.objects.get_or_create(version=link.version, name=key, defaults={"value": value})
    if created or tag.value != value:
        old, tag.value = tag.value, value
        tag.save(update_fields=["value"])
        _audit(
            actor,
            link.collection,
            Action.VERSION_ADD_TAG,
            target=link,
            link=link,
            data={"tag": key, "value": value, "from": None if created else old, "version": link.version_label},
        )
    return tag


# --- Curation (issue 16): additive services; the hot paths above stay as they are ---


@transaction.atomic
def create_collection_with_version(
    *,
    actor,
    registry: Registry,
    name: str,
    type: str,
    description: str = "",
    tags: list[str] | None = None,
    version: ArtifactVersion | None = None,
    aliases: list[str] | None = None,
) -> tuple[Collection, Link | None]:
    """Create a collection and, optionally, link its first version (the create wizard's last step).

    Both or neither: a version that cannot be linked (type, visibility) leaves no collection behind.
    Each part writes its own audit event (`collection:create`, then `collection:link`).
    """
    collection = create_collection(
        actor=actor, registry=registry, name=name, type=type, description=description, tags=tags
    )
    if version is None:
        if aliases:
            raise ValidationError({"aliases": "Aliases need a version to go on."})
        return collection, None
    link = link_version(
        actor=actor, version=version, registry=registry, collection_name=collection.name, aliases=aliases
    )
    return collection, link


@transaction.atomic
def update_version_metadata(*, actor, link: Link, metadata) -> ArtifactVersion:
    """Replace a linked version's metadata (a JSON object: ≤ 100 top-level keys, ≤ 1 MB, no NaN/Infinity).

    Members and Admins of the registry may, as they may edit the description. The metadata is the
    source version's, so every collection it is linked into shows the change (as in W&B). Audited
    with the changed keys before and after; an edit that changes nothing writes nothing.
    """
    require(actor, "registries.write_registry", link.collection.registry)
    metadata = validate_metadata(metadata)
    version = locked_committed(link.version)
    if metadata == version.metadata:
        return version
    change = metadata_change(version.metadata, metadata)
    version.metadata = metadata
    version.save(update_fields=["metadata"])
    link.version.metadata = metadata
    _audit(
        actor,
        link.collection,
        Action.VERSION_UPDATE,
        target=link,
        link=link,
        data={"version": link.version_label, **change},
    )
    return version


def protected_holds(version: ArtifactVersion, viewer) -> list[str]:
    """Where a protected alias holds `version`: "“production” on <registry>/<collection>:vN", one per alias.

    SECURITY: a registry `viewer` cannot see is not named ("in a registry you cannot see").
    """
    holds = []
    links = Link.objects.filter(version=version).select_related("collection__registry__org").prefetch_related("aliases")
    for link in links.order_by("pk"):
        registry = link.collection.registry
        protected = registry.protected_alias_names()
        where = link.full_name if registry.is_visible_to(viewer) else "a registry you cannot see"
        for alias in sorted(protected & {a.alias for a in link.aliases.all()}):
            holds.append(f"“{alias}” on {where}")
    return holds


@transaction.atomic
def delete_source_version(*, actor, version: ArtifactVersion) -> ArtifactVersion:
    """Delete a source version, by its team (W&B's `artifact.delete()`): it is unlinked from every
    collection (one `collection:unlink` event each, for those collections' histories), then soft-deleted
    (artifacts.services.delete_version: restorable until the retention period ends).

    Refused while a protected alias holds it in any registry, for everyone, registry admins included:
    an admin removes the alias first (W&B's rule).
    """
    require_project_writer(actor, version.sequence.project)
    holds = protected_holds(version, actor)
    if holds:
        raise ValidationError(
            {
                "version": f"{version} cannot be deleted while a protected alias holds it: {'; '.join(holds)}. "
                "A registry admin must remove the alias (or unlink the version) first."
            }
        )
    unlinked = []
    for link in Link.objects.filter(version=version).select_related("collection__registry__org").order_by("pk"):
        _unlink_for_deletion(actor, link)
        unlinked.append(link.full_name)
    return delete_version(actor=actor, version=version, unlinked=unlinked)


def _unlink_for_deletion(actor, link: Link) -> None:
    """Remove a link because its source version is being deleted by its team (no registry role needed:
    the team owns the version); `latest` moves to the newest remaining link, as on unlink."""
    collection = Collection.objects.select_for_update().select_related("registry__org").get(pk=link.collection_id)
    held = set(link.aliases.values_list("alias", flat=True))
    _audit(
        actor,
        collection,
        Action.COLLECTION_UNLINK,
        target=link,
        link=link,
        data={
            "version": link.version_label,
            "source": str(link.version),
            "aliases": sorted(held),
            "reason": "source version deleted",
        },
    )
    link.delete()
    if LATEST in held:
        newest = Link.objects.filter(collection=collection).order_by("-index").first()
        if newest is not None:
            LinkAlias.objects.create(collection=collection, link=newest, alias=LATEST)
    collection.save(update_fields=["updated_at"])
