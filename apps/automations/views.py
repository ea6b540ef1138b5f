"""Automation pages of a registry, and the organization's webhook and secret settings."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from apps.automations import services
from apps.automations.forms import (
    COLLECTION_OPTIONS,
    AutomationForm,
    OrgAutomationForm,
    SecretForm,
    SecretValueForm,
    SlackChannelForm,
    WebhookForm,
    WebhookTestForm,
)
from apps.automations.models import Automation, AutomationRun, RunStatus, Scope, Secret, Webhook, managed_teams
from apps.collections.models import Collection
from apps.orgs.models import Organization
from apps.orgs.permissions import has_perm, require
from apps.registries.models import Registry
from lib.forms import add_service_error
from lib.htmx import done
from lib.pagination import decode_cursor, keyset_page

logger = logging.getLogger(__name__)

RUNS_PAGE_SIZE = 25


# --- lookups and small helpers ---------------------------------------------------------------


def _registry(request: HttpRequest, org_slug: str, reg_slug: str) -> Registry:
    return get_object_or_404(
        Registry.objects.visible_to(request.user).select_related("org"), org__slug=org_slug, slug=reg_slug
    )


def _automation(request: HttpRequest, registry: Registry, pk: int) -> Automation:
    automation = get_object_or_404(
        Automation.objects.visible_to(request.user).select_related("collection", "webhook"), registry=registry, pk=pk
    )
    automation.registry = registry
    return automation


def _admin_org(request: HttpRequest, org_slug: str) -> Organization:
    """The organization (404 for non-members), for its admins only (403)."""
    org = get_object_or_404(Organization.objects.visible_to(request.user), slug=org_slug)
    require(request.user, "orgs.admin_organization", org)
    return org


def _can_write(request: HttpRequest, registry: Registry) -> bool:
    return has_perm(request.user, "registries.write_registry", registry)


def _runs_page(runs, before: str | None) -> tuple[list[AutomationRun], int | None]:
    """One keyset page of runs, newest first, below id `before`; and the next page's cursor."""
    after = (int(before),) if before and before.isdigit() else None
    page = keyset_page(runs, order=("-pk",), size=RUNS_PAGE_SIZE, after=after)
    return page.rows, page.next[0] if page.next else None


def _detail_page(request: HttpRequest, template: str, automation: Automation, can_write: bool, **scope) -> HttpResponse:
    """An automation's page, its settings and runs newest first (the run table alone for htmx); `scope` names
    the registry or the organization the page sits under."""
    runs = AutomationRun.objects.visible_to(request.user).filter(automation=automation).select_related("automation")
    rows, next_cursor = _runs_page(runs, request.GET.get("before"))
    context = {**scope, "automation": automation, "runs": rows, "next_cursor": next_cursor, "can_write": can_write}
    return render(request, template + ("#run-table" if request.htmx else ""), context)


def _automation_rows(request: HttpRequest, registry: Registry) -> list[Automation]:
    """The registry's automations with their latest run (subqueries, so one query in all)."""
    latest = AutomationRun.objects.filter(automation=OuterRef("pk")).order_by("-id")
    return list(
        Automation.objects.visible_to(request.user)
        .filter(registry=registry)
        .select_related("collection", "webhook", "created_by")
        .annotate(
            last_run_status=Subquery(latest.values("status")[:1]),
            last_run_at=Subquery(latest.values("created_at")[:1]),
        )
        .order_by("name")
    )


def _fields(form) -> dict:
    fields = {**form.cleaned_data, "cooldown_seconds": form.cleaned_data["cooldown_seconds"] or 0}
    fields.pop("scope", None)
    fields.pop("team", None)
    return fields


def _org_actions(request: HttpRequest, org: Organization):
    """The webhooks and Slack channels an automation of `org` may use."""
    return Webhook.objects.visible_to(request.user).filter(org=org)


def _manageable_collections(request: HttpRequest, registry: Registry):
    """Collections a writer of `registry` may scope an automation to (the view has checked the write)."""
    return Collection.objects.visible_to(request.user).filter(registry=registry)


def _fixed_collection(request: HttpRequest, registry: Registry) -> Collection | None:
    """`?collection=<pk>`: the create form's scope, fixed to that collection (404 if not in the registry)."""
    pk = request.GET.get("collection", "")
    if not pk:
        return None
    if not pk.isdigit():
        raise Http404
    return get_object_or_404(_manageable_collections(request, registry), pk=int(pk))


