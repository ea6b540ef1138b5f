"""A linked version's page: its tabs (version, metadata, usage, files, lineage, history) and edits."""

import json
import re

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.artifacts.models import render_markdown
from apps.artifacts.views import entries_page, file_response, file_rows, thumbnail_response
from apps.audit.models import AuditEvent
from apps.collections import lineage as lineage_graph
from apps.collections import services
from apps.collections.forms import AliasForm, DescriptionForm, MetadataForm, TagForm
from apps.collections.models import Link, events_page
from apps.collections.views.history import history_filter_form, history_items, history_rows
from apps.collections.views.lookups import int_param, link_or_404, moved_or_404, registry_perms, visible_projects
from apps.orgs.permissions import has_perm, require
from apps.registries.models import Registry
from lib.forms import apply_service
from lib.htmx import done, render_page

TABS = ["version", "metadata", "usage", "files", "lineage", "history"]


def _version_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    version = link.version
    others = list(
        version.links.visible_to(request.user)
        .exclude(pk=link.pk)
        .select_related("collection__registry__org")
        .order_by("pk")[:100]
    )
    protected, can_write, can_admin = context["protected"], context["can_write"], context["can_admin"]
    aliases = [
        {
            "name": alias,
            "protected": alias in protected,
            "removable": can_write and alias != services.LATEST and (alias not in protected or can_admin),
        }
        for alias in context["aliases_names"]
    ]
    return {
        "aliases": aliases,
        "version_tags": list(version.tags.all()),
        "version_description_html": render_markdown(version.description),
        "source_visible": bool(visible_projects(request.user, [version])),
        "linked_to": others,
        "alias_form": AliasForm(),
        "tag_form": TagForm(),
        "description_form": DescriptionForm(initial={"description": version.description}),
        "editing_description": False,
    }


def _metadata_json(metadata: dict) -> str:
    return json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) if metadata else ""


def _metadata_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    metadata_json = _metadata_json(link.version.metadata)
    return {
        "metadata_json": metadata_json,
        "metadata_form": MetadataForm(initial={"metadata": metadata_json or "{}"}),
        "editing_metadata": False,
    }


def _usage_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    path = context["path"]
    if not context["can_download"]:
        # A Restricted Viewer may read this version's details but not download or use it: show only
        # what works for them, not snippets that would answer 403.
        return {
            "snippets": [
                (
                    "Python client (details only)",
                    f'from registry_client import Client\n\nversion = Client().artifact("{path}")\n'
                    "print(version.metadata, version.aliases, [f.path for f in version.files()])",
                ),
                (
                    "W&B SDK (details only; WANDB_BASE_URL pointed at this server)",
                    f'import wandb\n\nartifact = wandb.Api().artifact("{path}")\nprint(artifact.metadata, artifact.aliases)',
                ),
            ]
        }
    return {
        "snippets": [
            ("Python client", f'from registry_client import Client\n\nClient().artifact("{path}").download()'),
            ("CLI", f"registry get {path}"),
            (
                "W&B SDK (WANDB_BASE_URL pointed at this server)",
                f'import wandb\n\nwandb.Api().artifact("{path}").download()\n'
                f'# inside a run, to record lineage:\nrun.use_artifact("{path}").download()',
            ),
        ]
    }


def _files_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    entries, next_after = entries_page(link.version, request.GET.get("after"))
    return {"rows": file_rows(entries), "next_after": next_after}


def _history_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    # SECURITY: a version's events span every registry it is linked into and its source project;
    # show those of registries the user sees, and source-side ones only to who sees the project.
    seen = Q(registry_pk__in=Registry.objects.visible_to(request.user).values("pk"))
    if visible_projects(request.user, [link.version]):
        seen |= Q(registry_pk__isnull=True)
    history_form = history_filter_form(request)
    events, next_event = events_page(
        history_form.apply(AuditEvent.objects.filter(seen, version_pk=link.version_id)),
        int_param(request.GET.get("history_before")),
        25,
    )
    history = history_rows(events)
    return {
        "history": history,
        "history_html": history_items(history),
        "history_form": history_form,
        "next_event": next_event,
    }


def _lineage_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    """The lineage graph around this version, `?depth=` 1–3 steps each way, laid out for an inline SVG."""
    depth = min(max(int_param(request.GET.get("depth")) or 1, 1), 3)
    expanded = {int(x) for x in re.findall(r"-?\d+", request.GET.get("expand", ""))[:20]}
    return {"depth": depth, "depths": [1, 2, 3], **lineage_graph.graph(request.user, link, depth, expanded)}


TAB_BUILDERS = {
    "version": _version_tab,
    "metadata": _metadata_tab,
    "usage": _usage_tab,
    "files": _files_tab,
    "lineage": _lineage_tab,
    "history": _history_tab,
}


