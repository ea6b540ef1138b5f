"""Create a registry, star it, and the switch between the new Registry and the legacy Model Registry."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRefresh

from apps.orgs.models import RegistryUI
from apps.orgs.permissions import require
from apps.orgs.services import set_registry_ui_preference
from apps.registries import forms
from apps.registries import services as registry_services
from apps.registries.views.lookups import org_or_404, registry_or_404
from lib.forms import add_service_error
from lib.htmx import done


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def registry_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Create a custom registry (the landing's dialog posts here; also a page without JavaScript)."""
    org = org_or_404(request, org_slug)
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
            add_service_error(form, error)
        else:
            return done(request, registry.get_absolute_url(), f"Registry “{registry.name}” created.")
    template = "registries/registry_create.html" + ("#create-registry-form" if request.htmx else "")
    return render(request, template, {"org": org, "form": form})


@require_POST
@vary_on_headers("HX-Request")
def registry_star(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Star or unstar the registry for oneself."""
    registry = registry_or_404(request, org_slug, reg_slug)
    starred = request.POST.get("starred") == "1"
    if starred:
        registry_services.star_registry(actor=request.user, registry=registry)
    else:
        registry_services.unstar_registry(actor=request.user, registry=registry)
    if request.POST.get("from") == "landing":  # a landing card: the registry moves in or out of Starred
        return HttpResponseClientRefresh() if request.htmx else redirect("collections:landing", registry.org.slug)
    if not request.htmx:
        return redirect(registry)
    context = {"org": registry.org, "registry": registry, "is_starred": starred}
    return render(request, "registries/_star_button.html", context)


@require_POST
def registry_ui_preference(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Remember the user's choice between the new Registry and the legacy Model Registry."""
    org = org_or_404(request, org_slug)
    choice = request.POST.get("registry_ui", "")
    try:
        set_registry_ui_preference(actor=request.user, registry_ui=choice)
    except ValidationError:
        messages.error(request, "Choose the new Registry or the legacy Model Registry.")
        return redirect("collections:landing", org.slug)
    if choice == RegistryUI.LEGACY:
        return redirect("registries:legacy_registry", org.slug)
    return redirect("collections:landing", org.slug)


@require_GET
def legacy_registry(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The legacy Model Registry: nothing was ever registered in it here."""
    org = org_or_404(request, org_slug)
    return render(request, "registries/legacy_registry.html", {"org": org})
