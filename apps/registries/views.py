"""Registry pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from apps.orgs.models import Organization
from apps.registries.models import Registry


@require_GET
def landing(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = get_object_or_404(Organization.objects.visible_to(request.user), slug=org_slug)
    registries = Registry.objects.visible_to(request.user).filter(org=org).core_first()
    return render(request, "registries/landing.html", {"org": org, "registries": registries})


@require_GET
def registry_detail(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    registry = get_object_or_404(
        Registry.objects.visible_to(request.user).select_related("org"), org__slug=org_slug, slug=reg_slug
    )
    return render(request, "registries/registry_detail.html", {"org": registry.org, "registry": registry})
