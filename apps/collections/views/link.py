"""Linking a source version into a registry: from the registry's page, or from the version's own page."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from apps.artifacts.models import ArtifactVersion
from apps.artifacts.services import require_project_writer
from apps.collections import forms as collection_forms
from apps.collections import services
from apps.collections.forms import LinkToRegistryForm
from apps.collections.models import Collection
from apps.collections.services import link_version
from apps.orgs.permissions import require
from apps.registries.models import Registry
from apps.registries.views.lookups import registry_or_404
from lib.forms import add_service_error
from lib.htmx import done, render_page


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def registry_link(request: HttpRequest, org_slug: str, reg_slug: str) -> HttpResponse:
    """Link a source version into a collection. GET re-renders the chained selects as they are chosen."""
    registry = registry_or_404(request, org_slug, reg_slug)
    require(request.user, "registries.write_registry", registry)
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = collection_forms.LinkVersionForm(data, user=request.user, registry=registry)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            link = link_version(
                actor=request.user,
                version=data["version"],
                registry=registry,
                collection_name=data["collection"],
                aliases=data["aliases"],
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return done(request, link.get_absolute_url(), f"Linked as {link.full_name}.")
    if request.method == "GET":
        form.errors.clear()  # choosing step by step is not an error
    context = {
        "org": registry.org,
        "registry": registry,
        "link_form": form,
        "collection_names": registry.collections.order_by("name").values_list("name", flat=True)[:500],
    }
    template = "collections/registry_link.html" + ("#link-form" if request.htmx else "")
    return render(request, template, context)


def _source_version_or_404(request: HttpRequest, team: str, project: str, name: str, version: str):
    match = re.fullmatch(r"v(\d+)", version)
    if match is None:
        raise Http404("Versions are named v0, v1, …")
    return get_object_or_404(
        ArtifactVersion.objects.visible_to(request.user).select_related("sequence__project__team__org"),
        sequence__project__team__name=team,
        sequence__project__name=project,
        sequence__name=name,
        index=int(match[1]),
    )


@require_http_methods(["GET", "POST"])
def version_link(request: HttpRequest, team: str, project: str, name: str, version: str) -> HttpResponse:
    """Link a source version into a collection of a registry where the user may write."""
    version = _source_version_or_404(request, team, project, name, version)
    org = version.sequence.project.team.org
    writable = Registry.objects.with_perm(request.user, "write").filter(org=org)
    # Offer only registries that accept this type (accepted types are a JSON list; few registries).
    accepting = [registry.pk for registry in writable if registry.accepts(version.sequence.type)]
    registries = writable.filter(pk__in=accepting).core_first()
    form = LinkToRegistryForm(request.POST or None, registries=registries, user=request.user)
    if form.is_valid():
        try:
            link = services.link_version(
                actor=request.user,
                version=version,
                registry=form.cleaned_data["registry"],
                collection_name=form.cleaned_data["collection"],
                aliases=form.cleaned_data["aliases"],
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return done(request, link.get_absolute_url(), f"Linked as {link.full_name}.")
    collections = Collection.objects.visible_to(request.user).filter(
        registry__in=registries, type=version.sequence.type
    )
    context = {
        "version": version,
        "form": form,
        "has_registries": registries.exists(),
        "collection_names": sorted({c.name for c in collections.only("name").order_by("name")[:500]}),
    }
    return render_page(request, "collections/version_link.html", "link-form", context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def source_version_delete(request: HttpRequest, team: str, project: str, name: str, version: str) -> HttpResponse:
    """Delete a source version (its team): GET shows what goes (links, protected holds), POST deletes."""
    version = _source_version_or_404(request, team, project, name, version)
    require_project_writer(request.user, version.sequence.project)  # fail fast
    error = None
    if request.method == "POST":
        try:
            services.delete_source_version(actor=request.user, version=version)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            sequence_url = reverse("artifacts:sequence_detail", args=[team, project, name])
            days = f"{settings.ARTIFACT_DELETE_RETENTION_DAYS:g}"
            return done(request, sequence_url, f"Deleted {version}; it can be restored for {days} days.")
    context = {
        "version": version,
        # The links the user sees by name; the others are counted (deleting unlinks them too).
        "links": list(
            version.links.visible_to(request.user).select_related("collection__registry__org").order_by("pk")[:100]
        ),
        "hidden_links": version.links.exclude(pk__in=version.links.visible_to(request.user).values("pk")).count(),
        "holds": services.protected_holds(version, request.user),
        "retention_days": f"{settings.ARTIFACT_DELETE_RETENTION_DAYS:g}",
        "error": error,
    }
    return render_page(request, "collections/source_version_delete.html", "delete-version-form", context)
