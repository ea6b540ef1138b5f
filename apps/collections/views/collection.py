"""A collection's page and its in-place edits; creating a collection."""

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.artifacts.models import Project, render_markdown
from apps.audit.models import AuditEvent
from apps.collections import forms as collection_forms
from apps.collections import services
from apps.collections.compare import compare_versions
from apps.collections.forms import DeleteCollectionForm, DescriptionForm, RenameCollectionForm, TagForm
from apps.collections.models import Collection, Link, aliases_by_link, events_page, links_page, tags_by_version
from apps.collections.views.history import history_filter_form, history_items, history_rows, when
from apps.collections.views.lookups import collection_or_404, int_param, moved_or_404, registry_perms
from apps.collections.views.version_rows import version_rows
from apps.orgs.permissions import require
from apps.registries.views.lookups import registry_or_404
from lib.forms import add_service_error, apply_service, split_list
from lib.htmx import done, render_page

PAGE_SIZE = 50


HISTORY_PAGE_SIZE = 25


COLLECTION_FRAGMENTS = {"versions", "compare", "history", "description", "collection-tags"}


def _version_rows(
    collection: Collection, links: list[Link], protected: set[str], can_admin: bool, compared: set[int]
) -> list[dict]:
    """Table rows: alias chips marked protected, source path and URL, and whether unlinking is locked.

    URLs are joined from one reversed prefix per collection and per source artifact: reversing
    four URLs for each of 50 rows costs more than every query of the page together.
    """
    aliases = aliases_by_link([link.pk for link in links])
    tags = tags_by_version([link.version_id for link in links])
    collection_url = collection.get_absolute_url()
    sequence_urls: dict[tuple, str] = {}
    rows = []
    for link in links:
        label, key = link.version.version_label, (link.team_name, link.project_name, link.sequence_name)
        if link.source_visible and key not in sequence_urls:
            sequence_urls[key] = reverse("artifacts:sequence_detail", args=key)
        chips = [{"name": alias, "protected": alias in protected} for alias in aliases.get(link.pk, [])]
        rows.append(
            {
                "link": link,
                "size": filesizeformat(link.version.size),  # once here, not a filter per row in the template
                "linked_at": when(link.created_at),
                "url": f"{collection_url}v{link.index}/",
                "aliases": chips,
                "tags": tags.get(link.version_id, []),
                "source": "/".join(key) + f":{label}",
                "source_url": f"{sequence_urls[key]}{label}/" if link.source_visible else "",
                "locked": not can_admin and any(chip["protected"] for chip in chips),
                "compared": link.index in compared,
            }
        )
    return rows