def _version_context(request: HttpRequest, link: Link, tab: str = "version", **overrides) -> dict:
    collection = link.collection
    registry = collection.registry
    perms, protected = registry_perms(request.user, registry), registry.protected_alias_names()
    held = list(link.aliases.values_list("alias", flat=True))
    context = {
        "org": registry.org,
        "registry": registry,
        "collection": collection,
        "link": link,
        "version": link.version,
        **perms,
        "protected": sorted(protected),
        "aliases_names": held,
        # Protected aliases this version holds that stop the user from unlinking it.
        "locked": [] if perms["can_admin"] else sorted(protected.intersection(held)),
        "tab": tab,
        "tabs": TABS,
        "full_name": f"{registry.full_name}/{collection.name}:v{link.index}",
        "path": f"{registry.path}/{collection.name}:v{link.index}",
    }
    context |= TAB_BUILDERS[tab](request, link, context)
    return context | overrides


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def version_detail(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    """One linked version with tabs (`?tab=`); htmx gets the tab panel, or the lineage graph alone."""
    try:
        link = link_or_404(request, org_slug, reg_slug, name, index)
    except Http404:
        return moved_or_404(request, org_slug, reg_slug, name, f"v{index}/")  # a renamed collection's old page
    tab = request.GET.get("tab", "version")
    if tab not in TABS:
        raise Http404("No such tab.")
    fragment = "lineage" if request.htmx.target == "lineage" and tab == "lineage" else "version-tab"
    return render_page(request, "collections/version_detail.html", fragment, _version_context(request, link, tab))


def _version_edit(request, link: Link, form, service, fragment: str, form_name: str) -> HttpResponse:
    """Apply one in-place edit to a linked version (see _collection_edit)."""
    require(request.user, "registries.write_registry", link.collection.registry)
    if apply_service(form, service, actor=request.user, link=link):
        if not request.htmx:
            return redirect(link.get_absolute_url())
        context = _version_context(request, link)
    else:
        context = _version_context(
            request, link, **{form_name: form, "editing_description": form_name == "description_form"}
        )
    return render_page(request, "collections/version_detail.html", fragment, context)


def _locked_aliases(user, registry: Registry) -> frozenset[str]:
    """Protected aliases this user may not apply (none for registry admins)."""
    if has_perm(user, "registries.admin_registry", registry):
        return frozenset()
    return frozenset(registry.protected_alias_names())


@require_POST
def version_alias_add(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = link_or_404(request, org_slug, reg_slug, name, index)
    form = AliasForm(request.POST, locked=_locked_aliases(request.user, link.collection.registry))
    return _version_edit(request, link, form, services.add_alias, "aliases", "alias_form")


@require_POST
def version_alias_remove(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = link_or_404(request, org_slug, reg_slug, name, index)
    return _version_edit(request, link, AliasForm(request.POST), services.remove_alias, "aliases", "alias_form")


@require_POST
def version_tag_add(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = link_or_404(request, org_slug, reg_slug, name, index)
    return _version_edit(request, link, TagForm(request.POST), services.add_version_tag, "version-tags", "tag_form")


@require_POST
def version_tag_remove(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = link_or_404(request, org_slug, reg_slug, name, index)
    form = TagForm(request.POST)
    return _version_edit(request, link, form, services.remove_version_tag, "version-tags", "tag_form")


@require_http_methods(["GET", "POST"])
def version_description(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    """GET: the description editor in place. POST: save (the description is the source version's)."""
    link = link_or_404(request, org_slug, reg_slug, name, index)
    if request.method == "GET":
        require(request.user, "registries.write_registry", link.collection.registry)
        context = _version_context(request, link, editing_description=True)
        return render_page(request, "collections/version_detail.html", "version-description", context)
    form = DescriptionForm(request.POST)
    return _version_edit(
        request, link, form, services.update_version_description, "version-description", "description_form"
    )


@require_POST
def version_unlink(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    """Remove the version from the collection; the service refuses protected versions to non-admins."""
    link = link_or_404(request, org_slug, reg_slug, name, index)
    services.unlink_version(actor=request.user, link=link)
    return done(request, link.collection.get_absolute_url(), f"Unlinked v{link.index} from {link.collection.name}.")


@require_GET
def version_file(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int, entry_id: int):
    """Download one file. Restricted Viewers see names and sizes only: no download_registry, 403."""
    link = link_or_404(request, org_slug, reg_slug, name, index)
    require(request.user, "registries.download_registry", link.collection.registry)
    return file_response(get_object_or_404(link.version.entries, pk=entry_id))


@require_GET
def version_thumbnail(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int, entry_id: int):
    link = link_or_404(request, org_slug, reg_slug, name, index)
    require(request.user, "registries.download_registry", link.collection.registry)
    return thumbnail_response(get_object_or_404(link.version.entries, pk=entry_id))


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def version_metadata(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    """GET: the Metadata tab with its JSON editor. POST: replace the metadata (the source version's)."""
    link = link_or_404(request, org_slug, reg_slug, name, index)
    require(request.user, "registries.write_registry", link.collection.registry)  # fail fast
    if request.method == "GET":
        context = _version_context(request, link, "metadata", editing_metadata=True)
        return render_page(request, "collections/version_detail.html", "version-tab", context)
    form = MetadataForm(request.POST)
    if apply_service(form, services.update_version_metadata, actor=request.user, link=link):
        if not request.htmx:
            return redirect(link.get_absolute_url() + "?tab=metadata")
        context = _version_context(request, link, "metadata")
    else:
        context = _version_context(request, link, "metadata", metadata_form=form, editing_metadata=True)
    return render_page(request, "collections/version_detail.html", "version-tab", context)
