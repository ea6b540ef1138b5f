"""The legacy Model Registry pages: `/<team>/registry/model` (list), a model's page, a version's page.

After a team's migration, its model and version pages answer 301 to the migrated collection and
version (W&B's redirects), and writes answer the read-only message naming the new registry.
"""

import json
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from apps.artifacts.models import render_markdown
from apps.artifacts.views import entries_page, file_rows
from apps.legacy import services
from apps.legacy.banner import banner_context
from apps.legacy.forms import AliasForm, DescriptionForm, NotifyForm, TagForm, UserForm
from apps.legacy.models import (
    LEGACY_PROJECT,
    LegacyProtectedAlias,
    LegacyRegistryAdmin,
    ModelAlias,
    ModelLink,
    RegisteredModel,
    is_team_admin,
    teams_of,
)
from lib.forms import add_service_error, apply_service
from lib.htmx import done, render_page
from lib.pagination import decode_cursor, keyset_page

PAGE_SIZE = 50
TABS = ["version", "metadata", "usage", "files"]


class Request(HttpRequest):
    htmx: HtmxDetails


def _team_or_404(request: HttpRequest, team: str):
    return get_object_or_404(teams_of(request.user).select_related("org"), name=team)


def _model_or_404(request: HttpRequest, team: str, name: str) -> RegisteredModel:
    models = RegisteredModel.objects.visible_to(request.user).select_related("team__org", "migrated_to__registry__org")
    return get_object_or_404(models, team__name=team, name=name)


def _link_or_404(request: HttpRequest, team: str, name: str, index: int) -> ModelLink:
    links = ModelLink.objects.visible_to(request.user).select_related(
        "model__team__org", "version__sequence__project__team", "linked_by", "migrated_to__collection__registry__org"
    )
    return get_object_or_404(links, model__team__name=team, model__name=name, index=index)


def _page_url(team, name=None, index=None) -> str:
    if name is None:
        return reverse("legacy:model_list", args=[team])
    if index is None:
        return reverse("legacy:model_detail", args=[team, name])
    return reverse("legacy:version_detail", args=[team, name, index])


def _deep_link(request: HttpRequest, team: str) -> str | None:
    """W&B's `?selectionPath=<team>/model-registry/<name>&view=membership|versions|all-models&version=vN`."""
    selection, view = request.GET.get("selectionPath"), request.GET.get("view")
    if view == "all-models" or not selection:
        return None
    name = selection.split("/")[-1]
    version = request.GET.get("version", "")
    if view == "membership" and version[:1] == "v" and version[1:].isdigit():
        return _page_url(team, name, int(version[1:]))
    return _page_url(team, name)


@require_GET
@vary_on_headers("HX-Request")
def model_list(request: Request, team: str) -> HttpResponse:
    """A team's registered models, by name; `q` searches names and tags; keyset pages of 50."""
    team_row = _team_or_404(request, team)
    if target := _deep_link(request, team):
        return redirect(target)
    migration = services.migration_of(team_row)
    if migration and migration.finished_at and migration.registry:
        return HttpResponsePermanentRedirect(migration.registry.get_absolute_url())
    rows = RegisteredModel.objects.filter(team=team_row)
    query = request.GET.get("q", "").strip()[:200]
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(tags__name__iexact=query)).distinct()
    rows = rows.annotate(version_count=Count("links", distinct=True))
    order = ("name", "pk")
    try:
        after = decode_cursor(request.GET["after"], rows, order) if request.GET.get("after") else None
        before = decode_cursor(request.GET["before"], rows, order) if request.GET.get("before") else None
    except ValidationError:
        after = before = None
    page = keyset_page(rows, order=order, size=PAGE_SIZE, after=after, before=before)
    context = {
        "team": team_row,
        "page": page,
        "models": page.rows,
        "query": query,
        "migration": migration,
        "can_admin": is_team_admin(request.user, team_row),
        **banner_context(request.user, legacy_team=team_row),
    }
    return render_page(request, "legacy/model_list.html", "model-list", context)