def _collection_context(request: HttpRequest, collection: Collection, **overrides) -> dict:
    registry = collection.registry
    before = int_param(request.GET.get("before"))
    # Whether the user may open each row's source project, so source links never lead to a 404.
    source_visible = Exists(
        Project.objects.visible_to(request.user).filter(pk=OuterRef("version__sequence__project_id"))
    )
    # SECURITY: rows are loaded by the primary keys of this (visible) collection's page only; not
    # filtering by collection again keeps SQLite on the primary key instead of the whole index.
    table = Link.objects.for_table().annotate(source_visible=source_visible)
    links, next_before = links_page(collection.links.all(), table, before, PAGE_SIZE)
    history_form = history_filter_form(request)
    events, next_event = events_page(
        history_form.apply(AuditEvent.objects.for_collection(collection.pk)),
        int_param(request.GET.get("history_before")),
        HISTORY_PAGE_SIZE,
    )
    compare = compare_versions(collection, [int_param(raw) for raw in request.GET.getlist("compare")], request.GET)
    perms, protected = registry_perms(request.user, registry), registry.protected_alias_names()
    history = history_rows(events)
    rows = _version_rows(collection, links, protected, perms["can_admin"], compare["selected"] if compare else set())
    context = {
        "org": registry.org,
        "registry": registry,
        "collection": collection,
        **perms,
        "protected": sorted(protected),
        "description_html": render_markdown(collection.description),
        "tags": list(collection.tags.all()),
        "rows": rows,
        "rows_html": version_rows(rows, can_write=perms["can_write"], collection_name=collection.name),
        "before": before,
        "next_before": next_before,
        "compare": compare,
        "history": history,
        "history_html": history_items(history),
        "history_form": history_form,
        "next_event": next_event,
        "tag_form": TagForm(),
        "description_form": DescriptionForm(initial={"description": collection.description}),
        "delete_form": DeleteCollectionForm(collection_name=collection.name),
        "rename_form": RenameCollectionForm(initial={"name": collection.name}),
        "editing_description": False,
    }
    return context | overrides


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def collection_create(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Create a collection; its last step optionally links a first version (GET re-renders the chained selects)."""
    registry = registry_or_404(request, org_slug, reg_slug)
    require(request.user, "registries.write_registry", registry)
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = collection_forms.CollectionCreateForm(data, registry=registry, auto_id="new_collection_%s")
    chosen_type = form["type"].value() if form.is_bound else ""
    first = collection_forms.FirstVersionForm(data, user=request.user, registry=registry, type_=chosen_type or "")
    if request.method == "POST" and form.is_valid() and first.is_valid():
        try:
            collection, link = services.create_collection_with_version(
                actor=request.user,
                registry=registry,
                name=form.cleaned_data["name"],
                type=form.cleaned_data["type"],
                description=form.cleaned_data["description"],
                tags=split_list(form.cleaned_data["tags"]),
                version=first.cleaned_data.get("version"),
                aliases=first.cleaned_data.get("aliases") or [],
            )
        except ValidationError as error:
            add_service_error(first if _about_link(error) else form, error)
        else:
            message = f"Collection “{collection.name}” created" + (f" with {link.full_name}." if link else ".")
            return done(request, collection.get_absolute_url(), message)
    if request.method == "GET":  # choosing step by step is not an error
        form.errors.clear()
        first.errors.clear()
    context = {"org": registry.org, "registry": registry, "create_form": form, "first_form": first}
    return render_page(request, "collections/collection_create.html", "create-collection-form", context)


def _about_link(error: ValidationError) -> bool:
    """Whether a service error concerns the first version (shown on that step) rather than the collection."""
    return hasattr(error, "error_dict") and bool({"version", "aliases", "alias"} & set(error.error_dict))


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def collection_detail(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    """Description, tags, versions (keyset by index), metrics comparison and Action History."""
    try:
        collection = collection_or_404(request, org_slug, reg_slug, name)
    except Http404:
        return moved_or_404(request, org_slug, reg_slug, name)  # a renamed collection's old page
    fragment = request.htmx.target if request.htmx.target in COLLECTION_FRAGMENTS else "versions"
    return render_page(
        request, "collections/collection_detail.html", fragment, _collection_context(request, collection)
    )


def _collection_edit(request, collection, form, service, fragment: str, form_name: str) -> HttpResponse:
    """Apply one in-place edit, then answer with the fresh fragment (htmx) or redirect back (PRG)."""
    require(request.user, "registries.write_registry", collection.registry)  # fail fast, before validating
    if apply_service(form, service, actor=request.user, collection=collection):
        if not request.htmx:
            return redirect(collection.get_absolute_url())
        context = _collection_context(request, collection)
    else:
        context = _collection_context(
            request, collection, **{form_name: form, "editing_description": form_name == "description_form"}
        )
    return render_page(request, "collections/collection_detail.html", fragment, context)


@require_http_methods(["GET", "POST"])
def collection_description(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    """GET: the description editor in place. POST: save the Markdown."""
    collection = collection_or_404(request, org_slug, reg_slug, name)
    if request.method == "GET":
        require(request.user, "registries.write_registry", collection.registry)
        context = _collection_context(request, collection, editing_description=True)
        return render_page(request, "collections/collection_detail.html", "description", context)
    form = DescriptionForm(request.POST)
    return _collection_edit(
        request, collection, form, services.update_collection_description, "description", "description_form"
    )


@require_POST
def collection_tag_add(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    collection = collection_or_404(request, org_slug, reg_slug, name)
    form = TagForm(request.POST)
    return _collection_edit(request, collection, form, services.add_collection_tag, "collection-tags", "tag_form")


@require_POST
def collection_tag_remove(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    collection = collection_or_404(request, org_slug, reg_slug, name)
    form = TagForm(request.POST)
    return _collection_edit(request, collection, form, services.remove_collection_tag, "collection-tags", "tag_form")


@require_POST
def collection_delete(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    """Delete after the name is typed out; protected versions make the service refuse non-admins."""
    collection = collection_or_404(request, org_slug, reg_slug, name)
    require(request.user, "registries.write_registry", collection.registry)
    form = DeleteCollectionForm(request.POST, collection_name=collection.name)
    if form.is_valid():
        services.delete_collection(actor=request.user, collection=collection)
        message = f"Deleted collection {collection.name}; its source versions are kept."
        return done(request, collection.registry.get_absolute_url(), message)
    context = _collection_context(request, collection, delete_form=form)
    return render_page(request, "collections/collection_detail.html", "delete-collection", context)


@require_POST
@vary_on_headers("HX-Request")
def collection_rename(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    """Rename in a dialog; the old name keeps resolving in paths and pages (CollectionFormerName)."""
    collection = collection_or_404(request, org_slug, reg_slug, name)
    require(request.user, "registries.write_registry", collection.registry)
    form = RenameCollectionForm(request.POST)
    if apply_service(form, services.rename_collection, actor=request.user, collection=collection):
        return done(
            request, collection.get_absolute_url(), f"Renamed to “{collection.name}”; the old name still leads here."
        )
    context = _collection_context(request, collection, rename_form=form)
    return render_page(request, "collections/collection_detail.html", "rename-collection", context)
