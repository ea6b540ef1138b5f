"""The two answers every htmx-enhanced page gives: a page or its fragment, and "done" after a POST."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect


def render_page(request: HttpRequest, template: str, fragment: str, context: dict) -> HttpResponse:
    """The page, or only `fragment` for htmx (partial names equal the ids of the elements they replace)."""
    return render(request, f"{template}#{fragment}" if request.htmx else template, context)


def done(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """A successful POST that changes the page: a client redirect for htmx, post/redirect/get otherwise."""
    if message:
        messages.success(request, message)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
