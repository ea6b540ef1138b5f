"""The Registry landing page, search, a registry's page (its collections) and W&B deep links."""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from apps.artifacts.models import VersionTag
from apps.collections import forms as collection_forms
from apps.collections.models import Collection, CollectionTag, Link, LinkAlias
from apps.collections.views.collection_rows import collection_rows
from apps.collections.views.registry_cards import registry_cards
from apps.orgs.permissions import has_perm
from apps.registries import forms
from apps.registries.models import ProtectedAlias, Registry
from apps.registries.views.lookups import org_or_404, registry_actions, registry_or_404
from lib.pagination import Page, decode_cursor, keyset_page
from lib.paths import strip_registry_prefix

PAGE_SIZE = 25
SEARCH_PAGE_SIZE = 10
RECENT_COLLECTIONS = 10


def _with_counts(registries: QuerySet) -> QuerySet:
    """Annotate collection and linked-version counts as one subquery over the registry's collections
    (no row explosion; versions are the collections' kept link counts, no link is read)."""
    collections = Collection.objects.filter(registry=OuterRef("pk")).order_by().values("registry")
    return registries.annotate(
        collection_count=Coalesce(Subquery(collections.annotate(n=Count("pk")).values("n")), 0),
        version_count=Coalesce(Subquery(collections.annotate(n=Sum("link_count")).values("n")), 0),
    )


