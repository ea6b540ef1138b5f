"""Site-wide pages: home, the org switcher, the org audit log, and the context every page's shell needs."""

import datetime as dt
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.audit.models import AuditEvent
from apps.audit.views import audit_page_context, export_response
from apps.orgs.api import api_key_user
from apps.orgs.forms import ApiKeyCreateForm
from apps.orgs.models import ACTOR_KIND, ApiKey, Organization
from apps.orgs.permissions import require
from apps.orgs.services import create_api_key, revoke_api_key


def shell_context(request: HttpRequest) -> dict:
    """The app shell's data: the user's organizations, the current one, and whether Registry is on (≤ 1 query)."""
    user = getattr(request, "user", None)
    context = {"registry_ui_enabled": settings.ENABLE_REGISTRY_UI}
    if user is None or not user.is_authenticated:
        return context
    # visible_to() joins the user's memberships; annotating after it reads the role from that same row.
    orgs = list(Organization.objects.visible_to(user).only("slug", "name").annotate(my_role=F("memberships__role")))
    match = getattr(request, "resolver_match", None)
    current_slug = match.kwargs.get("org_slug") if match else None
    current = next((org for org in orgs if org.slug == current_slug), orgs[0] if orgs else None)
    context.update(
        shell_orgs=orgs,
        shell_org=current,
        shell_in_registry=bool(match and {"registries", "collections", "automations"} & set(match.namespaces)),
    )
    return context


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Send people to their first organization's registry, or show what they can do."""
    org = Organization.objects.visible_to(request.user).first()
    if org is not None and settings.ENABLE_REGISTRY_UI:
        return redirect(org.get_absolute_url())
    return render(request, "orgs/home.html", {"org": org})


@require_GET
def org_switch(request: HttpRequest) -> HttpResponse:
    """Open another of the user's organizations (the sidebar's org switcher)."""
    org = get_object_or_404(Organization.objects.visible_to(request.user), slug=request.GET.get("org", ""))
    if settings.ENABLE_REGISTRY_UI:
        return redirect(org.get_absolute_url())
    return redirect("home")


# --- audit -----------------------------------------------------------------------------------


def _admin_org(request: HttpRequest, org_slug: str) -> Organization:
    org = get_object_or_404(Organization.objects.visible_to(request.user), slug=org_slug)
    require(request.user, "orgs.admin_organization", org)
    return org


@require_GET
@vary_on_headers("HX-Request")
def org_audit(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's whole audit log, for its admins."""
    org = _admin_org(request, org_slug)
    context = {
        "org": org,
        "export_url": reverse("org_audit_export", args=[org.slug]),
        **audit_page_context(
            request, AuditEvent.objects.visible_to(request.user).filter(org=org).select_related(ACTOR_KIND)
        ),
    }
    return render(request, "audit/_events.html" if request.htmx else "orgs/org_audit.html", context)


@require_GET
def org_audit_export(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's filtered audit events as streamed CSV or NDJSON."""
    org = _admin_org(request, org_slug)
    return export_response(request, AuditEvent.objects.visible_to(request.user).filter(org=org), f"audit-{org.slug}")


AUDIT_LOGS_MAX = 20_000


def _json_error(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


@login_not_required
@require_GET
def audit_logs(request: HttpRequest) -> HttpResponse:
    """W&B-compatible `GET /admin/audit_logs` for org admins (spec §5), plus our registry actions.

    `startDate`/`endDate` (YYYY-MM-DD, end inclusive) or `numDays` (default 1) choose the range; with
    `limit` (≤ 20,000) or `cursor` the answer is one JSON page, otherwise an NDJSON stream of the range.
    """
    user = request.user if request.user.is_authenticated else api_key_user(request)
    if user is None:
        return _json_error("Authentication required: an API key (Bearer or Basic api:<key>).", 401)
    administered = Organization.objects.administered_by(user)
    events = AuditEvent.objects.visible_to(user)
    if request.GET.get("org"):
        administered = administered.filter(slug=request.GET["org"])
        events = events.filter(org__slug=request.GET["org"])
    if not administered.exists():
        return _json_error("Only organization admins can read audit logs.", 403)
    try:
        now = timezone.now()
        num_days = int(request.GET.get("numDays") or 1)
        start_date = request.GET.get("startDate")
        end_date = request.GET.get("endDate")
        if start_date:
            start = dt.datetime.combine(dt.date.fromisoformat(start_date), dt.time.min, tzinfo=dt.UTC)
            end = (
                dt.datetime.combine(dt.date.fromisoformat(end_date) + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
                if end_date
                else min(now, start + dt.timedelta(days=num_days))
            )
        else:
            end, start = now, now - dt.timedelta(days=num_days)
        limit = int(request.GET["limit"]) if request.GET.get("limit") else None
        cursor = int(request.GET["cursor"]) if request.GET.get("cursor") else None
    except ValueError:
        return _json_error("startDate/endDate must be YYYY-MM-DD; numDays, limit and cursor integers.", 400)
    if num_days < 1 or (limit is not None and not 1 <= limit <= AUDIT_LOGS_MAX):
        return _json_error(f"numDays must be ≥ 1 and limit between 1 and {AUDIT_LOGS_MAX}.", 400)
    if start >= end:
        return _json_error("startDate must be before endDate.", 400)
    anonymize = request.GET.get("anonymize", "").lower() in {"1", "true", "yes"}
    events = events.matching(start=start, end=end).select_related("actor")
    if limit is None and cursor is None:
        rows = (json.dumps(e.as_wandb(anonymize), default=str) + "\n" for e in events.order_by("-id").iterator(2000))
        return StreamingHttpResponse(rows, content_type="application/x-ndjson")
    page, next_cursor = events.page(cursor, limit or 1000)
    return JsonResponse(
        {
            "audit_logs": [e.as_wandb(anonymize) for e in page],
            "range_start_time": start.isoformat().replace("+00:00", "Z"),
            "range_end_time": end.isoformat().replace("+00:00", "Z"),
            "count": len(page),
            "next_cursor": str(next_cursor) if next_cursor else None,
        },
        json_dumps_params={"default": str},
    )


# --- API keys --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """The user's API keys: create one (its secret is shown once, now) and see the others."""
    form = ApiKeyCreateForm(request.POST or None)
    new_secret = None
    if form.is_valid():
        try:
            _, new_secret = create_api_key(actor=request.user, user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error.messages[0])
        else:
            form = ApiKeyCreateForm()
    keys = ApiKey.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    context = {"form": form, "keys": keys, "new_secret": new_secret, "base_url": request.build_absolute_uri("/")}
    return render(request, "orgs/api_keys.html", context)


@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke one of the user's own keys."""
    key = get_object_or_404(ApiKey.objects.filter(user=request.user, revoked_at__isnull=True), pk=key_id)
    revoke_api_key(actor=request.user, key=key)
    messages.success(request, f"Key “{key.name}” revoked. Scripts using it now get 401.")
    return redirect("api_keys")