@require_GET
@vary_on_headers("HX-Request")
def model_detail(request: Request, team: str, name: str) -> HttpResponse:
    model = _model_or_404(request, team, name)
    if model.migrated_to is not None:
        return HttpResponsePermanentRedirect(model.migrated_to.get_absolute_url())
    keys = ModelLink.objects.filter(model=model)
    try:
        before = decode_cursor(request.GET["after"], keys, ("-index",)) if request.GET.get("after") else None
    except ValidationError:
        before = None
    page = keyset_page(keys.values("pk", "index"), order=("-index",), size=PAGE_SIZE, after=before)
    links = list(
        ModelLink.objects.filter(pk__in=[row["pk"] for row in page.rows])
        .select_related("version__sequence__project__team", "linked_by")
        .order_by("-index")
    )
    aliases: dict[int, list[str]] = {}
    for link_id, alias in ModelAlias.objects.filter(link__in=links).values_list("link_id", "alias"):
        aliases.setdefault(link_id, []).append(alias)
    for link in links:
        link.alias_names = sorted(aliases.get(link.pk, []))
    migration = services.migration_of(model.team)
    context = {
        "team": model.team,
        "model": model,
        "links": links,
        "next_after": page.next_cursor,
        "tags": list(model.tags.all()),
        "description_html": render_markdown(model.description),
        "can_write": migration is None,
        "migration": migration,
        "tag_form": TagForm(),
        "description_form": DescriptionForm(initial={"description": model.description}),
        "notify_form": NotifyForm(org=model.team.org, initial={"webhook": model.notify_webhook_id}),
        "path": f"{model.team.name}/{LEGACY_PROJECT}/{model.name}",
        **banner_context(request.user, legacy_team=model.team),
    }
    return render_page(request, "legacy/model_detail.html", "model-versions", context)


def _version_context(request: HttpRequest, link: ModelLink, tab: str) -> dict:
    model, version = link.model, link.version
    protected = set(LegacyProtectedAlias.objects.filter(team=model.team).values_list("alias", flat=True))
    migration = services.migration_of(model.team)
    can_admin = is_team_admin(request.user, model.team)
    can_write = migration is None
    held = sorted(link.aliases.values_list("alias", flat=True))
    path = f"{model.team.name}/{LEGACY_PROJECT}/{model.name}:v{link.index}"
    context = {
        "team": model.team,
        "model": model,
        "link": link,
        "version": version,
        "tab": tab,
        "tabs": TABS,
        "path": path,
        "can_write": can_write,
        "can_admin": can_admin,
        "migration": migration,
        "aliases": [
            {
                "name": a,
                "protected": a in protected,
                "removable": can_write and a != "latest" and (a not in protected or can_admin),
            }
            for a in held
        ],
        "locked": not can_admin and bool(protected.intersection(held)),
        "alias_form": AliasForm(),
        **banner_context(request.user, legacy_team=model.team),
    }
    if tab == "metadata":
        context["metadata_json"] = json.dumps(version.metadata, indent=2, sort_keys=True) if version.metadata else ""
    elif tab == "usage":
        context["snippets"] = [
            ("W&B SDK (WANDB_BASE_URL pointed at this server)", f'run.use_model("{path}")'),
            ("Python client", f'from registry_client import Client\n\nClient().artifact("{path}").download()'),
        ]
    elif tab == "files":
        entries, next_after = entries_page(version, request.GET.get("after"))
        context |= {"rows": file_rows(entries), "next_after": next_after}
    else:
        context["description_html"] = render_markdown(version.description)
    return context


@require_GET
@vary_on_headers("HX-Request")
def version_detail(request: Request, team: str, name: str, index: int) -> HttpResponse:
    """A linked version with the Registry version page's tabs (version, metadata, usage, files)."""
    link = _link_or_404(request, team, name, index)
    if link.migrated_to is not None:
        return HttpResponsePermanentRedirect(link.migrated_to.get_absolute_url())
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "version"
    return render_page(request, "legacy/version_detail.html", "version-tab", _version_context(request, link, tab))


def _refused(request: HttpRequest, error: ValidationError, url: str) -> HttpResponse:
    messages.error(request, " ".join(error.messages))
    return done(request, url)


