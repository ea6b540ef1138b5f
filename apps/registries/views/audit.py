"""The registry's Audit log tab and its export."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from apps.audit.models import AuditEvent
from apps.audit.views import audit_page_context, export_response
from apps.orgs.models import ACTOR_KIND
from apps.registries.views.lookups import registry_or_404


@require_GET
@vary_on_headers("HX-Request")
def registry_audit(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Everything that changed in this registry, for everyone who can see it."""
    registry = registry_or_404(request, org_slug, reg_slug)
    context = {
        "org": registry.org,
        "registry": registry,
        "export_url": reverse("registries:registry_audit_export", args=[org_slug, reg_slug]),
        # The actor's service-account row comes in the same query: the table badges service accounts.
        **audit_page_context(request, AuditEvent.objects.for_registry(registry.pk).select_related(ACTOR_KIND)),
    }
    template = "audit/_events.html" if request.htmx else "registries/registry_audit.html"
    return render(request, template, context)


@require_GET
def registry_audit_export(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """The registry's filtered audit events as streamed CSV or NDJSON."""
    registry = registry_or_404(request, org_slug, reg_slug)
    return export_response(request, AuditEvent.objects.for_registry(registry.pk), f"audit-{registry.slug}")
