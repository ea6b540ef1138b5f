"""The registry settings page: general, visibility, types, protected aliases, members, danger zone."""

import functools

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.orgs.models import Team, member_suggestions
from apps.orgs.permissions import Role, require
from apps.registries import forms
from apps.registries import services as registry_services
from apps.registries.models import Registry, find_principal, registry_members
from apps.registries.views.lookups import registry_actions, registry_or_404
from lib.forms import add_service_error
from lib.htmx import done

SETTINGS_FORMS = {
    "description_form": lambda r: forms.DescriptionForm(initial={"description": r.description}),
    "rename_form": lambda r: forms.RenameForm(initial={"name": r.name}),
    "visibility_form": lambda r: forms.VisibilityForm(initial={"visibility": r.visibility}),
    "types_form": lambda r: forms.TypesForm(),
    "alias_form": lambda r: forms.ProtectedAliasForm(),
    "member_form": lambda r: forms.MemberAddForm(),
    "delete_form": lambda r: forms.DeleteForm(),
}


def _settings_context(request: HttpRequest, registry: Registry, **overrides) -> dict:
    """Everything the settings page shows; `overrides` replace forms (bound, with errors)."""
    can_admin = "admin" in registry_actions(request, registry)
    context = {
        "org": registry.org,
        "registry": registry,
        "can_admin": can_admin,
        "protected_aliases": list(registry.protected_aliases.all()),
        "members": registry_members(registry),
        "roles": Role.choices,
    }
    if can_admin:
        context.update({name: build(registry) for name, build in SETTINGS_FORMS.items()})
    context.update(overrides)
    return context


