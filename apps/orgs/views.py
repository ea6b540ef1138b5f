"""Site-wide pages: home, and the context every page's shell needs."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.orgs.models import Organization


def shell_context(request: HttpRequest) -> dict:
    """The app shell's data: the user's organizations and whether Registry is on."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"registry_ui_enabled": settings.ENABLE_REGISTRY_UI}
    return {
        "registry_ui_enabled": settings.ENABLE_REGISTRY_UI,
        "shell_orgs": list(Organization.objects.visible_to(user).only("slug", "name")),
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Send people to their first organization's registry, or show what they can do."""
    org = Organization.objects.visible_to(request.user).first()
    if org is not None and settings.ENABLE_REGISTRY_UI:
        return redirect(org.get_absolute_url())
    return render(request, "orgs/home.html", {"org": org})
