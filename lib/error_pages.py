"""The site's own 404 page under DEBUG too.

With DEBUG on (`make run`), Django answers a 404 with its technical page, which lists every URL
pattern of the site: to a Viewer who opens a Restricted registry, or to anyone who mistypes an
address. 403 already uses `403.html` in DEBUG; 500 keeps Django's technical page (a developer's
traceback).
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404
from django.views.defaults import page_not_found


class ErrorPagesMiddleware:
    """Answer 404s with `404.html` whatever DEBUG says."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No view matched: the URL resolver's Http404 never reaches process_exception, and the
        # resolver leaves `request.resolver_match` unset.
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request, Resolver404({"path": request.path_info}))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view's Http404 (invisible or missing object)."""
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
