"""Collections in registries, the links (memberships) in them, their aliases and tags."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Subquery
from django.db.models.functions import Lower
from django.urls import reverse

from apps.artifacts.models import ArtifactVersion, VersionState, VersionTag
from apps.audit.models import AuditEvent
from apps.collections import sql
from apps.orgs.models import ACTOR_KIND
from apps.orgs.permissions import perms_key, remember
from apps.registries.models import FormerName, Registry
from lib.pagination import keyset_page
from lib.paths import parse_artifact_path, strip_registry_prefix


class CollectionQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CollectionQuerySet":
        """Collections in registries `user` may view."""
        return self.filter(registry__in=Registry.objects.visible_to(user).values("pk"))


class Collection(models.Model):
    """A set of linked versions of one artifact type, for one task (W&B's "portfolio")."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="collections", db_index=False)
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=128)  # fixed at creation
    description = models.TextField(blank=True)  # Markdown
    # Links take consecutive indexes from this counter (read and bumped under a row lock).
    next_index = models.PositiveIntegerField(default=0)
    # How many links the collection holds, kept by triggers on collections_link (migration 0006), so
    # pages show version counts without counting 100,000 links per view. Nothing in Python writes
    # it: services save collections with `update_fields`, which never names it.
    link_count = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["registry", "name"]
        constraints = [
            models.UniqueConstraint("registry", Lower("name"), name="collections_collection_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.registry.full_name}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("collections:collection_detail", args=[self.registry.org.slug, self.registry.slug, self.name])


class CollectionFormerName(models.Model):
    """A name a collection had before a rename: paths and pages that use it keep resolving, as a
    renamed registry's do (registries.FormerName)."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="former_names", db_index=False)
    name = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("collection", Lower("name"), name="collections_formername_unique_per_collection"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.collection.name}"


def renamed_collection(registry_id: int, name: str) -> "Collection | None":
    """The collection of this registry that was called `name` before a rename (the newest such rename),
    when no collection has that name now."""
    former = (
        CollectionFormerName.objects.filter(collection__registry_id=registry_id, name__iexact=name)
        .select_related("collection")
        .first()
    )
    return former.collection if former else None


class CollectionTag(models.Model):
    """A tag on a collection."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="tags", db_index=False)
    name = models.CharField(max_length=128, db_index=True)
    value = models.TextField(blank=True)  # MLflow tags are key (name) / value; W&B tags have none
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "name"], name="collections_collectiontag_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.value}" if self.value else self.name


class LinkQuerySet(models.QuerySet):
    def visible_to(self, user) -> "LinkQuerySet":
        """Links in registries `user` may view."""
        return self.filter(collection__registry__in=Registry.objects.visible_to(user).values("pk"))

    def newest_first(self) -> "LinkQuerySet":
        return self.order_by("-index")

    def for_table(self) -> "LinkQuerySet":
        """Links with the columns a versions-table row shows, as two model instances per row.

        Names come in as annotations rather than joined model instances (building seven objects
        per row was most of the page's time), and metadata (up to 1 MB of JSON each) and
        descriptions stay in the database.
        """
        return (
            self.select_related("version")
            .defer("version__metadata", "version__description")
            .annotate(
                team_name=F("version__sequence__project__team__name"),
                project_name=F("version__sequence__project__name"),
                sequence_name=F("version__sequence__name"),
                creator_name=F("version__created_by__username"),
                linker_name=F("linked_by__username"),
            )
        )


def aliases_by_link(link_ids: list[int]) -> dict[int, list[str]]:
    """Alias names of each link, in one query without model instances."""
    found: dict[int, list[str]] = {}
    for link_id, alias in (
        LinkAlias.objects.filter(link_id__in=link_ids).order_by("alias").values_list("link_id", "alias")
    ):
        found.setdefault(link_id, []).append(alias)
    return found


def tags_by_version(version_ids: list[int]) -> dict[int, list[str]]:
    """Tag names of each version, in one query without model instances."""
    found: dict[int, list[str]] = {}
    for version_id, name in (
        VersionTag.objects.filter(version_id__in=version_ids).order_by("name").values_list("version_id", "name")
    ):
        found.setdefault(version_id, []).append(name)
    return found


class Link(models.Model):
    """A pointer from a collection to an artifact version, with the collection's own index vN."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="links", db_index=False)
    version = models.ForeignKey(ArtifactVersion, on_delete=models.PROTECT, related_name="links")
    index = models.PositiveIntegerField()
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LinkQuerySet.as_manager()

    class Meta:
        ordering = ["collection", "-index"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "index"], name="collections_link_unique_index"),
            models.UniqueConstraint(fields=["collection", "version"], name="collections_link_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.collection}:v{self.index}"

    def get_absolute_url(self) -> str:
        registry = self.collection.registry
        return reverse(
            "collections:version_detail",
            args=[registry.org.slug, registry.slug, self.collection.name, self.index],
        )

    @property
    def version_label(self) -> str:
        return f"v{self.index}"

    @property
    def full_name(self) -> str:
        return f"{self.collection.registry.full_name}/{self.collection.name}:v{self.index}"


class LinkAlias(models.Model):
    """An alias on a link, unique within its collection (`latest`, `production`, …)."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="aliases", db_index=False)
    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alias"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "alias"], name="collections_linkalias_unique"),
        ]

    def __str__(self) -> str:
        return self.alias


