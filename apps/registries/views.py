"""Registry pages: landing, search, the registry page, its settings, deep links and the legacy switch."""

import base64
import binascii
import functools
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from apps.artifacts.models import VersionTag
from apps.audit.models import AuditEvent
from apps.audit.views import audit_page_context, export_response
from apps.collections.models import Collection, CollectionTag, Link, LinkAlias
from apps.collections.services import create_collection, link_version
from apps.orgs.models import Membership, Organization, RegistryUI, Team, UserPreference
from apps.orgs.permissions import ROLE_ORDER, Role, has_perm, held_perms, require, role_from_perms
from apps.orgs.services import set_registry_ui_preference
from apps.registries import forms
from apps.registries import services as registry_services
from apps.registries.models import (
    ProtectedAlias,
    Registry,
    RegistryGroupObjectPermission,
    RegistryUserObjectPermission,
)
from lib.paths import strip_registry_prefix

User = get_user_model()

PAGE_SIZE = 25
SEARCH_LIMIT = 10
RECENT_COLLECTIONS = 10


def registry_ui_required(view):
    """Answer 404 while the Registry App is switched off (ENABLE_REGISTRY_UI, read on every request)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.ENABLE_REGISTRY_UI:
            raise Http404("The Registry App is turned off.")
        return view(request, *args, **kwargs)

    return wrapped


# --- lookups and small helpers ---------------------------------------------------------------


def _org(request: HttpRequest, org_slug: str) -> Organization:
    return get_object_or_404(Organization.objects.visible_to(request.user), slug=org_slug)


def _registry(request: HttpRequest, org_slug: str, reg_slug: str) -> Registry:
    """The registry, if the user may view it (the permission query is the one the page's checks reuse)."""
    registry = get_object_or_404(
        Registry.objects.with_starred(request.user).select_related("org", "owner"), org__slug=org_slug, slug=reg_slug
    )
    if not registry.is_visible_to(request.user):
        raise Http404("No Registry matches the given query.")
    return registry


def _perms(request: HttpRequest, registry: Registry) -> set[str]:
    """The user's registry actions (view, download, write, admin) in one permission query."""
    return {codename.split("_", 1)[0] for codename in held_perms(request.user, registry)}


def _form_error(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, ValidationError(errors))
    else:
        form.add_error(None, error)


def _done(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """A successful POST that changes the page: client redirect for htmx, PRG otherwise."""
    if message:
        messages.success(request, message)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _registry_ui_preference(user) -> str | None:
    return UserPreference.objects.filter(user=user).values_list("registry_ui", flat=True).first()


def _with_counts(registries: QuerySet) -> QuerySet:
    """Annotate collection and linked-version counts as subqueries (no row explosion)."""
    collections = Collection.objects.filter(registry=OuterRef("pk")).order_by().values("registry")
    links = Link.objects.filter(collection__registry=OuterRef("pk")).order_by().values("collection__registry")
    return registries.annotate(
        collection_count=Coalesce(Subquery(collections.annotate(n=Count("pk")).values("n")), 0),
        version_count=Coalesce(Subquery(links.annotate(n=Count("pk")).values("n")), 0),
    )


# --- keyset pagination -------------------------------------------------------------------------


@dataclass
class KeysetPage:
    """One page of rows, with opaque cursors to the neighbouring pages."""

    rows: list
    has_next: bool = False
    has_previous: bool = False
    next_cursor: str = ""
    previous_cursor: str = ""


def _encode_cursor(value, pk: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, is_datetime: bool):
    """The (value, pk) in a cursor, or None when it was tampered with."""
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if is_datetime:
            value = datetime.fromisoformat(value)
        if not isinstance(pk, int) or not isinstance(value, str | datetime):
            return None
        return value, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


def keyset_page(rows: QuerySet, *, field: str, descending: bool, after: str, before: str, size: int) -> KeysetPage:
    """Page through `rows` ordered by (`field`, pk) without OFFSET: cost stays flat on huge tables."""
    is_datetime = rows.model._meta.get_field(field).get_internal_type() == "DateTimeField"
    backwards = bool(before) and not after
    cursor = _decode_cursor(before if backwards else after, is_datetime) if (after or before) else None
    forward_op = "lt" if descending else "gt"
    op = {"lt": "gt", "gt": "lt"}[forward_op] if backwards else forward_op
    if cursor is not None:
        value, pk = cursor
        # One Q: rows strictly past the cursor in (field, pk) order.
        rows = rows.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk}))
    prefix = "-" if (descending != backwards) else ""
    fetched = list(rows.order_by(f"{prefix}{field}", f"{prefix}pk")[: size + 1])
    more = len(fetched) > size
    fetched = fetched[:size]
    if backwards:
        fetched.reverse()
    page = KeysetPage(rows=fetched)
    page.has_next = True if backwards and cursor is not None else more
    page.has_previous = more if backwards else cursor is not None
    if fetched:
        page.next_cursor = _encode_cursor(getattr(fetched[-1], field), fetched[-1].pk)
        page.previous_cursor = _encode_cursor(getattr(fetched[0], field), fetched[0].pk)
    return page