def _automation_form(request: HttpRequest, registry: Registry, fixed=None, **kwargs) -> AutomationForm:
    return AutomationForm(
        request.POST or None,
        registry=registry,
        webhooks=_org_actions(request, registry.org),
        collections=_manageable_collections(request, registry),
        fixed_collection=fixed,
        **kwargs,
    )


# --- registry automations ----------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def automation_list(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """A registry's automations: event, scope, webhook, last run; Members and Admins manage them."""
    registry = _registry(request, org_slug, reg_slug)
    context = {"registry": registry, "automations": _automation_rows(request, registry)}
    context["can_write"] = _can_write(request, registry)
    if context["can_write"]:  # the "Create automation" dialog
        context["form"] = AutomationForm(
            registry=registry,
            webhooks=_org_actions(request, registry.org),
            collections=_manageable_collections(request, registry),
        )
    template = "automations/automation_list.html" + ("#automation-table" if request.htmx else "")
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def automation_create(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Create a registry automation; `?collection=<pk>` fixes its scope to that collection."""
    registry = _registry(request, org_slug, reg_slug)
    require(request.user, "registries.write_registry", registry)
    fixed = _fixed_collection(request, registry)
    form = _automation_form(request, registry, fixed)
    if form.is_valid():
        try:
            automation = services.create_automation(actor=request.user, registry=registry, **_fields(form))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            url = (
                fixed.get_absolute_url() if fixed else reverse("automations:automation_list", args=[org_slug, reg_slug])
            )
            return done(request, url, f"Automation “{automation.name}” created.")
    context = {"registry": registry, "form": form, "has_webhooks": form.fields["webhook"].queryset.exists()}
    context["fixed_collection"] = fixed
    if fixed is not None:
        context["form_action"] = (
            reverse("automations:automation_create", args=[org_slug, reg_slug]) + f"?collection={fixed.pk}"
        )
    template = "automations/automation_form.html" + ("#automation-form" if request.htmx else "")
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def automation_edit(request: HttpRequest, org_slug: str, reg_slug: str, pk: int) -> HttpResponse:
    registry = _registry(request, org_slug, reg_slug)
    automation = _automation(request, registry, pk)
    require(request.user, "registries.write_registry", registry)
    form = _automation_form(request, registry, initial=AutomationForm.initial_for(automation))
    return _edit_page(request, automation, form, "automations/automation_form.html", registry=registry)


def _edit_page(request: HttpRequest, automation: Automation, form, template: str, **context) -> HttpResponse:
    """Save an automation's edit form if it was sent and is valid; else the form page (or its htmx fragment)."""
    if form.is_valid():
        try:
            services.update_automation(actor=request.user, automation=automation, **_fields(form))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return done(request, automation.get_absolute_url(), f"Automation “{automation.name}” saved.")
    context.update(form=form, automation=automation, has_webhooks=True)
    return render(request, template + ("#automation-form" if request.htmx else ""), context)


@require_POST
@vary_on_headers("HX-Request")
def automation_toggle(request: HttpRequest, org_slug: str, reg_slug: str, pk: int) -> HttpResponse:
    """Turn an automation on or off; htmx gets the table back."""
    registry = _registry(request, org_slug, reg_slug)
    automation = _automation(request, registry, pk)
    require(request.user, "registries.write_registry", registry)
    services.set_automation_enabled(actor=request.user, automation=automation, enabled=not automation.enabled)
    if not request.htmx:
        return redirect("automations:automation_list", org_slug, reg_slug)
    context = {"registry": registry, "automations": _automation_rows(request, registry), "can_write": True}
    return render(request, "automations/automation_list.html#automation-table", context)


@require_http_methods(["GET", "POST"])
def automation_delete(request: HttpRequest, org_slug: str, reg_slug: str, pk: int) -> HttpResponse:
    """Confirm, then delete an automation and its history."""
    registry = _registry(request, org_slug, reg_slug)
    automation = _automation(request, registry, pk)
    require(request.user, "registries.write_registry", registry)
    if request.method == "POST":
        services.delete_automation(actor=request.user, automation=automation)
        url = reverse("automations:automation_list", args=[org_slug, reg_slug])
        return done(request, url, f"Automation “{automation.name}” deleted.")
    return render(request, "automations/automation_delete.html", {"registry": registry, "automation": automation})


@require_GET
@vary_on_headers("HX-Request")
def automation_history(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Every run of the registry's automations, newest first (keyset pages)."""
    registry = _registry(request, org_slug, reg_slug)
    # The registry's own automations (organization and team ones have their own pages).
    runs = (
        AutomationRun.objects.visible_to(request.user)
        .filter(registry=registry, automation__registry=registry)
        .select_related("automation")
    )
    rows, next_cursor = _runs_page(runs, request.GET.get("before"))
    context = {
        "registry": registry,
        "runs": rows,
        "next_cursor": next_cursor,
        "can_write": _can_write(request, registry),
    }
    template = "automations/automation_history.html" + ("#run-table" if request.htmx else "")
    return render(request, template, context)


@require_GET
@vary_on_headers("HX-Request")
def automation_detail(request: HttpRequest, org_slug: str, reg_slug: str, pk: int) -> HttpResponse:
    """One automation: its settings and its runs, newest first."""
    registry = _registry(request, org_slug, reg_slug)
    automation = _automation(request, registry, pk)
    can_write = _can_write(request, registry)
    return _detail_page(request, "automations/automation_detail.html", automation, can_write, registry=registry)


@require_POST
def run_replay(request: HttpRequest, org_slug: str, reg_slug: str, run_pk: int) -> HttpResponse:
    """Send a run's event again, as a new run."""
    registry = _registry(request, org_slug, reg_slug)
    run = get_object_or_404(
        AutomationRun.objects.visible_to(request.user).select_related("automation"),
        registry=registry,
        automation__registry=registry,
        pk=run_pk,
    )
    run.automation.registry = registry
    require(request.user, "registries.write_registry", registry)
    replay = services.replay_run(actor=request.user, run=run)
    url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        url = reverse("automations:automation_history", args=[org_slug, reg_slug])
    return done(request, url, f"Replay queued as run #{replay.pk}.")


# --- a collection's automations (the panel its page loads, the picker, the notify switch) ---------


def _collection(request: HttpRequest, registry: Registry, pk: int) -> Collection:
    collection = get_object_or_404(_manageable_collections(request, registry), pk=pk)
    collection.registry = registry
    return collection


def _collection_panel_context(request: HttpRequest, registry: Registry, collection: Collection) -> dict:
    """Automations scoped to the collection (with their last run) and run counts for its events (2 queries)."""
    latest = AutomationRun.objects.filter(automation=OuterRef("pk")).order_by("-id")
    automations = list(
        Automation.objects.visible_to(request.user)
        .filter(collection=collection)
        .select_related("webhook")
        .annotate(last_run_status=Subquery(latest.values("status")[:1]))
        .order_by("name")
    )
    counts = (
        AutomationRun.objects.visible_to(request.user)
        .filter(registry=registry, event__collection_pk=collection.pk)
        .aggregate(
            total=Count("pk"),
            finished=Count("pk", filter=Q(status=RunStatus.FINISHED)),
            failed=Count("pk", filter=Q(status=RunStatus.FAILED)),
        )
    )
    can_write = _can_write(request, registry)
    notification = next((a for a in automations if a.is_new_version_notification), None)
    context = {
        "registry": registry,
        "collection": collection,
        "automations": automations,
        "run_counts": counts,
        "can_write": can_write,
        "notification": notification,
    }
    if can_write:
        context["actions"] = list(_org_actions(request, registry.org).order_by("kind", "name"))
    return context


@require_GET
@vary_on_headers("HX-Request")
def collection_automations(request: HttpRequest, org_slug: str, reg_slug: str, pk: int) -> HttpResponse:
    """The Automations panel of a collection's page: its automations, run counts, the notify switch."""
    registry = _registry(request, org_slug, reg_slug)
    collection = _collection(request, registry, pk)
    context = _collection_panel_context(request, registry, collection)
    template = "automations/collection_automations.html" + ("#collection-automations" if request.htmx else "")
    return render(request, template, context)


@require_POST
@vary_on_headers("HX-Request")
def collection_notify(request: HttpRequest, org_slug: str, reg_slug: str, pk: int) -> HttpResponse:
    """Turn the collection's "notify on new version" on (to the chosen Slack channel or webhook) or off."""
    registry = _registry(request, org_slug, reg_slug)
    collection = _collection(request, registry, pk)
    require(request.user, "registries.write_registry", registry)
    enabled = request.POST.get("enabled") == "on"
    action = None
    if enabled:
        action_pk = request.POST.get("action", "")
        action = _org_actions(request, registry.org).filter(pk=int(action_pk)).first() if action_pk.isdigit() else None
    error = ""
    try:
        services.set_new_version_notification(actor=request.user, collection=collection, action=action, enabled=enabled)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(collection.get_absolute_url())
    context = _collection_panel_context(request, registry, collection)
    context["notify_error"] = error
    return render(request, "automations/collection_automations.html#collection-automations", context)


@require_GET
def collection_options(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """The collection picker's options for a search (htmx): the first matches by name."""
    registry = _registry(request, org_slug, reg_slug)
    require(request.user, "registries.write_registry", registry)
    query = request.GET.get("q", "").strip()[:128]
    options = _manageable_collections(request, registry).filter(name__icontains=query).order_by("name")
    context = {"options": options.values_list("pk", "name")[:COLLECTION_OPTIONS]}
    return render(request, "automations/_collection_options.html", context)


# --- the organization's Automations hub, and team and organization automations --------------------

HUB_PAGE_SIZE = 50


def _org(request: HttpRequest, org_slug: str) -> Organization:
    return get_object_or_404(Organization.objects.visible_to(request.user), slug=org_slug)


def _hub_rows(request: HttpRequest, org: Organization):
    """Every automation of `org` the user may see, with its last run and run counts (subqueries: one query)."""
    runs = AutomationRun.objects.filter(automation=OuterRef("pk"))
    latest = runs.order_by("-id")

    def count(**filters):
        counted = runs.filter(**filters).order_by().values("automation").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted), 0)

    return (
        Automation.objects.visible_to(request.user)
        .filter(org=org)
        .select_related("org", "registry", "collection", "team", "webhook")
        .annotate(
            last_run_status=Subquery(latest.values("status")[:1]),
            last_run_at=Subquery(latest.values("created_at")[:1]),
            finished_runs=count(status=RunStatus.FINISHED),
            failed_runs=count(status=RunStatus.FAILED),
        )
    )


@require_GET
@vary_on_headers("HX-Request")
def automation_hub(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's Automations hub: every automation the user may see (keyset pages, newest first)."""
    org = _org(request, org_slug)
    rows = _hub_rows(request, org)
    scope = request.GET.get("scope", "")
    if scope in Scope.values:
        rows = rows.filter(scope=scope)
    order = ("-pk",)
    try:
        after = decode_cursor(request.GET["after"], rows, order) if request.GET.get("after") else None
    except ValidationError:
        after = None  # a cursor this server did not hand out: the first page, as on the registry page
    page = keyset_page(rows, order=order, size=HUB_PAGE_SIZE, after=after)
    context = {
        "org": org,
        "page": page,
        "scope": scope,
        "scopes": Scope.choices,
        "can_create": has_perm(request.user, "orgs.admin_organization", org)
        or managed_teams(request.user).filter(org=org).exists(),
    }
    template = "automations/automation_hub.html" + ("#hub-table" if request.htmx else "")
    return render(request, template, context)


def _org_automation(request: HttpRequest, org: Organization, pk: int) -> Automation:
    """A team or organization automation of `org` the user may see (registry ones have registry pages)."""
    return get_object_or_404(
        Automation.objects.visible_to(request.user).select_related("org", "team", "webhook"),
        org=org,
        registry__isnull=True,
        pk=pk,
    )


def _can_manage(request: HttpRequest, automation: Automation) -> bool:
    try:
        services.require_manage(request.user, org=automation.org, team=automation.team)
    except PermissionDenied:
        return False
    return True


def _org_form(request: HttpRequest, org: Organization, **kwargs) -> OrgAutomationForm:
    return OrgAutomationForm(
        request.POST or None,
        webhooks=_org_actions(request, org),
        teams=managed_teams(request.user).filter(org=org).order_by("name"),
        org_admin=has_perm(request.user, "orgs.admin_organization", org),
        **kwargs,
    )


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def org_automation_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Create an automation for a team's projects (its members) or the whole organization (org admins)."""
    org = _org(request, org_slug)
    form = _org_form(request, org, initial={"scope": request.GET.get("scope", Scope.ORGANIZATION)})
    if form.is_valid():
        data = form.cleaned_data
        scope = {"team": data["team"]} if data["scope"] == Scope.TEAM else {"org": org}
        try:
            automation = services.create_automation(actor=request.user, **scope, **_fields(form))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return done(request, automation.get_absolute_url(), f"Automation “{automation.name}” created.")
    elif request.method == "GET" and not form.fields["team"].queryset.exists():
        require(request.user, "orgs.admin_organization", org)  # neither an org admin nor in a team: 403
    context = {"org": org, "form": form, "has_webhooks": form.fields["webhook"].queryset.exists()}
    template = "automations/org_automation_form.html" + ("#automation-form" if request.htmx else "")
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def org_automation_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = _org(request, org_slug)
    automation = _org_automation(request, org, pk)
    services.require_manage(request.user, org=org, team=automation.team)
    initial = {**OrgAutomationForm.initial_for(automation), "scope": automation.scope, "team": automation.team_id}
    form = _org_form(request, org, initial=initial)
    form.fields["scope"].disabled = form.fields["team"].disabled = True  # the scope stays
    return _edit_page(request, automation, form, "automations/org_automation_form.html", org=org)


@require_GET
@vary_on_headers("HX-Request")
def org_automation_detail(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """A team or organization automation: its settings and its runs, newest first."""
    org = _org(request, org_slug)
    automation = _org_automation(request, org, pk)
    can_write = _can_manage(request, automation)
    return _detail_page(request, "automations/org_automation_detail.html", automation, can_write, org=org)


@require_POST
def org_automation_toggle(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = _org(request, org_slug)
    automation = _org_automation(request, org, pk)
    services.set_automation_enabled(actor=request.user, automation=automation, enabled=not automation.enabled)
    state = "on" if automation.enabled else "off"
    return done(request, automation.get_absolute_url(), f"Automation “{automation.name}” turned {state}.")


@require_http_methods(["GET", "POST"])
def org_automation_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = _org(request, org_slug)
    automation = _org_automation(request, org, pk)
    services.require_manage(request.user, org=org, team=automation.team)
    if request.method == "POST":
        services.delete_automation(actor=request.user, automation=automation)
        url = reverse("automations:automation_hub", args=[org_slug])
        return done(request, url, f"Automation “{automation.name}” deleted.")
    return render(request, "automations/automation_delete.html", {"org": org, "automation": automation})


@require_POST
def org_run_replay(request: HttpRequest, org_slug: str, run_pk: int) -> HttpResponse:
    org = _org(request, org_slug)
    run = get_object_or_404(
        AutomationRun.objects.visible_to(request.user).select_related("automation__org", "automation__team"),
        automation__org=org,
        automation__registry__isnull=True,
        pk=run_pk,
    )
    replay = services.replay_run(actor=request.user, run=run)
    return done(request, run.automation.get_absolute_url(), f"Replay queued as run #{replay.pk}.")


# --- organization settings: webhooks ---------------------------------------------------------------


def _webhook_page(
    request: HttpRequest, org: Organization, form: WebhookForm, slack_form: SlackChannelForm | None = None
) -> HttpResponse:
    webhooks = org.webhooks.select_related("access_token", "signing_secret", "url_secret", "created_by").order_by(
        "kind", "name"
    )
    context = {"org": org, "webhooks": webhooks, "form": form, "slack_form": slack_form or SlackChannelForm()}
    return render(request, "automations/webhook_list.html", context)


def _org_secrets(request: HttpRequest, org: Organization):
    return Secret.objects.visible_to(request.user).filter(org=org).order_by("name")


@require_GET
def webhook_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's webhooks, with a form for a new one (org admins)."""
    org = _admin_org(request, org_slug)
    return _webhook_page(request, org, WebhookForm(secrets=_org_secrets(request, org)))


@require_POST
def webhook_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = _admin_org(request, org_slug)
    form = WebhookForm(request.POST, secrets=_org_secrets(request, org))
    if form.is_valid():
        try:
            webhook = services.create_webhook(actor=request.user, org=org, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return done(
                request, reverse("automations:webhook_list", args=[org_slug]), f"Webhook “{webhook.name}” created."
            )
    return _webhook_page(request, org, form)


@require_POST
def slack_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Connect a Slack channel by its incoming-webhook URL (org admins)."""
    org = _admin_org(request, org_slug)
    form = SlackChannelForm(request.POST)
    if form.is_valid():
        # Links in its messages point here unless settings.SITE_URL says otherwise.
        site_url = request.build_absolute_uri("/").rstrip("/")
        try:
            channel = services.create_slack_channel(actor=request.user, org=org, site_url=site_url, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            url = reverse("automations:webhook_list", args=[org_slug])
            return done(request, url, f"Slack channel “{channel.name}” connected.")
    return _webhook_page(request, org, WebhookForm(secrets=_org_secrets(request, org)), form)


@require_POST
def webhook_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = _admin_org(request, org_slug)
    webhook = get_object_or_404(Webhook.objects.visible_to(request.user), org=org, pk=pk)
    url = reverse("automations:webhook_list", args=[org_slug])
    try:
        services.delete_webhook(actor=request.user, webhook=webhook)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return done(request, url, f"Webhook “{webhook.name}” deleted.")


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def webhook_test(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Send a test payload now and show what the endpoint answered."""
    org = _admin_org(request, org_slug)
    webhook = get_object_or_404(
        Webhook.objects.visible_to(request.user).select_related("access_token", "signing_secret"), org=org, pk=pk
    )
    form = WebhookTestForm(request.POST or None)
    result = None
    if form.is_valid():
        try:
            result = services.send_test_webhook(
                actor=request.user, webhook=webhook, payload=form.cleaned_data["payload"]
            )
        except ValidationError as error:
            add_service_error(form, error)
    template = "automations/webhook_test.html" + ("#webhook-test" if request.htmx else "")
    return render(request, template, {"org": org, "webhook": webhook, "form": form, "result": result})


# --- organization settings: secrets ----------------------------------------------------------------


def _secret_page(request: HttpRequest, org: Organization, form: SecretForm) -> HttpResponse:
    secrets = _org_secrets(request, org).select_related("created_by")
    context = {"org": org, "secrets": secrets, "form": form, "value_form": SecretValueForm()}
    return render(request, "automations/secret_list.html", context)


@require_GET
def secret_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's secrets: names only, values are never shown after saving (org admins)."""
    org = _admin_org(request, org_slug)
    return _secret_page(request, org, SecretForm())


@require_POST
def secret_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = _admin_org(request, org_slug)
    form = SecretForm(request.POST)
    if form.is_valid():
        try:
            secret = services.create_secret(actor=request.user, org=org, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return done(request, reverse("automations:secret_list", args=[org_slug]), f"Secret {secret.name} saved.")
    return _secret_page(request, org, form)


@require_POST
def secret_update(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Replace a secret's value."""
    org = _admin_org(request, org_slug)
    secret = get_object_or_404(_org_secrets(request, org), pk=pk)
    form = SecretValueForm(request.POST)
    url = reverse("automations:secret_list", args=[org_slug])
    if not form.is_valid():
        messages.error(request, "Enter the new value.")
        return redirect(url)
    services.update_secret(actor=request.user, secret=secret, value=form.cleaned_data["value"])
    return done(request, url, f"Secret {secret.name} updated.")


@require_POST
def secret_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = _admin_org(request, org_slug)
    secret = get_object_or_404(_org_secrets(request, org), pk=pk)
    url = reverse("automations:secret_list", args=[org_slug])
    try:
        services.delete_secret(actor=request.user, secret=secret)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return done(request, url, f"Secret {secret.name} deleted.")


@csrf_exempt
@login_not_required
@require_POST
def demo_receiver(request: HttpRequest) -> HttpResponse:
    """A webhook receiver for the demo (`make run`), so its automation fires without network. DEBUG only."""
    if not settings.DEBUG:
        raise Http404
    logger.info("Demo receiver got %s bytes: %s", len(request.body), request.body[:500].decode(errors="replace"))
    return JsonResponse({"received": len(request.body), "signed": "X-Wandb-Signature" in request.headers})
