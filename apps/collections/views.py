"""Collection and linked-version pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from apps.collections.models import Collection, Link


@require_GET
def collection_detail(request: HttpRequest, org_slug: str, reg_slug: str, name: str) -> HttpResponse:
    collection = get_object_or_404(
        Collection.objects.visible_to(request.user).select_related("registry__org"),
        registry__org__slug=org_slug,
        registry__slug=reg_slug,
        name=name,
    )
    return render(request, "collections/collection_detail.html", {"collection": collection})


@require_GET
def version_detail(request: HttpRequest, org_slug: str, reg_slug: str, name: str, index: int) -> HttpResponse:
    link = get_object_or_404(
        Link.objects.visible_to(request.user).select_related("collection__registry__org", "version__sequence"),
        collection__registry__org__slug=org_slug,
        collection__registry__slug=reg_slug,
        collection__name=name,
        index=index,
    )
    return render(request, "collections/version_detail.html", {"link": link})
