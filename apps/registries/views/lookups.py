"""Lookups every registry page starts from: the organization and registry the URL names, if visible."""

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from apps.orgs.models import Organization
from apps.orgs.permissions import held_perms
from apps.registries.models import Registry


def org_or_404(request: HttpRequest, org_slug: str) -> Organization:
    return get_object_or_404(Organization.objects.visible_to(request.user), slug=org_slug)


def registry_or_404(request: HttpRequest, org_slug: str, reg_slug: str) -> Registry:
    """The registry, if the user may view it (the permission query is the one the page's checks reuse)."""
    registry = get_object_or_404(
        Registry.objects.with_starred(request.user).select_related("org", "owner__service_account"),
        org__slug=org_slug,
        slug=reg_slug,
    )
    if not registry.is_visible_to(request.user):
        raise Http404("No Registry matches the given query.")
    return registry


def registry_actions(request: HttpRequest, registry: Registry) -> set[str]:
    """The user's registry actions (view, download, write, admin) in one permission query."""
    return {codename.split("_", 1)[0] for codename in held_perms(request.user, registry)}
