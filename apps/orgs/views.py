"""Site-wide pages: home, the org switcher, and the context every page's shell needs."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from apps.orgs.models import Organization


def shell_context(request: HttpRequest) -> dict:
    """The app shell's data: the user's organizations, the current one, and whether Registry is on (≤ 1 query)."""
    user = getattr(request, "user", None)
    context = {"registry_ui_enabled": settings.ENABLE_REGISTRY_UI}
    if user is None or not user.is_authenticated:
        return context
    orgs = list(Organization.objects.visible_to(user).only("slug", "name"))
    match = getattr(request, "resolver_match", None)
    current_slug = match.kwargs.get("org_slug") if match else None
    current = next((org for org in orgs if org.slug == current_slug), orgs[0] if orgs else None)
    context.update(
        shell_orgs=orgs,
        shell_org=current,
        shell_in_registry=bool(match and {"registries", "collections"} & set(match.namespaces)),
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