def links_page(keys: LinkQuerySet, rows: LinkQuerySet, before: int | None, size: int) -> tuple[list[Link], int | None]:
    """One keyset page of links, newest first, below index `before`; and the next page's cursor.

    Two steps. The page's keys come straight off the (collection, index) unique index: no OFFSET,
    no COUNT, so page 2,000 costs what page 1 costs. Then `rows` (joins and annotations) loads
    just those primary keys, so no planner, however skewed its statistics (one team, one huge
    collection), can turn the join into a sort of the whole collection.
    """
    page = keyset_page(
        keys.values("pk", "index"), order=("-index",), size=size, after=None if before is None else (before,)
    )
    found = list(rows.filter(pk__in=[row["pk"] for row in page.rows]).newest_first())
    return found, page.next[0] if page.next else None


def events_page(events, before: int | None, size: int) -> tuple[list[AuditEvent], int | None]:
    """One keyset page of audit events, newest first, after the event with id `before`."""
    # (created_at, id) is the order; the cursor's timestamp is looked up in the same query.
    anchor = Subquery(AuditEvent.objects.filter(pk=before).values("created_at")[:1])
    events = events.select_related(ACTOR_KIND)  # badges service accounts, in the same query
    page = keyset_page(events, order=("-created_at", "-pk"), size=size, after=(anchor, before) if before else None)
    return page.rows, page.next[1] if page.next else None


# --- Resolving artifact paths (parsing is lib.paths) ---


def _one_org(rows: list, org_of) -> object | None:
    """The single match; without an org in the path, a name found in two orgs is ambiguous."""
    if len({org_of(row) for row in rows}) > 1:
        raise ValidationError(
            {"path": "That name exists in several of your organizations; start the path with “<org>/”."}
        )
    return rows[0] if rows else None


# Path lookups (the API's hot path) find rows by name first and then check the caller's registry
# permissions: a plain indexed query plus one permission query that the service's own checks reuse
# (orgs.permissions.held_perms), instead of visibility subqueries that cost more to build than to run.


def _in_orgs(user, rows: models.QuerySet, org_field: str, org: str | None) -> models.QuerySet:
    """Narrow to the org named in the path, else to the orgs `user` belongs to (superusers: all)."""
    if org:  # the org's slug (its entity name) or its display name, as W&B accepts both
        return rows.filter(Q(**{f"{org_field}__slug": org}) | Q(**{f"{org_field}__name__iexact": org}))
    return rows if user.is_superuser else rows.filter(**{f"{org_field}__memberships__user": user})


def _named(registry_field: str, name: str, former: bool) -> dict:
    """Match registries (`registry_field`, "" for Registry itself) by current name or, with `former`,
    by a name they had before a rename."""
    prefix = f"{registry_field}__" if registry_field else ""
    if former:
        return {f"{prefix or 'pk__'}in": FormerName.objects.filter(name__iexact=name).values("registry")}
    return {f"{prefix}name__iexact": name}


def _collection_named(collection_field: str, name: str, renamed: bool) -> dict:
    """Match collections by current name or, with `renamed`, by a name they had before a rename."""
    prefix = f"{collection_field}__" if collection_field else ""
    return {f"{prefix}former_names__name__iexact" if renamed else f"{prefix}name__iexact": name}


# (registry by a former name, collection by a former name): current names first, so a renamed
# registry's or collection's old name resolves only when nothing has that name now. The later
# passes run only when the earlier ones found nothing (a miss), so hits cost what they did.
NAME_PASSES = ((False, False), (True, False), (False, True), (True, True))


