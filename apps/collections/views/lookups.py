"""Lookups the collection and version pages start from, and what the user may do there."""

from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404

from apps.artifacts.models import Project
from apps.collections.models import Collection, Link, renamed_collection
from apps.orgs.permissions import held_perms
from apps.registries.models import Registry


def int_param(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def registry_perms(user, registry: Registry) -> dict[str, bool]:
    """What the user may do here, for the template (guardian's two queries answer all three)."""
    held = held_perms(user, registry)
    return {
        "can_download": "download_registry" in held,
        "can_write": "write_registry" in held,
        "can_admin": "admin_registry" in held,
    }


def visible_projects(user, versions) -> set[int]:
    """Which source projects the user may open, so source links never lead to a 404."""
    ids = {version.sequence.project_id for version in versions}
    return set(Project.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()


def visible_or_404(user, obj, registry: Registry):
    """`obj` if `user` may view its registry; the same 404 as a missing one otherwise.

    Checked with the user's registry permissions (one query, which the page's own checks reuse)
    rather than visibility subqueries in the lookup, which cost more to build than to run.
    """
    if not registry.is_visible_to(user):
        raise Http404(f"No {type(obj).__name__} matches the given query.")
    return obj


def collection_or_404(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> Collection:
    collection = get_object_or_404(
        Collection.objects.select_related("registry__org", "created_by__service_account"),
        registry__org__slug=org_slug,
        registry__slug=reg_slug,
        name=name,
    )
    return visible_or_404(request.user, collection, collection.registry)


def link_or_404(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> Link:
    link = get_object_or_404(
        Link.objects.select_related(
            "collection__registry__org",
            "version__sequence__project__team",
            "version__run",
            "version__created_by__service_account",
            "linked_by",
        ),
        collection__registry__org__slug=org_slug,
        collection__registry__slug=reg_slug,
        collection__name=name,
        index=index,
    )
    return visible_or_404(request.user, link, link.collection.registry)


def moved_or_404(request: HttpRequest, org_slug: str, reg_slug: str, name: str, rest: str = "") -> HttpResponseRedirect:
    """A renamed collection's old page redirects to its new one (with `rest` and the query kept); 404 otherwise.

    Temporary (302): a new collection may take the old name later, and then the name is its.
    """
    registry = Registry.objects.filter(org__slug=org_slug, slug=reg_slug).select_related("org").first()
    if registry is None or not registry.is_visible_to(request.user):
        raise Http404("No Collection matches the given query.")
    # A name some collection has now is that collection's, whatever else was called that before.
    current = Collection.objects.filter(registry=registry, name__iexact=name).exists()
    collection = None if current else renamed_collection(registry.pk, name)
    if collection is None:
        raise Http404("No Collection matches the given query.")
    collection.registry = registry
    query = request.META.get("QUERY_STRING", "")
    return HttpResponseRedirect(collection.get_absolute_url() + rest + (f"?{query}" if query else ""))
