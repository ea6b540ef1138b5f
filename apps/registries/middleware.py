"""The Registry App's on/off switch (W&B's ENABLE_REGISTRY_UI), read on every request."""

from django.conf import settings
from django.http import Http404

# URL namespaces of the Registry App's pages and fragments.
REGISTRY_APP_NAMESPACES = frozenset({"registries", "collections", "automations"})


class RegistryUIFlagMiddleware:
    """Every Registry App page and fragment answers 404 while ENABLE_REGISTRY_UI is off.

    The setting is read per request, so it can change without reloading the URLconf.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.ENABLE_REGISTRY_UI and request.resolver_match.namespace in REGISTRY_APP_NAMESPACES:
            raise Http404("The Registry App is turned off.")
        return None