def _viewable(user, rows, registry_of) -> list:
    return [row for row in rows if registry_of(row).is_visible_to(user)]


def find_registry(user, org: str | None, name: str) -> Registry | None:
    """The registry `user` sees by (optional) org slug and name (with or without the prefix)."""
    if not user.is_authenticated:
        return None
    for former in (False, True):  # old names resolve only when no registry has the name now
        # One statement (collections/sql.py): the registry with its org and the caller's permissions on it.
        found = sql.find_registries(user, registry=strip_registry_prefix(name), former=former, org=org)
        _remember_registry_perms(user, [(registry.pk, codenames) for registry, codenames in found])
        registry = _one_org(_viewable(user, [registry for registry, _ in found], lambda r: r), lambda r: r.org_id)
        if registry is not None:
            return registry
    return None


def _remember_registry_perms(user, held: list[tuple[int, frozenset]]) -> None:
    """Keep the codenames a lookup read with its rows, so later checks in the request read nothing."""
    if not user.is_superuser:  # a superuser holds every permission, read from no table
        for registry_pk, codenames in held:
            remember(user, perms_key("registries.Registry", registry_pk), codenames)


def find_collection(user, path: str) -> Collection | None:
    """The visible collection at `[<org>/]wandb-registry-<registry>/<collection>`."""
    parsed = parse_artifact_path(path)
    if parsed.registry is None or parsed.version is not None:
        raise ValidationError({"path": "Give a collection path: “[<org>/]wandb-registry-<registry>/<collection>”."})
    if not user.is_authenticated:
        return None
    for former, renamed in NAME_PASSES:
        collections = Collection.objects.filter(
            **_named("registry", parsed.registry, former), **_collection_named("", parsed.name, renamed)
        )
        collections = collections.select_related("registry__org").order_by()
        collections = _in_orgs(user, collections, "registry__org", parsed.org)
        found = _one_org(_viewable(user, collections, lambda c: c.registry), lambda c: c.registry.org_id)
        if found is not None:
            return found
    return None


# Paths that another app owns (apps/legacy: `<team>/model-registry/<name>:<v>`), resolved before the
# source lookup: each resolver takes (user, parsed path) and answers (version, link), or None when the
# path is not its own. Apps above collections register theirs in AppConfig.ready().
PATH_RESOLVERS: list = []


def find_version(user, path: str) -> tuple[ArtifactVersion, "Link | None"] | None:
    """The version a path names and, for registry paths, its link; None if absent or invisible.

    A registry path costs one query over the unique indexes (names, then index or alias) plus the
    caller's permission query on that registry, which later checks in the request reuse; a source
    path one query. `latest` on a source path is its highest committed index.
    """
    parsed = parse_artifact_path(path)
    if parsed.version is None:
        raise ValidationError({"path": f"“{path[:200]}” needs a version or alias after “:”, e.g. “:latest”."})
    if parsed.registry is not None:
        if not user.is_authenticated:
            return None
        for former, renamed in NAME_PASSES:  # old names resolve only when nothing has the name now
            # One statement (collections/sql.py): the link with what its answer names, and the caller's
            # permissions on its registry, remembered for the checks that follow (held_perms).
            found = sql.find_links(
                user,
                registry=parsed.registry,
                former=former,
                collection=parsed.name,
                renamed=renamed,
                org=parsed.org,
                index=parsed.index,
                alias=parsed.version if parsed.index is None else None,
            )
            _remember_registry_perms(user, [(link.collection.registry_id, codenames) for link, codenames in found])
            link = _one_org(
                _viewable(user, [link for link, _ in found], lambda row: row.collection.registry),
                lambda row: row.collection.registry.org_id,
            )
            if link is not None:
                return link.version, link
        return None
    for resolver in PATH_RESOLVERS:
        if (found := resolver(user, parsed)) is not None:
            return found
    versions = ArtifactVersion.objects.visible_to(user).filter(
        state=VersionState.COMMITTED,
        sequence__project__team__name=parsed.team,
        sequence__project__name=parsed.project,
        sequence__name=parsed.name,
    )
    if parsed.index is not None:
        versions = versions.filter(index=parsed.index)
    elif parsed.version != "latest":
        return None  # source artifacts carry no aliases of their own but `latest`
    version = versions.select_related("sequence__project__team").order_by("-index").first()
    return (version, None) if version else None