@require_GET
def registry_settings(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Settings: everyone who can view the registry sees them; only admins get the controls."""
    registry = registry_or_404(request, org_slug, reg_slug)
    return render(request, "registries/registry_settings.html", _settings_context(request, registry))


SUGGESTIONS = 20


@require_GET
def registry_settings_member_suggest(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """`<option>`s for the add-member field: the organization's users or teams whose name contains
    what was typed (registry admins only, like the form it serves)."""
    registry = registry_or_404(request, org_slug, reg_slug)
    require(request.user, "registries.admin_registry", registry)
    typed = request.GET.get("name", "").strip()[:150]
    if request.GET.get("kind") == "team":
        teams = Team.objects.filter(org=registry.org, name__icontains=typed).order_by("name")[:SUGGESTIONS]
        options = [(team.name, "Team") for team in teams]
    else:
        options = member_suggestions(registry.org, typed, SUGGESTIONS)
    # No request context: the options need none of the page's context processors (and their queries).
    return HttpResponse(render_to_string("registries/_member_suggestions.html", {"options": options}))


def settings_action(form_class, form_name: str, section: str, message: str):
    """Turn `action(request, registry, form)` into a settings POST endpoint.

    It looks the registry up (404 when invisible), requires admin (403), binds the form and, when
    the form is valid, calls the action, which calls one service. A ValidationError becomes a form
    error. The answer is the re-rendered section for htmx, a redirect back (PRG) otherwise, or the
    whole page with the errors. An action may return a response of its own (delete, rename).
    """

    def decorate(action):
        @require_POST
        @vary_on_headers("HX-Request")
        @functools.wraps(action)
        def view(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
            registry = registry_or_404(request, org_slug, reg_slug)
            require(request.user, "registries.admin_registry", registry)
            form = form_class(request.POST)
            if form.is_valid():
                try:
                    response = action(request, registry, form)
                except ValidationError as error:
                    add_service_error(form, error)
                else:
                    if response is not None:
                        return response
                    if not request.htmx:
                        url = reverse("registries:registry_settings", args=[org_slug, reg_slug])
                        return done(request, url, message)
                    context = _settings_context(request, registry, saved=message, saved_section=section)
                    return render(request, f"registries/registry_settings.html#{section}", context)
            context = _settings_context(request, registry, **{form_name: form})
            template = "registries/registry_settings.html" + (f"#{section}" if request.htmx else "")
            return render(request, template, context)

        return view

    return decorate


def _settings_url(registry: Registry) -> str:
    return reverse("registries:registry_settings", args=[registry.org.slug, registry.slug])


@settings_action(forms.DescriptionForm, "description_form", "settings-general", "Description saved.")
def registry_settings_description(request, registry, form):
    description = form.cleaned_data["description"]
    registry_services.update_registry_description(actor=request.user, registry=registry, description=description)


@settings_action(forms.RenameForm, "rename_form", "settings-general", "Registry renamed.")
def registry_settings_rename(request, registry, form):
    registry_services.rename_registry(actor=request.user, registry=registry, name=form.cleaned_data["name"])
    # The name is in the page title and breadcrumbs: reload the whole page.
    return done(request, _settings_url(registry), f"Renamed to “{registry.name}”.")


@settings_action(forms.VisibilityForm, "visibility_form", "settings-visibility", "Visibility changed.")
def registry_settings_visibility(request, registry, form):
    visibility = form.cleaned_data["visibility"]
    registry_services.change_registry_visibility(actor=request.user, registry=registry, visibility=visibility)


@settings_action(forms.TypesForm, "types_form", "settings-types", "Artifact types added.")
def registry_settings_types(request, registry, form):
    types = form.cleaned_data["artifact_types"]
    registry_services.add_registry_types(actor=request.user, registry=registry, artifact_types=types)


@settings_action(forms.ProtectedAliasForm, "alias_form", "settings-protected-aliases", "Protected alias added.")
def registry_settings_alias_add(request, registry, form):
    registry_services.declare_protected_alias(actor=request.user, registry=registry, alias=form.cleaned_data["alias"])


@settings_action(forms.ProtectedAliasForm, "alias_form", "settings-protected-aliases", "Protected alias removed.")
def registry_settings_alias_remove(request, registry, form):
    registry_services.remove_protected_alias(actor=request.user, registry=registry, alias=form.cleaned_data["alias"])


@settings_action(forms.MemberAddForm, "member_form", "settings-members", "Access granted.")
def registry_settings_member_add(request, registry, form):
    data = form.cleaned_data
    principal = find_principal(registry.org, data["kind"], data["name"])
    role = data["role"] or None  # blank: Restricted Viewer, or Member for a service account (W&B's defaults)
    registry_services.grant_registry_role(actor=request.user, registry=registry, principal=principal, role=role)


@settings_action(forms.MemberRoleForm, "member_form", "settings-members", "Role changed.")
def registry_settings_member_role(request, registry, form):
    data = form.cleaned_data
    principal = find_principal(registry.org, data["kind"], data["name"])
    registry_services.grant_registry_role(actor=request.user, registry=registry, principal=principal, role=data["role"])


@settings_action(forms.MemberRemoveForm, "member_form", "settings-members", "Access removed.")
def registry_settings_member_remove(request, registry, form):
    principal = find_principal(registry.org, form.cleaned_data["kind"], form.cleaned_data["name"])
    registry_services.revoke_registry_role(actor=request.user, registry=registry, principal=principal)


@settings_action(forms.OwnerForm, "member_form", "settings-members", "Owner changed.")
def registry_settings_owner(request, registry, form):
    user = find_principal(registry.org, "user", form.cleaned_data["username"])
    registry_services.set_registry_owner(actor=request.user, registry=registry, user=user)


@settings_action(forms.DeleteForm, "delete_form", "settings-danger", "Registry deleted.")
def registry_settings_delete(request, registry, form):
    name, landing_url = registry.name, reverse("collections:landing", args=[registry.org.slug])
    registry_services.delete_registry(
        actor=request.user, registry=registry, confirm_name=form.cleaned_data["confirm_name"]
    )
    return done(request, landing_url, f"Registry “{name}” deleted. Its source artifacts are untouched.")