@require_GET
def landing(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Starred registries, then all registries as cards, and recently updated collections."""
    org = org_or_404(request, org_slug)
    registries = list(
        _with_counts(Registry.objects.visible_to(request.user).filter(org=org).with_starred(request.user))
        .select_related("org")
        .core_first()
    )
    recent = (
        Collection.objects.visible_to(request.user)
        .filter(registry__org=org)
        .select_related("registry")
        .order_by("-updated_at", "-pk")[:RECENT_COLLECTIONS]
    )
    can_create = has_perm(request.user, "orgs.create_registry", org)
    starred, others = [r for r in registries if r.is_starred], [r for r in registries if not r.is_starred]
    token = get_token(request)
    context = {
        "org": org,
        "starred": starred,
        "registries": others,
        "starred_cards": registry_cards(starred, org_slug=org.slug, csrf_token=token),
        "registry_cards": registry_cards(others, org_slug=org.slug, csrf_token=token),
        "recent_collections": recent,
        "can_create": can_create,
        "create_form": forms.RegistryCreateForm() if can_create else None,
    }
    return render(request, "collections/landing.html", context)


SEARCH_KINDS = ("registries", "collections", "versions")
# Each kind pages on its own (keyset, a cursor per kind): registries core first then by name;
# collections most recently updated first; versions most recently linked first.
SEARCH_ORDERS = {
    "registries": ("core_rank", "name_key", "pk"),
    "collections": ("-updated_at", "-pk"),
    "versions": ("-created_at", "-pk"),
}


def _search_rows(user, org, q: str, kind: str) -> QuerySet:
    """What `user` may see in `org` matching `q`: registry names; collection names or tags; version aliases or tags."""
    if kind == "registries":
        return (
            Registry.objects.visible_to(user)
            .filter(org=org, name__icontains=q)
            .select_related("org")
            .annotate(core_rank=Case(When(is_core=True, then=Value(0)), default=Value(1)), name_key=Lower("name"))
        )
    if kind == "collections":
        tagged = CollectionTag.objects.filter(collection=OuterRef("pk"), name__icontains=q)
        return (
            Collection.objects.visible_to(user)
            .filter(Q(name__icontains=q) | Q(Exists(tagged)), registry__org=org)
            .select_related("registry")
        )
    return Link.objects.visible_to(user).filter(pk__in=_links_matching(q), collection__registry__org=org)


def _links_matching(q: str) -> QuerySet:
    """Ids of links with an alias or a version tag containing `q`, whatever their collection.

    The small alias and tag tables are searched first and the links joined to what they found,
    rather than every link tested for a matching alias or tag: at company size (100,000 links)
    the per-link test scanned them all, newest first, whenever fewer than a page matched.
    """
    aliased = LinkAlias.objects.filter(alias__icontains=q).order_by().values("link_id")
    tagged_versions = VersionTag.objects.filter(name__icontains=q).order_by().values("version_id")
    tagged = Link.objects.filter(version_id__in=tagged_versions).order_by().values("pk")
    return aliased.union(tagged)


def _search_page(rows: QuerySet, kind: str, after: tuple | None) -> Page:
    """One keyset page of a search kind. Versions page on their keys alone, then load those rows
    with what the table shows: the page query then stays a small join PostgreSQL plans from the
    matches (joining every link to its source first cost it a second at company size)."""
    order = SEARCH_ORDERS[kind]
    if kind != "versions":
        return keyset_page(rows, order=order, size=SEARCH_PAGE_SIZE, after=after)
    page = keyset_page(rows.values("pk", "created_at"), order=order, size=SEARCH_PAGE_SIZE, after=after)
    if page.rows:
        page.rows = list(
            Link.objects.filter(pk__in=[row["pk"] for row in page.rows])
            .select_related("collection__registry", "version__sequence__project__team")
            .prefetch_related("aliases", "version__tags")
            .order_by(*order)
        )
    return page


def _mark_protected(links: list[Link]) -> None:
    """Protected aliases are drawn differently (gray, with a lock): one query for all rows."""
    protected = defaultdict(set)
    registry_pks = {link.collection.registry_id for link in links}
    if registry_pks:
        for registry_pk, alias in ProtectedAlias.objects.filter(registry__in=registry_pks).values_list(
            "registry_id", "alias"
        ):
            protected[registry_pk].add(alias)
    for link in links:
        link.protected = protected[link.collection.registry_id]


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def search(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Search registries, collections (name or tag) and linked versions (alias or tag) the user may see.

    Each kind is a keyset page with its own cursor (`<kind>_after`); htmx asks for one kind's section.
    """
    org = org_or_404(request, org_slug)
    q = request.GET.get("q", "").strip()[:200]
    fragment = (request.htmx.target or "").removeprefix("search-") if request.htmx else ""
    kinds = [fragment] if fragment in SEARCH_KINDS else SEARCH_KINDS
    context = {"org": org, "q": q, "page_size": SEARCH_PAGE_SIZE}
    if q:
        for kind in kinds:
            rows = _search_rows(request.user, org, q, kind)
            after = _cursor(request.GET.get(f"{kind}_after"), rows, SEARCH_ORDERS[kind])
            page = _search_page(rows, kind, after)
            page.is_first = after is None
            context[kind] = page
        if "versions" in context:
            _mark_protected(context["versions"].rows)
    template = "collections/search.html" + (f"#search-{fragment}" if fragment in kinds and q else "")
    return render(request, template, context)


def _collection_rows(registry: Registry, filters: dict) -> QuerySet:
    """The registry's collections, filtered, with version count and latest index annotated."""
    rows = registry.collections.all()
    if filters["q"]:
        tagged = CollectionTag.objects.filter(collection=OuterRef("pk"), name__icontains=filters["q"])
        rows = rows.filter(Q(name__icontains=filters["q"]) | Q(Exists(tagged)))
    if filters["tag"]:
        rows = rows.filter(Exists(CollectionTag.objects.filter(collection=OuterRef("pk"), name=filters["tag"])))
    if filters["type"]:
        rows = rows.filter(type=filters["type"])
    latest = LinkAlias.objects.filter(collection=OuterRef("pk"), alias="latest").values("link__index")[:1]
    return rows.annotate(version_count=F("link_count"), latest_index=Subquery(latest)).prefetch_related("tags")


def _link_snippets(registry: Registry) -> dict:
    collection = "<collection>"
    return {
        "wandb": f'run.link_artifact(artifact, target_path="{registry.full_name}/{collection}")',
        "client": f'client.link_artifact(version, "{registry.path}/{collection}")',
    }


def _cursor(raw: str | None, rows: QuerySet, order: tuple) -> tuple | None:
    """A page cursor from the URL; a tampered one means the first page."""
    try:
        return decode_cursor(raw, rows, order) if raw else None
    except ValidationError:
        return None


@require_GET
@vary_on_headers("HX-Request")
def registry_detail(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """The registry's collections (filter, sort, keyset pages), link snippet, create and link actions."""
    registry = registry_or_404(request, org_slug, reg_slug)
    perms = registry_actions(request, registry)
    tags = CollectionTag.objects.filter(collection__registry=registry).values_list("name", flat=True)
    types = registry.collections.values_list("type", flat=True)
    filter_form = collection_forms.CollectionFilterForm(
        request.GET, tags=tags.distinct().order_by("name")[:200], types=types.distinct().order_by("type")
    )
    filters = filter_form.filters()
    by_name = filters["sort"] == "name"
    rows = _collection_rows(registry, filters)
    order = ("name", "pk") if by_name else ("-updated_at", "-pk")
    after, before = _cursor(request.GET.get("after"), rows, order), _cursor(request.GET.get("before"), rows, order)
    page = keyset_page(rows, order=order, size=PAGE_SIZE, after=after, before=before)
    can_write = "write" in perms
    dialogs = can_write and not request.htmx  # the create and link dialogs, drawn with the whole page only
    # Their team lists are the same: read once (an org admin's holds every team).
    teams = collection_forms.linkable_team_options(request.user, registry.org) if dialogs else None
    context = {
        "org": registry.org,
        "registry": registry,
        "page": page,
        "collection_rows": collection_rows(
            page.rows,
            registry_url=registry.get_absolute_url(),
            link_url=reverse("collections:registry_link", args=[registry.org.slug, registry.slug]),
            automation_url=reverse("automations:automation_create", args=[registry.org.slug, registry.slug]),
            can_write=can_write,
        ),
        "filter_form": filter_form,
        "filtered": any(filters[k] for k in ("q", "tag", "type")),
        "sort_by_name": by_name,
        "can_write": can_write,
        "can_admin": "admin" in perms,
        "is_starred": registry.is_starred,
        "snippets": _link_snippets(registry),
        "create_form": collection_forms.CollectionCreateForm(registry=registry, auto_id="new_collection_%s")
        if dialogs
        else None,
        "first_form": collection_forms.FirstVersionForm(user=request.user, registry=registry, team_options=teams)
        if dialogs
        else None,
        "link_form": collection_forms.LinkVersionForm(user=request.user, registry=registry, team_options=teams)
        if dialogs
        else None,
        "collection_names": registry.collections.order_by("name").values_list("name", flat=True)[:500],
    }
    template = "collections/registry_detail.html" + ("#collection-list" if request.htmx else "")
    return render(request, template, context)


@require_GET
def registry_deep_link(request: HttpRequest, org_slug: str, name: str) -> HttpResponse:
    """Follow a W&B link: /orgs/<org>/registry/<registry name>?selectionPath=<org>/wandb-registry-<name>/<collection>&version=vN."""
    registries = Registry.objects.visible_to(request.user).select_related("org").filter(org__slug=org_slug)
    name = strip_registry_prefix(name.strip())
    # As in W&B, a renamed registry's old names keep working (a registry holding the name now wins).
    registry = (
        registries.filter(Q(name__iexact=name) | Q(slug=name)).first()
        or registries.filter(former_names__name__iexact=name).first()
    )
    if registry is None:
        raise Http404("No Registry matches the given query.")
    names = {registry.name.lower(), *(n.lower() for n in registry.former_names.values_list("name", flat=True))}
    selection = [part for part in request.GET.get("selectionPath", "").split("/") if part]
    if not selection:
        return redirect(registry)
    if len(selection) > 3 or (len(selection) > 1 and strip_registry_prefix(selection[-2]).lower() not in names):
        raise Http404("The selection path does not point into this registry.")
    collection = get_object_or_404(registry.collections.select_related("registry__org"), name__iexact=selection[-1])
    version = request.GET.get("version", "").strip()
    if not version:
        return redirect(collection)
    if version[:1] == "v" and version[1:].isdigit():
        link = get_object_or_404(collection.links.select_related("collection__registry__org"), index=int(version[1:]))
    else:
        alias = get_object_or_404(LinkAlias.objects.select_related("link"), collection=collection, alias=version)
        link = alias.link
        link.collection = collection
    return redirect(link)
