"""Collection and linked-version pages, their in-place (htmx) edits, and "Link to registry"."""

import json
import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from apps.artifacts.models import ArtifactVersion, Project, lineage, numeric_metadata, render_markdown
from apps.artifacts.views import entries_page, file_response, file_rows, thumbnail_response
from apps.audit.models import Action, AuditEvent
from apps.audit.views import AuditFilterForm
from apps.collections import services
from apps.collections.forms import AliasForm, DeleteCollectionForm, DescriptionForm, LinkToRegistryForm, TagForm
from apps.collections.models import Collection, Link, aliases_by_link, events_page, links_page, tags_by_version
from apps.orgs.permissions import has_perm, held_perms, require
from apps.registries.models import Registry

PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 25
COMPARE_MAX = 10
COLLECTION_FRAGMENTS = {"versions", "compare", "history", "description", "collection-tags"}
TABS = ["version", "metadata", "usage", "files", "lineage", "history"]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _perms(user, registry: Registry) -> dict[str, bool]:
    """What the user may do here, for the template (guardian's two queries answer all three)."""
    held = held_perms(user, registry)
    return {
        "can_download": "download_registry" in held,
        "can_write": "write_registry" in held,
        "can_admin": "admin_registry" in held,
    }


def _visible_projects(user, versions) -> set[int]:
    """Which source projects the user may open, so source links never lead to a 404."""
    ids = {version.sequence.project_id for version in versions}
    return set(Project.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()


def _render(request: HttpRequest, template: str, fragment: str, context: dict) -> HttpResponse:
    """The page, or only `fragment` for htmx (partial names equal the ids they replace)."""
    return render(request, f"{template}#{fragment}" if request.htmx else template, context)


def _apply(request: HttpRequest, form, service, **target) -> bool:
    """Run one service with the form's data; a ValidationError lands on the form. True if it changed."""
    if not form.is_valid():
        return False
    try:
        service(actor=request.user, **target, **form.cleaned_data)
    except ValidationError as error:
        form.add_service_error(error)
        return False
    return True


# --- Collection page ---


def _visible_or_404(user, obj, registry: Registry):
    """`obj` if `user` may view its registry; the same 404 as a missing one otherwise.

    Checked with the user's registry permissions (one query, which the page's own checks reuse)
    rather than visibility subqueries in the lookup, which cost more to build than to run.
    """
    if not registry.is_visible_to(user):
        raise Http404(f"No {type(obj).__name__} matches the given query.")
    return obj


def _collection_or_404(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> Collection:
    collection = get_object_or_404(
        Collection.objects.select_related("registry__org", "created_by"),
        registry__org__slug=org_slug,
        registry__slug=reg_slug,
        name=name,
    )
    return _visible_or_404(request.user, collection, collection.registry)


def _number(value: int | float | None) -> str | None:
    """Up to 6 significant digits for floats (0.95, 1.2e-05); integers as they are."""
    return None if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def _compare(collection: Collection, raw: list[str]) -> dict | None:
    """Numeric metadata of the chosen versions side by side; the highest value per row is marked."""
    indexes = sorted({i for i in map(_int, raw) if i is not None})[:COMPARE_MAX]
    if not indexes:
        return None
    links = list(collection.links.filter(index__in=indexes).select_related("version").order_by("index"))
    values = [numeric_metadata(link.version.metadata) for link in links]
    rows = []
    for key in sorted(set().union(*values)):
        cells = [metrics.get(key) for metrics in values]
        present = [v for v in cells if v is not None]
        best = max(present) if len(present) > 1 and min(present) != max(present) else None
        rows.append(
            {
                "key": key,
                "cells": [{"value": _number(v), "best": v is not None and v == best} for v in cells],
            }
        )
    return {"links": links, "rows": rows, "selected": {link.index for link in links}}


def _when(moment) -> dict[str, str]:
    """A timestamp as `<time>` wants it; strftime is several times cheaper than the date filter per row."""
    local = timezone.localtime(moment)
    return {"iso": local.isoformat(), "text": local.strftime("%Y-%m-%d %H:%M")}


def _history(events: list[AuditEvent]) -> list[dict]:
    return [{"event": event, "when": _when(event.created_at), "text": describe_event(event)} for event in events]


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
                "version": link.version,
                "linked_at": _when(link.created_at),
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


def describe_event(event: AuditEvent) -> str:
    """One line of Action History: what an audit event did, in words."""
    data = event.data or {}
    version = data.get("version", "")
    match event.action:
        case Action.COLLECTION_LINK:
            return f"linked {version} (source {data.get('source', '?')})"
        case Action.COLLECTION_UNLINK:
            return f"unlinked {version} (source {data.get('source', '?')})"
        case Action.ALIAS_ADD:
            moved = f", moving it from {data['moved_from']}" if data.get("moved_from") else ""
            return f"added alias “{data.get('alias')}” to {version}{moved}"
        case Action.ALIAS_REMOVE:
            return f"removed alias “{data.get('alias')}” from {version}"
        case Action.COLLECTION_ADD_TAG:
            return f"tagged the collection “{data.get('tag')}”"
        case Action.COLLECTION_REMOVE_TAG:
            return f"removed the collection tag “{data.get('tag')}”"
        case Action.VERSION_ADD_TAG:
            return f"tagged {version} “{data.get('tag')}”"
        case Action.VERSION_REMOVE_TAG:
            return f"removed tag “{data.get('tag')}” from {version}"
        case Action.COLLECTION_UPDATE:
            return "edited the description"
        case Action.VERSION_UPDATE:
            return f"edited the description of {version}"
        case Action.COLLECTION_CREATE:
            return f"created the collection ({data.get('type', '')})"
        case Action.COLLECTION_RENAME:
            return f"renamed the collection from “{data.get('from')}” to “{data.get('to')}”"
        case Action.ARTIFACT_CREATE:
            files = data.get("files", 0)
            return f"logged {data.get('name', 'the artifact')} with {files} file{'' if files == 1 else 's'}"
        case Action.ARTIFACT_COMMIT:
            return f"committed {event.target_repr}"
        case Action.RUN_USE_ARTIFACT:
            return f"used it in run {event.target_repr}"
    return f"{event.get_action_display()} {event.target_repr}"


def _collection_context(request: HttpRequest, collection: Collection, **overrides) -> dict:
    registry = collection.registry
    before = _int(request.GET.get("before"))
    # Whether the user may open each row's source project, so source links never lead to a 404.
    source_visible = Exists(
        Project.objects.visible_to(request.user).filter(pk=OuterRef("version__sequence__project_id"))
    )
    # SECURITY: rows are loaded by the primary keys of this (visible) collection's page only; not
    # filtering by collection again keeps SQLite on the primary key instead of the whole index.
    table = Link.objects.for_table().annotate(source_visible=source_visible)
    links, next_before = links_page(collection.links.all(), table, before, PAGE_SIZE)
    history_form = _history_form(request)
    events, next_event = events_page(
        history_form.apply(AuditEvent.objects.for_collection(collection.pk)),
        _int(request.GET.get("history_before")),
        HISTORY_PAGE_SIZE,
    )
    compare = _compare(collection, request.GET.getlist("compare"))
    perms, protected = _perms(request.user, registry), registry.protected_alias_names()
    context = {
        "org": registry.org,
        "registry": registry,
        "collection": collection,
        **perms,
        "protected": sorted(protected),
        "description_html": render_markdown(collection.description),
        "tags": list(collection.tags.all()),
        "rows": _version_rows(
            collection, links, protected, perms["can_admin"], compare["selected"] if compare else set()
        ),
        "before": before,
        "next_before": next_before,
        "compare": compare,
        "history": _history(events),
        "history_form": history_form,
        "next_event": next_event,
        "tag_form": TagForm(),
        "description_form": DescriptionForm(initial={"description": collection.description}),
        "delete_form": DeleteCollectionForm(collection_name=collection.name),
        "editing_description": False,
    }
    return context | overrides


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def collection_detail(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    """Description, tags, versions (keyset by index), metrics comparison and Action History."""
    collection = _collection_or_404(request, org_slug, reg_slug, name)
    fragment = request.htmx.target if request.htmx.target in COLLECTION_FRAGMENTS else "versions"
    return _render(request, "collections/collection_detail.html", fragment, _collection_context(request, collection))


def _collection_edit(request, collection, form, service, fragment: str, form_name: str) -> HttpResponse:
    """Apply one in-place edit, then answer with the fresh fragment (htmx) or redirect back (PRG)."""
    require(request.user, "registries.write_registry", collection.registry)  # fail fast, before validating
    if _apply(request, form, service, collection=collection):
        if not request.htmx:
            return redirect(collection.get_absolute_url())
        context = _collection_context(request, collection)
    else:
        context = _collection_context(
            request, collection, **{form_name: form, "editing_description": form_name == "description_form"}
        )
    return _render(request, "collections/collection_detail.html", fragment, context)


@require_http_methods(["GET", "POST"])
def collection_description(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    """GET: the description editor in place. POST: save the Markdown."""
    collection = _collection_or_404(request, org_slug, reg_slug, name)
    if request.method == "GET":
        require(request.user, "registries.write_registry", collection.registry)
        context = _collection_context(request, collection, editing_description=True)
        return _render(request, "collections/collection_detail.html", "description", context)
    form = DescriptionForm(request.POST)
    return _collection_edit(
        request, collection, form, services.update_collection_description, "description", "description_form"
    )


@require_POST
def collection_tag_add(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    collection = _collection_or_404(request, org_slug, reg_slug, name)
    form = TagForm(request.POST)
    return _collection_edit(request, collection, form, services.add_collection_tag, "collection-tags", "tag_form")


@require_POST
def collection_tag_remove(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    collection = _collection_or_404(request, org_slug, reg_slug, name)
    form = TagForm(request.POST)
    return _collection_edit(request, collection, form, services.remove_collection_tag, "collection-tags", "tag_form")


@require_POST
def collection_delete(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    """Delete after the name is typed out; protected versions make the service refuse non-admins."""
    collection = _collection_or_404(request, org_slug, reg_slug, name)
    require(request.user, "registries.write_registry", collection.registry)
    form = DeleteCollectionForm(request.POST, collection_name=collection.name)
    if form.is_valid():
        services.delete_collection(actor=request.user, collection=collection)
        messages.success(request, f"Deleted collection {collection.name}; its source versions are kept.")
        url = collection.registry.get_absolute_url()
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = _collection_context(request, collection, delete_form=form)
    return _render(request, "collections/collection_detail.html", "delete-collection", context)


# --- Version page ---


def _link_or_404(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> Link:
    link = get_object_or_404(
        Link.objects.select_related(
            "collection__registry__org",
            "version__sequence__project__team",
            "version__run",
            "version__created_by",
            "linked_by",
        ),
        collection__registry__org__slug=org_slug,
        collection__registry__slug=reg_slug,
        collection__name=name,
        index=index,
    )
    return _visible_or_404(request.user, link, link.collection.registry)


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
        "source_visible": bool(_visible_projects(request.user, [version])),
        "linked_to": others,
        "alias_form": AliasForm(),
        "tag_form": TagForm(),
        "description_form": DescriptionForm(initial={"description": version.description}),
        "editing_description": False,
    }


def _metadata_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    metadata = link.version.metadata
    return {"metadata_json": json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) if metadata else ""}


def _usage_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    path = context["path"]
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
    if _visible_projects(request.user, [link.version]):
        seen |= Q(registry_pk__isnull=True)
    history_form = _history_form(request)
    events, next_event = events_page(
        history_form.apply(AuditEvent.objects.filter(seen, version_pk=link.version_id)),
        _int(request.GET.get("history_before")),
        25,
    )
    return {"history": _history(events), "history_form": history_form, "next_event": next_event}


# What a collection's or a version's History can hold (describe_event words each of them).
HISTORY_ACTIONS = [
    Action.COLLECTION_CREATE,
    Action.COLLECTION_LINK,
    Action.COLLECTION_UNLINK,
    Action.COLLECTION_RENAME,
    Action.COLLECTION_UPDATE,
    Action.COLLECTION_ADD_TAG,
    Action.COLLECTION_REMOVE_TAG,
    Action.ALIAS_ADD,
    Action.ALIAS_REMOVE,
    Action.VERSION_ADD_TAG,
    Action.VERSION_REMOVE_TAG,
    Action.VERSION_UPDATE,
    Action.ARTIFACT_CREATE,
    Action.ARTIFACT_COMMIT,
    Action.RUN_USE_ARTIFACT,
]


def _history_form(request: HttpRequest) -> AuditFilterForm:
    """The audit pages' filters (actor, action) for a History list, as `history-<field>` parameters."""
    return AuditFilterForm(request.GET or None, prefix="history", actions=HISTORY_ACTIONS)


LINEAGE_COLUMN, LINEAGE_ROW, NODE_W, NODE_H = 230, 58, 190, 42
CLUSTER_AT = 5


def _lineage_tab(request: HttpRequest, link: Link, context: dict) -> dict:
    """The lineage graph around this version, `?depth=` 1–3 steps each way, laid out for an inline SVG."""
    depth = min(max(_int(request.GET.get("depth")) or 1, 1), 3)
    expanded = {int(x) for x in re.findall(r"-?\d+", request.GET.get("expand", ""))}
    levels, edges = lineage(link.version, depth)
    visible, via_registry = _lineage_access(request.user, levels)
    nodes, paths, height = _lineage_layout(
        levels,
        edges,
        expanded,
        lambda obj, level: _lineage_node(obj, level, link, visible, via_registry),
        lambda level: f"?tab=lineage&depth={depth}&expand={','.join(map(str, sorted(expanded | {level})))}",
    )
    return {
        "depth": depth,
        "depths": [1, 2, 3],
        "nodes": nodes,
        "paths": paths,
        "svg_width": 20 + len(levels) * LINEAGE_COLUMN - (LINEAGE_COLUMN - NODE_W),
        "svg_height": 20 + height * LINEAGE_ROW,
        "node_w": NODE_W,
        "node_h": NODE_H,
        "lineage_empty": len(levels) == 1,
    }


def _lineage_access(user, levels: dict[int, list]) -> tuple[set[int], dict[int, Link]]:
    """Projects the user may open among the graph's nodes, and registry links for the other versions."""
    versions = [node for level, nodes in levels.items() if level % 2 == 0 for node in nodes]
    project_ids = {v.sequence.project_id for v in versions} | {
        run.project_id for level, nodes in levels.items() if level % 2 for run in nodes
    }
    visible = set(Project.objects.visible_to(user).filter(pk__in=project_ids).values_list("pk", flat=True))
    # Versions the user can't open at the source may still be reachable through a registry link.
    via_registry: dict[int, Link] = {}
    hidden = [v.pk for v in versions if v.sequence.project_id not in visible]
    if hidden:
        for other in (
            Link.objects.visible_to(user)
            .filter(version__in=hidden)
            .select_related("collection__registry__org")
            .order_by("pk")
        ):
            via_registry.setdefault(other.version_id, other)
    return visible, via_registry


def _lineage_layout(levels: dict[int, list], edges: set, expanded: set[int], node_for, expand_url):
    """A column per level, centred rows; a level of CLUSTER_AT or more nodes becomes one cluster node."""
    clustered = {level for level, members in levels.items() if len(members) >= CLUSTER_AT} - expanded - {0}
    height = max(1 if level in clustered else len(members) for level, members in levels.items())
    nodes, node_of_key = [], {}
    for column, level in enumerate(sorted(levels)):
        members = levels[level]
        shown = [None] if level in clustered else members
        top = (height - len(shown)) * LINEAGE_ROW / 2
        for row, obj in enumerate(shown):
            if obj is None:
                kind = "runs" if level % 2 else "artifacts"
                node = {"kind": "cluster", "label": f"{len(members)} {kind}", "title": "Show each node"}
                node["url"] = expand_url(level)
                keys = [f"{'r' if level % 2 else 'a'}{member.pk}" for member in members]
            else:
                node = node_for(obj, level)
                keys = [node["key"]]
            node.update(x=10 + column * LINEAGE_COLUMN, y=10 + top + row * LINEAGE_ROW)
            nodes.append(node)
            node_of_key.update(dict.fromkeys(keys, node))
    # Edges into or out of a cluster collapse into one.
    pairs = {
        (id(node_of_key[a]), id(node_of_key[b])): (node_of_key[a], node_of_key[b])
        for a, b in edges
        if a in node_of_key and b in node_of_key
    }
    paths = [
        f"M{a['x'] + NODE_W},{a['y'] + NODE_H / 2} C{a['x'] + NODE_W + 30},{a['y'] + NODE_H / 2} "
        f"{b['x'] - 30},{b['y'] + NODE_H / 2} {b['x']},{b['y'] + NODE_H / 2}"
        for a, b in pairs.values()
    ]
    return nodes, paths, height


def _lineage_node(obj, level: int, link: Link, visible: set[int], via_registry: dict) -> dict:
    if level % 2:  # a run
        run, shown = obj, obj.project_id in visible
        url = reverse("artifacts:artifact_list", args=[run.project.team.name, run.project.name]) + f"?run={run.run_id}"
        return {
            "key": f"r{run.pk}",
            "kind": "run",
            "label": (run.name or run.run_id) if shown else "private run",
            "sub": f"{run.run_id} · {run.state}" if shown else "in a project you are not in",
            "title": f"Run {run.run_id} ({run.name}), {run.state}, {run.created_at:%Y-%m-%d %H:%M}" if shown else "",
            "url": url if shown else "",
        }
    version = obj
    if version.pk == link.version_id:
        url, label = link.get_absolute_url(), f"{link.collection.name}:v{link.index}"
    elif version.sequence.project_id in visible:
        url, label = version.get_absolute_url(), f"{version.sequence.name}:{version.version_label}"
    elif version.pk in via_registry:
        other = via_registry[version.pk]
        url, label = other.get_absolute_url(), f"{other.collection.name}:v{other.index}"
    else:
        url, label = "", "private artifact"
    return {
        "key": f"a{version.pk}",
        "kind": "artifact",
        "label": label,
        "sub": version.sequence.type if url else "in a project you are not in",
        "title": f"{version} ({version.sequence.type}), {version.created_at:%Y-%m-%d %H:%M}" if url else "",
        "url": url,
        "current": version.pk == link.version_id,
    }


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
    perms, protected = _perms(request.user, registry), registry.protected_alias_names()
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
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    tab = request.GET.get("tab", "version")
    if tab not in TABS:
        raise Http404("No such tab.")
    fragment = "lineage" if request.htmx.target == "lineage" and tab == "lineage" else "version-tab"
    return _render(request, "collections/version_detail.html", fragment, _version_context(request, link, tab))


def _version_edit(request, link: Link, form, service, fragment: str, form_name: str) -> HttpResponse:
    """Apply one in-place edit to a linked version (see _collection_edit)."""
    require(request.user, "registries.write_registry", link.collection.registry)
    if _apply(request, form, service, link=link):
        if not request.htmx:
            return redirect(link.get_absolute_url())
        context = _version_context(request, link)
    else:
        context = _version_context(
            request, link, **{form_name: form, "editing_description": form_name == "description_form"}
        )
    return _render(request, "collections/version_detail.html", fragment, context)


def _locked_aliases(user, registry: Registry) -> frozenset[str]:
    """Protected aliases this user may not apply (none for registry admins)."""
    if has_perm(user, "registries.admin_registry", registry):
        return frozenset()
    return frozenset(registry.protected_alias_names())


@require_POST
def version_alias_add(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    form = AliasForm(request.POST, locked=_locked_aliases(request.user, link.collection.registry))
    return _version_edit(request, link, form, services.add_alias, "aliases", "alias_form")


@require_POST
def version_alias_remove(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    return _version_edit(request, link, AliasForm(request.POST), services.remove_alias, "aliases", "alias_form")


@require_POST
def version_tag_add(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    return _version_edit(request, link, TagForm(request.POST), services.add_version_tag, "version-tags", "tag_form")


@require_POST
def version_tag_remove(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    form = TagForm(request.POST)
    return _version_edit(request, link, form, services.remove_version_tag, "version-tags", "tag_form")


@require_http_methods(["GET", "POST"])
def version_description(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    """GET: the description editor in place. POST: save (the description is the source version's)."""
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    if request.method == "GET":
        require(request.user, "registries.write_registry", link.collection.registry)
        context = _version_context(request, link, editing_description=True)
        return _render(request, "collections/version_detail.html", "version-description", context)
    form = DescriptionForm(request.POST)
    return _version_edit(
        request, link, form, services.update_version_description, "version-description", "description_form"
    )


@require_POST
def version_unlink(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    """Remove the version from the collection; the service refuses protected versions to non-admins."""
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    services.unlink_version(actor=request.user, link=link)
    messages.success(request, f"Unlinked v{link.index} from {link.collection.name}.")
    url = link.collection.get_absolute_url()
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_GET
def version_file(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int, entry_id: int):
    """Download one file. Restricted Viewers see names and sizes only: no download_registry, 403."""
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    require(request.user, "registries.download_registry", link.collection.registry)
    return file_response(get_object_or_404(link.version.entries, pk=entry_id))


@require_GET
def version_thumbnail(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int, entry_id: int):
    link = _link_or_404(request, org_slug, reg_slug, name, index)
    require(request.user, "registries.download_registry", link.collection.registry)
    return thumbnail_response(get_object_or_404(link.version.entries, pk=entry_id))


# --- Link to registry (from a source version's page) ---


def _source_version_or_404(request: HttpRequest, team: str, project: str, name: str, version: str):
    match = re.fullmatch(r"v(\d+)", version)
    if match is None:
        raise Http404("Versions are named v0, v1, …")
    return get_object_or_404(
        ArtifactVersion.objects.visible_to(request.user).select_related("sequence__project__team__org"),
        sequence__project__team__name=team,
        sequence__project__name=project,
        sequence__name=name,
        index=int(match[1]),
    )


@require_http_methods(["GET", "POST"])
def version_link(request: HttpRequest, team: str, project: str, name: str, version: str) -> HttpResponse:
    """Link a source version into a collection of a registry where the user may write."""
    version = _source_version_or_404(request, team, project, name, version)
    org = version.sequence.project.team.org
    writable = Registry.objects.with_perm(request.user, "write").filter(org=org)
    # Offer only registries that accept this type (accepted types are a JSON list; few registries).
    accepting = [registry.pk for registry in writable if registry.accepts(version.sequence.type)]
    registries = writable.filter(pk__in=accepting).core_first()
    form = LinkToRegistryForm(request.POST or None, registries=registries, user=request.user)
    if form.is_valid():
        try:
            link = services.link_version(
                actor=request.user,
                version=version,
                registry=form.cleaned_data["registry"],
                collection_name=form.cleaned_data["collection"],
                aliases=form.cleaned_data["aliases"],
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Linked as {link.full_name}.")
            url = link.get_absolute_url()
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    collections = Collection.objects.visible_to(request.user).filter(
        registry__in=registries, type=version.sequence.type
    )
    context = {
        "version": version,
        "form": form,
        "has_registries": registries.exists(),
        "collection_names": sorted({c.name for c in collections.only("name").order_by("name")[:500]}),
    }
    return _render(request, "collections/version_link.html", "link-form", context)