@require_POST
def model_description(request: Request, team: str, name: str) -> HttpResponse:
    model = _model_or_404(request, team, name)
    form = DescriptionForm(request.POST)
    if not apply_service(form, services.update_model_description, actor=request.user, model=model):
        return _refused(
            request, ValidationError([e for errs in form.errors.values() for e in errs]), model.get_absolute_url()
        )
    return done(request, model.get_absolute_url(), "Description saved.")


@require_POST
def model_tags(request: Request, team: str, name: str) -> HttpResponse:
    model = _model_or_404(request, team, name)
    service = services.remove_model_tag if request.POST.get("op") == "remove" else services.add_model_tag
    form = TagForm(request.POST)
    if not apply_service(form, service, actor=request.user, model=model):
        return _refused(
            request, ValidationError([e for errs in form.errors.values() for e in errs]), model.get_absolute_url()
        )
    return done(request, model.get_absolute_url())


@require_POST
def model_notify(request: Request, team: str, name: str) -> HttpResponse:
    """The "New version linked" notification toggle."""
    model = _model_or_404(request, team, name)
    form = NotifyForm(request.POST, org=model.team.org)
    if not apply_service(form, services.set_model_notification, actor=request.user, model=model):
        return _refused(
            request, ValidationError([e for errs in form.errors.values() for e in errs]), model.get_absolute_url()
        )
    return done(request, model.get_absolute_url(), "Notification saved.")


@require_POST
def version_aliases(request: Request, team: str, name: str, index: int) -> HttpResponse:
    link = _link_or_404(request, team, name, index)
    service = services.remove_model_alias if request.POST.get("op") == "remove" else services.add_model_alias
    form = AliasForm(request.POST)
    url = link.get_absolute_url()
    if not apply_service(form, service, actor=request.user, link=link):
        return _refused(request, ValidationError([e for errs in form.errors.values() for e in errs]), url)
    return done(request, url)


@require_POST
def version_unlink(request: Request, team: str, name: str, index: int) -> HttpResponse:
    link = _link_or_404(request, team, name, index)
    try:
        services.unlink_model_version(actor=request.user, link=link)
    except ValidationError as error:
        return _refused(request, error, link.get_absolute_url())
    return done(request, link.model.get_absolute_url(), f"Unlinked v{index}.")


@require_http_methods(["GET", "POST"])
def registry_settings(request: Request, team: str) -> HttpResponse:
    """Protected aliases and registry admins of a team's legacy registry (team admins and registry admins)."""
    team_row = _team_or_404(request, team)
    if not is_team_admin(request.user, team_row):
        raise PermissionDenied
    alias_form, admin_form = AliasForm(prefix="alias"), UserForm(prefix="admin")
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("protect", "unprotect"):
                alias_form = AliasForm(request.POST, prefix="alias")
                if alias_form.is_valid():
                    service = (
                        services.declare_protected_alias if action == "protect" else services.remove_protected_alias
                    )
                    service(actor=request.user, team=team_row, alias=alias_form.cleaned_data["alias"])
                    return done(request, request.path)
            elif action in ("add_admin", "remove_admin"):
                admin_form = UserForm(request.POST, prefix="admin")
                if admin_form.is_valid():
                    user = get_user_model().objects.filter(username=admin_form.cleaned_data["username"]).first()
                    if user is None:
                        raise ValidationError({"username": "No such user."})
                    service = services.add_registry_admin if action == "add_admin" else services.remove_registry_admin
                    service(actor=request.user, team=team_row, user=user)
                    return done(request, request.path)
        except ValidationError as error:
            add_service_error(alias_form if action in ("protect", "unprotect") else admin_form, error)
    context = {
        "team": team_row,
        "protected": list(LegacyProtectedAlias.objects.filter(team=team_row)),
        "admins": list(LegacyRegistryAdmin.objects.filter(team=team_row).select_related("user")),
        "alias_form": alias_form,
        "admin_form": admin_form,
        "migration": services.migration_of(team_row),
    }
    return render_page(request, "legacy/registry_settings.html", "settings", context)


@require_POST
def preference(request: Request) -> HttpResponse:
    """Remember the banner's switch, then go where it points (`next`, a local URL)."""
    try:
        services.set_registry_ui_preference(actor=request.user, registry_ui=request.POST.get("registry_ui", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return redirect(quote(target, safe="/?=&%:;"))
