"""Collections in registries, the links (memberships) in them, their aliases and tags."""

from django.conf import settings
from django.db import models
from django.db.models import Q, Subquery
from django.db.models.functions import Lower
from django.urls import reverse

from apps.artifacts.models import ArtifactVersion
from apps.audit.models import AuditEvent
from apps.registries.models import Registry


class CollectionQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CollectionQuerySet":
        """Collections in registries `user` may view."""
        return self.filter(registry__in=Registry.objects.visible_to(user).values("pk"))


class Collection(models.Model):
    """A set of linked versions of one artifact type, for one task (W&B's "portfolio")."""

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=128)  # fixed at creation
    description = models.TextField(blank=True)  # Markdown
    # Links take consecutive indexes from this counter (read and bumped under a row lock).
    next_index = models.PositiveIntegerField(default=0)
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


class CollectionTag(models.Model):
    """A tag on a collection."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "name"], name="collections_collectiontag_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class LinkQuerySet(models.QuerySet):
    def visible_to(self, user) -> "LinkQuerySet":
        """Links in registries `user` may view."""
        return self.filter(collection__registry__in=Registry.objects.visible_to(user).values("pk"))

    def newest_first(self) -> "LinkQuerySet":
        return self.order_by("-index")

    def for_table(self) -> "LinkQuerySet":
        """Links with everything a versions-table row shows: two prefetches per page, not per row."""
        return self.select_related("version__sequence__project__team", "linked_by").prefetch_related(
            "aliases", "version__tags"
        )


class Link(models.Model):
    """A pointer from a collection to an artifact version, with the collection's own index vN."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="links")
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

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="aliases")
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


def links_page(links: LinkQuerySet, before: int | None, size: int) -> tuple[list[Link], int | None]:
    """One keyset page of links, newest first, below index `before`; and the next page's cursor.

    Walks the (collection, index) unique index: no OFFSET and no COUNT, so page 2,000 costs
    what page 1 costs.
    """
    if before is not None:
        links = links.filter(index__lt=before)
    rows = list(links.newest_first()[: size + 1])
    return rows[:size], (rows[size - 1].index if len(rows) > size else None)


def events_page(events, before: int | None, size: int) -> tuple[list[AuditEvent], int | None]:
    """One keyset page of audit events, newest first, after the event with id `before`."""
    if before is not None:
        # (created_at, id) is the order; the cursor's timestamp is looked up in the same query.
        anchor = Subquery(AuditEvent.objects.filter(pk=before).values("created_at")[:1])
        events = events.filter(Q(created_at__lt=anchor) | Q(created_at=anchor, pk__lt=before))
    rows = list(events.newest_first()[: size + 1])
    return rows[:size], (rows[size - 1].pk if len(rows) > size else None)
