"""Automation pages of a registry, and the organization's webhook and secret settings."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from apps.automations import services
from apps.automations.forms import AutomationForm, SecretForm, SecretValueForm, WebhookForm, WebhookTestForm
from apps.automations.models import Automation, AutomationRun, Secret, Webhook
from apps.orgs.models import Organization
from apps.orgs.permissions import has_perm, require
from apps.registries.models import Registry
from lib.forms import add_service_error
from lib.htmx import done
from lib.pagination import keyset_page

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


def _fields(form: AutomationForm) -> dict:
    return {
        **form.cleaned_data,
        "cooldown_seconds": form.cleaned_data["cooldown_seconds"] or 0,
    }


# --- registry automations ----------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def automation_list(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """A registry's automations: event, scope, webhook, last run; Members and Admins manage them."""
    registry = _registry(request, org_slug, reg_slug)
    context = {"registry": registry, "automations": _automation_rows(request, registry)}
    context["can_write"] = _can_write(request, registry)
    if context["can_write"]:  # the "Create automation" dialog
        webhooks = Webhook.objects.visible_to(request.user).filter(org=registry.org)
        context["form"] = AutomationForm(registry=registry, webhooks=webhooks)
    template = "automations/automation_list.html" + ("#automation-table" if request.htmx else "")
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def automation_create(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    registry = _registry(request, org_slug, reg_slug)
    require(request.user, "registries.write_registry", registry)
    webhooks = Webhook.objects.visible_to(request.user).filter(org=registry.org)
    form = AutomationForm(request.POST or None, registry=registry, webhooks=webhooks)
    if form.is_valid():
        try:
            automation = services.create_automation(actor=request.user, registry=registry, **_fields(form))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            url = reverse("automations:automation_list", args=[org_slug, reg_slug])
            return done(request, url, f"Automation “{automation.name}” created.")
    context = {"registry": registry, "form": form, "has_webhooks": webhooks.exists()}
    template = "automations/automation_form.html" + ("#automation-form" if request.htmx else "")
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def automation_edit(request: HttpRequest, org_slug: str, reg_slug: str, pk: int) -> HttpResponse:
    registry = _registry(request, org_slug, reg_slug)
    automation = _automation(request, registry, pk)
    require(request.user, "registries.write_registry", registry)
    webhooks = Webhook.objects.visible_to(request.user).filter(org=registry.org)
    initial = AutomationForm.initial_for(automation)
    form = AutomationForm(request.POST or None, initial=initial, registry=registry, webhooks=webhooks)
    if form.is_valid():
        try:
            services.update_automation(actor=request.user, automation=automation, **_fields(form))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return done(request, automation.get_absolute_url(), f"Automation “{automation.name}” saved.")
    context = {"registry": registry, "form": form, "automation": automation, "has_webhooks": True}
    template = "automations/automation_form.html" + ("#automation-form" if request.htmx else "")
    return render(request, template, context)


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
    runs = AutomationRun.objects.visible_to(request.user).filter(registry=registry).select_related("automation")
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
    runs = AutomationRun.objects.visible_to(request.user).filter(automation=automation).select_related("automation")
    rows, next_cursor = _runs_page(runs, request.GET.get("before"))
    context = {
        "registry": registry,
        "automation": automation,
        "runs": rows,
        "next_cursor": next_cursor,
        "can_write": _can_write(request, registry),
    }
    template = "automations/automation_detail.html" + ("#run-table" if request.htmx else "")
    return render(request, template, context)


@require_POST
def run_replay(request: HttpRequest, org_slug: str, reg_slug: str, run_pk: int) -> HttpResponse:
    """Send a run's event again, as a new run."""
    registry = _registry(request, org_slug, reg_slug)
    run = get_object_or_404(
        AutomationRun.objects.visible_to(request.user).select_related("automation"), registry=registry, pk=run_pk
    )
    run.automation.registry = registry
    require(request.user, "registries.write_registry", registry)
    replay = services.replay_run(actor=request.user, run=run)
    url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        url = reverse("automations:automation_history", args=[org_slug, reg_slug])
    return done(request, url, f"Replay queued as run #{replay.pk}.")


# --- organization settings: webhooks ---------------------------------------------------------------


def _webhook_page(request: HttpRequest, org: Organization, form: WebhookForm) -> HttpResponse:
    webhooks = org.webhooks.select_related("access_token", "signing_secret", "created_by").order_by("name")
    return render(request, "automations/webhook_list.html", {"org": org, "webhooks": webhooks, "form": form})


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