# --- landing, create, search ------------------------------------------------------------------


@require_GET
def landing(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Starred registries, then all registries as cards, and recently updated collections."""
    org = _org(request, org_slug)
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
    context = {
        "org": org,
        "starred": [r for r in registries if r.is_starred],
        "registries": [r for r in registries if not r.is_starred],
        "recent_collections": recent,
        "can_create": can_create,
        "create_form": forms.RegistryCreateForm() if can_create else None,
        "registry_ui_preference": _registry_ui_preference(request.user),
    }
    return render(request, "registries/landing.html", context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def registry_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Create a custom registry (the landing's dialog posts here; also a page without JavaScript)."""
    org = _org(request, org_slug)
    require(request.user, "orgs.create_registry", org)
    form = forms.RegistryCreateForm(request.POST or None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            registry = registry_services.create_registry(
                actor=request.user,
                org=org,
                name=data["name"],
                description=data["description"],
                visibility=data["visibility"],
                artifact_types=data["type_list"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            return _done(request, registry.get_absolute_url(), f"Registry “{registry.name}” created.")
    template = "registries/registry_create.html" + ("#create-registry-form" if request.htmx else "")
    return render(request, template, {"org": org, "form": form})


@require_GET
def search(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Search registries, collections (name or tag) and linked versions (alias or tag) the user may see."""
    org = _org(request, org_slug)
    q = request.GET.get("q", "").strip()[:200]
    context = {"org": org, "q": q, "limit": SEARCH_LIMIT}
    if q:
        registries = (
            Registry.objects.visible_to(request.user)
            .filter(org=org, name__icontains=q)
            .select_related("org")
            .core_first()
        )
        tagged = CollectionTag.objects.filter(collection=OuterRef("pk"), name__icontains=q)
        collections = (
            Collection.objects.visible_to(request.user)
            .filter(Q(name__icontains=q) | Q(Exists(tagged)), registry__org=org)
            .select_related("registry")
            .order_by("-updated_at", "-pk")
        )
        aliased = LinkAlias.objects.filter(link=OuterRef("pk"), alias__icontains=q)
        version_tagged = VersionTag.objects.filter(version=OuterRef("version_id"), name__icontains=q)
        links = (
            Link.objects.visible_to(request.user)
            .filter(Q(Exists(aliased)) | Q(Exists(version_tagged)), collection__registry__org=org)
            .select_related("collection__registry", "version__sequence__project__team")
            .prefetch_related("aliases", "version__tags")
            .order_by("-created_at", "-pk")
        )[: SEARCH_LIMIT + 1]
        # Protected aliases are drawn differently (gray, with a lock): one query for all rows.
        protected = defaultdict(set)
        registry_pks = {link.collection.registry_id for link in links}
        for registry_pk, alias in ProtectedAlias.objects.filter(registry__in=registry_pks).values_list(
            "registry_id", "alias"
        ):
            protected[registry_pk].add(alias)
        for link in links:
            link.protected = protected[link.collection.registry_id]
        # One row past the limit tells the template there is more.
        context.update(
            registries=list(registries[: SEARCH_LIMIT + 1]),
            collections=list(collections[: SEARCH_LIMIT + 1]),
            links=links,
        )
    return render(request, "registries/search.html", context)


# --- the registry page ------------------------------------------------------------------------


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
    counts = Link.objects.filter(collection=OuterRef("pk")).order_by().values("collection")
    latest = LinkAlias.objects.filter(collection=OuterRef("pk"), alias="latest").values("link__index")[:1]
    return rows.annotate(
        version_count=Coalesce(Subquery(counts.annotate(n=Count("pk")).values("n")), 0),
        latest_index=Subquery(latest),
    ).prefetch_related("tags")


def _link_snippets(registry: Registry) -> dict:
    collection = "<collection>"
    return {
        "wandb": f'run.link_artifact(artifact, target_path="{registry.full_name}/{collection}")',
        "client": f'client.link_artifact(version, "{registry.path}/{collection}")',
    }


@require_GET
@vary_on_headers("HX-Request")
def registry_detail(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """The registry's collections (filter, sort, keyset pages), link snippet, create and link actions."""
    registry = _registry(request, org_slug, reg_slug)
    perms = _perms(request, registry)
    tags = CollectionTag.objects.filter(collection__registry=registry).values_list("name", flat=True)
    types = registry.collections.values_list("type", flat=True)
    filter_form = forms.CollectionFilterForm(
        request.GET, tags=tags.distinct().order_by("name")[:200], types=types.distinct().order_by("type")
    )
    filters = filter_form.filters()
    by_name = filters["sort"] == "name"
    page = keyset_page(
        _collection_rows(registry, filters),
        field="name" if by_name else "updated_at",
        descending=not by_name,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    can_write = "write" in perms
    context = {
        "org": registry.org,
        "registry": registry,
        "page": page,
        "filter_form": filter_form,
        "filtered": any(filters[k] for k in ("q", "tag", "type")),
        "sort_by_name": by_name,
        "can_write": can_write,
        "can_admin": "admin" in perms,
        "is_starred": registry.is_starred,
        "snippets": _link_snippets(registry),
        "create_form": forms.CollectionCreateForm(registry=registry, auto_id="new_collection_%s")
        if can_write
        else None,
        "link_form": forms.LinkVersionForm(user=request.user, registry=registry) if can_write else None,
        "collection_names": registry.collections.order_by("name").values_list("name", flat=True)[:500],
        "registry_ui_preference": _registry_ui_preference(request.user),
    }
    template = "registries/registry_detail.html" + ("#collection-list" if request.htmx else "")
    return render(request, template, context)


@require_POST
@vary_on_headers("HX-Request")
def registry_star(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Star or unstar the registry for oneself."""
    registry = _registry(request, org_slug, reg_slug)
    starred = request.POST.get("starred") == "1"
    if starred:
        registry_services.star_registry(actor=request.user, registry=registry)
    else:
        registry_services.unstar_registry(actor=request.user, registry=registry)
    if request.POST.get("from") == "landing":  # a landing card: the registry moves in or out of Starred
        return HttpResponseClientRefresh() if request.htmx else redirect("registries:landing", registry.org.slug)
    if not request.htmx:
        return redirect(registry)
    context = {"org": registry.org, "registry": registry, "is_starred": starred}
    return render(request, "registries/registry_detail.html#star-button", context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def collection_create(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Create an empty collection in the registry."""
    registry = _registry(request, org_slug, reg_slug)
    require(request.user, "registries.write_registry", registry)
    form = forms.CollectionCreateForm(request.POST or None, registry=registry, auto_id="new_collection_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            collection = create_collection(
                actor=request.user,
                registry=registry,
                name=data["name"],
                type=data["type"],
                description=data["description"],
                tags=forms.split_list(data["tags"]),
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            return _done(request, collection.get_absolute_url(), f"Collection “{collection.name}” created.")
    template = "registries/collection_create.html" + ("#create-collection-form" if request.htmx else "")
    return render(request, template, {"org": registry.org, "registry": registry, "create_form": form})


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def registry_link(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Link a source version into a collection. GET re-renders the chained selects as they are chosen."""
    registry = _registry(request, org_slug, reg_slug)
    require(request.user, "registries.write_registry", registry)
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = forms.LinkVersionForm(data, user=request.user, registry=registry)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            link = link_version(
                actor=request.user,
                version=data["version"],
                registry=registry,
                collection_name=data["collection"],
                aliases=data["aliases"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            return _done(request, link.get_absolute_url(), f"Linked as {link.full_name}.")
    if request.method == "GET":
        form.errors.clear()  # choosing step by step is not an error
    context = {
        "org": registry.org,
        "registry": registry,
        "link_form": form,
        "collection_names": registry.collections.order_by("name").values_list("name", flat=True)[:500],
    }
    template = "registries/registry_link.html" + ("#link-form" if request.htmx else "")
    return render(request, template, context)


# --- settings ---------------------------------------------------------------------------------


@dataclass
class MemberRow:
    """A user or team holding a role of its own on the registry."""

    kind: str  # "user" or "team"
    name: str
    role: Role
    effective: Role
    is_owner: bool = False


def _members(registry: Registry) -> list[MemberRow]:
    """Users and teams with a direct role, with each user's effective role, in four queries."""
    user_codes, group_codes = defaultdict(set), defaultdict(set)
    user_perms = RegistryUserObjectPermission.objects.filter(content_object=registry)
    for user_id, codename in user_perms.values_list("user_id", "permission__codename"):
        user_codes[user_id].add(codename)
    group_perms = RegistryGroupObjectPermission.objects.filter(content_object=registry)
    for group_id, codename in group_perms.values_list("group_id", "permission__codename"):
        group_codes[group_id].add(codename)
    group_roles = {gid: role_from_perms(codes) for gid, codes in group_codes.items()}
    via_groups = defaultdict(list)
    memberships = User.groups.through.objects.filter(user_id__in=user_codes, group_id__in=group_roles)
    for user_id, group_id in memberships.values_list("user_id", "group_id"):
        via_groups[user_id].append(group_roles[group_id])

    def highest(roles):
        return max((r for r in roles if r), key=ROLE_ORDER.index)

    rows = []
    for user in User.objects.filter(pk__in=user_codes).order_by("username"):
        role = role_from_perms(user_codes[user.pk])
        effective = highest([role, *via_groups[user.pk]])
        rows.append(MemberRow("user", user.get_username(), role, effective, user.pk == registry.owner_id))
    # Only team groups: the org role groups (org admins, organization-wide viewers) are not teams.
    for team in Team.objects.filter(org=registry.org, group_id__in=group_roles).order_by("name"):
        role = group_roles[team.group_id]
        rows.append(MemberRow("team", team.name, role, role))
    return rows


SETTINGS_FORMS = {
    "description_form": lambda r: forms.DescriptionForm(initial={"description": r.description}),
    "rename_form": lambda r: forms.RenameForm(initial={"name": r.name}),
    "visibility_form": lambda r: forms.VisibilityForm(initial={"visibility": r.visibility}),
    "types_form": lambda r: forms.TypesForm(),
    "alias_form": lambda r: forms.ProtectedAliasForm(),
    "member_form": lambda r: forms.MemberAddForm(),
    "delete_form": lambda r: forms.DeleteForm(),
}


def _settings_context(request: HttpRequest, registry: Registry, **overrides) -> dict:
    """Everything the settings page shows; `overrides` replace forms (bound, with errors)."""
    can_admin = "admin" in _perms(request, registry)
    context = {
        "org": registry.org,
        "registry": registry,
        "can_admin": can_admin,
        "protected_aliases": list(registry.protected_aliases.all()),
        "members": _members(registry),
        "roles": Role.choices,
    }
    if can_admin:
        context.update({name: build(registry) for name, build in SETTINGS_FORMS.items()})
    context.update(overrides)
    return context


@require_GET
def registry_settings(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Settings: everyone who can view the registry sees them; only admins get the controls."""
    registry = _registry(request, org_slug, reg_slug)
    return render(request, "registries/registry_settings.html", _settings_context(request, registry))


SUGGESTIONS = 20


@require_GET
def registry_settings_member_suggest(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """`<option>`s for the add-member field: the organization's users or teams whose name contains
    what was typed (registry admins only, like the form it serves)."""
    registry = _registry(request, org_slug, reg_slug)
    require(request.user, "registries.admin_registry", registry)
    typed = request.GET.get("name", "").strip()[:150]
    if request.GET.get("kind") == "team":
        teams = Team.objects.filter(org=registry.org, name__icontains=typed).order_by("name")[:SUGGESTIONS]
        options = [(team.name, "Team") for team in teams]
    else:
        memberships = (
            Membership.objects.filter(org=registry.org)
            .filter(Q(user__username__icontains=typed) | Q(user__first_name__icontains=typed))
            .select_related("user")
            .order_by("user__username")[:SUGGESTIONS]
        )
        options = [(m.user.username, m.user.get_full_name() or m.get_role_display()) for m in memberships]
    # No request context: the options need none of the page's context processors (and their queries).
    return HttpResponse(render_to_string("registries/_member_suggestions.html", {"options": options}))


def settings_action(form_class, form_name: str, section: str, message: str):
    """Turn `action(request, registry, form)` into a settings POST endpoint.

    It looks the registry up (404 when invisible), requires admin (403), binds the form and, when
    the form is valid, calls the action, which calls one service. A ValidationError becomes a form
    error. The answer is the re-rendered section for htmx, a redirect back (PRG) otherwise, or the
    whole page with the errors. An action may return a response of its own (delete, rename).
    """

    def decorate(action):
        @require_POST
        @vary_on_headers("HX-Request")
        @functools.wraps(action)
        def view(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
            registry = _registry(request, org_slug, reg_slug)
            require(request.user, "registries.admin_registry", registry)
            form = form_class(request.POST)
            if form.is_valid():
                try:
                    response = action(request, registry, form)
                except ValidationError as error:
                    _form_error(form, error)
                else:
                    if response is not None:
                        return response
                    if not request.htmx:
                        url = reverse("registries:registry_settings", args=[org_slug, reg_slug])
                        return _done(request, url, message)
                    context = _settings_context(request, registry, saved=message, saved_section=section)
                    return render(request, f"registries/registry_settings.html#{section}", context)
            context = _settings_context(request, registry, **{form_name: form})
            template = "registries/registry_settings.html" + (f"#{section}" if request.htmx else "")
            return render(request, template, context)

        return view

    return decorate


def _principal(registry: Registry, kind: str, name: str):
    """The org member or team called `name`, for role changes."""
    if kind == "team":
        team = Team.objects.filter(org=registry.org, name__iexact=name).select_related("group").first()
        if team is None:
            raise ValidationError({"name": f"There is no team “{name}” in {registry.org}."})
        return team
    user = User.objects.filter(memberships__org=registry.org, username__iexact=name).first()
    if user is None:
        raise ValidationError({"name": f"There is no member “{name}” in {registry.org}."})
    return user


def _settings_url(registry: Registry) -> str:
    return reverse("registries:registry_settings", args=[registry.org.slug, registry.slug])


@settings_action(forms.DescriptionForm, "description_form", "settings-general", "Description saved.")
def registry_settings_description(request, registry, form):
    description = form.cleaned_data["description"]
    registry_services.update_registry_description(actor=request.user, registry=registry, description=description)


@settings_action(forms.RenameForm, "rename_form", "settings-general", "Registry renamed.")
def registry_settings_rename(request, registry, form):
    registry_services.rename_registry(actor=request.user, registry=registry, name=form.cleaned_data["name"])
    # The name is in the page title and breadcrumbs: reload the whole page.
    return _done(request, _settings_url(registry), f"Renamed to “{registry.name}”.")


@settings_action(forms.VisibilityForm, "visibility_form", "settings-visibility", "Visibility changed.")
def registry_settings_visibility(request, registry, form):
    visibility = form.cleaned_data["visibility"]
    registry_services.change_registry_visibility(actor=request.user, registry=registry, visibility=visibility)


@settings_action(forms.TypesForm, "types_form", "settings-types", "Artifact types added.")
def registry_settings_types(request, registry, form):
    types = form.cleaned_data["artifact_types"]
    registry_services.add_registry_types(actor=request.user, registry=registry, artifact_types=types)


@settings_action(forms.ProtectedAliasForm, "alias_form", "settings-protected-aliases", "Protected alias added.")
def registry_settings_alias_add(request, registry, form):
    registry_services.declare_protected_alias(actor=request.user, registry=registry, alias=form.cleaned_data["alias"])


@settings_action(forms.ProtectedAliasForm, "alias_form", "settings-protected-aliases", "Protected alias removed.")
def registry_settings_alias_remove(request, registry, form):
    registry_services.remove_protected_alias(actor=request.user, registry=registry, alias=form.cleaned_data["alias"])


@settings_action(forms.MemberAddForm, "member_form", "settings-members", "Access granted.")
def registry_settings_member_add(request, registry, form):
    data = form.cleaned_data
    principal = _principal(registry, data["kind"], data["name"])
    registry_services.grant_registry_role(actor=request.user, registry=registry, principal=principal, role=data["role"])


@settings_action(forms.MemberRoleForm, "member_form", "settings-members", "Role changed.")
def registry_settings_member_role(request, registry, form):
    data = form.cleaned_data
    principal = _principal(registry, data["kind"], data["name"])
    registry_services.grant_registry_role(actor=request.user, registry=registry, principal=principal, role=data["role"])


@settings_action(forms.MemberRemoveForm, "member_form", "settings-members", "Access removed.")
def registry_settings_member_remove(request, registry, form):
    principal = _principal(registry, form.cleaned_data["kind"], form.cleaned_data["name"])
    registry_services.revoke_registry_role(actor=request.user, registry=registry, principal=principal)


@settings_action(forms.OwnerForm, "member_form", "settings-members", "Owner changed.")
def registry_settings_owner(request, registry, form):
    user = _principal(registry, "user", form.cleaned_data["username"])
    registry_services.set_registry_owner(actor=request.user, registry=registry, user=user)


@settings_action(forms.DeleteForm, "delete_form", "settings-danger", "Registry deleted.")
def registry_settings_delete(request, registry, form):
    name, landing_url = registry.name, reverse("registries:landing", args=[registry.org.slug])
    registry_services.delete_registry(
        actor=request.user, registry=registry, confirm_name=form.cleaned_data["confirm_name"]
    )
    return _done(request, landing_url, f"Registry “{name}” deleted. Its source artifacts are untouched.")


# --- legacy Model Registry switch and W&B deep links --------------------------------------------


@require_POST
def registry_ui_preference(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Remember the user's choice between the new Registry and the legacy Model Registry."""
    org = _org(request, org_slug)
    choice = request.POST.get("registry_ui", "")
    try:
        set_registry_ui_preference(actor=request.user, registry_ui=choice)
    except ValidationError:
        messages.error(request, "Choose the new Registry or the legacy Model Registry.")
        return redirect("registries:landing", org.slug)
    if choice == RegistryUI.LEGACY:
        return redirect("registries:legacy_registry", org.slug)
    return redirect("registries:landing", org.slug)


@require_GET
def legacy_registry(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The legacy Model Registry: nothing was ever registered in it here."""
    org = _org(request, org_slug)
    return render(request, "registries/legacy_registry.html", {"org": org})


@require_GET
def registry_deep_link(request: HttpRequest, org_slug: str, name: str) -> HttpResponse:
    """Follow a W&B link: /orgs/<org>/registry/<registry name>?selectionPath=<org>/wandb-registry-<name>/<collection>&version=vN."""
    registries = Registry.objects.visible_to(request.user).select_related("org").filter(org__slug=org_slug)
    name = strip_registry_prefix(name.strip())
    registry = get_object_or_404(registries, Q(name__iexact=name) | Q(slug=name))
    selection = [part for part in request.GET.get("selectionPath", "").split("/") if part]
    if not selection:
        return redirect(registry)
    if len(selection) > 3 or (
        len(selection) > 1 and strip_registry_prefix(selection[-2]).lower() != registry.name.lower()
    ):
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


# --- audit -----------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def registry_audit(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Everything that changed in this registry, for everyone who can see it."""
    registry = _registry(request, org_slug, reg_slug)
    context = {
        "org": registry.org,
        "registry": registry,
        "export_url": reverse("registries:registry_audit_export", args=[org_slug, reg_slug]),
        **audit_page_context(request, AuditEvent.objects.for_registry(registry.pk)),
    }
    template = "audit/_events.html" if request.htmx else "registries/registry_audit.html"
    return render(request, template, context)


@require_GET
def registry_audit_export(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """The registry's filtered audit events as streamed CSV or NDJSON."""
    registry = _registry(request, org_slug, reg_slug)
    return export_response(request, AuditEvent.objects.for_registry(registry.pk), f"audit-{registry.slug}")
