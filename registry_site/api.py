"""The JSON API (v1): one NinjaAPI that mounts each app's router, authenticates API keys, and
turns domain exceptions into `{"detail": …}` answers. See docs/api-contract.md."""

import json
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.db import DataError, IntegrityError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as SchemaValidationError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from ninja.security import APIKeyCookie

from apps.artifacts.api import router as artifacts_router
from apps.automations.api import router as automations_router
from apps.collections.api import router as collections_router
from apps.orgs.api import ApiKeyBasic, ApiKeyBearer
from apps.orgs.api import router as orgs_router
from apps.registries.api import router as registries_router
from lib import json_answers


class BrowserSession(APIKeyCookie):
    """A logged-in browser (the docs page, the UI's scripts); ninja checks CSRF for it."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        # Only a logged-in session is a credential to protect from CSRF: without one, the request is
        # anonymous and answers 401 like an anonymous read (ninja would check CSRF first: 403).
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        return request.user if request.user.is_authenticated else None


class StrictJSONParser(Parser):
    """JSON bodies without NaN or Infinity (Python's json reads both; no database column stores them)."""

    def parse_body(self, request):
        return json.loads(request.body, parse_constant=_not_a_number, parse_float=_finite)


def _not_a_number(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


class FastJSONRenderer(BaseRenderer):
    """JSON answers through orjson (lib.json_answers): the same bytes whether ninja or a hot endpoint renders them."""

    media_type = "application/json"

    def render(self, request, data, *, response_status):
        return json_answers.dumps(data)


class RegistryAPI(NinjaAPI):
    """NinjaAPI whose views opt out of LoginRequiredMiddleware: the API does its own auth (401s)."""

    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            pattern.callback.login_required = False
        return patterns


api = RegistryAPI(
    title="Registry API",
    version="1",
    description="Registries, collections, versions and their files. See docs/api-contract.md.",
    urls_namespace="api",
    auth=[ApiKeyBearer(), ApiKeyBasic(), BrowserSession()],
    parser=StrictJSONParser(),
    renderer=FastJSONRenderer(),
)
api.add_router("", orgs_router)
api.add_router("", artifacts_router)
api.add_router("", registries_router)
api.add_router("", collections_router)
api.add_router("", automations_router)


def _detail(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(message for messages in exc.message_dict.values() for message in messages)
    return " ".join(exc.messages)


@api.exception_handler(ValidationError)
def _validation_error(request, exc):
    return api.create_response(request, {"detail": _detail(exc)}, status=400)


@api.exception_handler(SchemaValidationError)
def _schema_error(request, exc):
    problems = []
    for error in exc.errors[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "payload"))
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid"))
    return api.create_response(request, {"detail": "Invalid request. " + "; ".join(problems)}, status=400)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc) or "You do not have permission to do that."}, status=403)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    response = api.create_response(
        request,
        {
            "detail": "An API key is required: send `Authorization: Bearer <key>` (create one with manage.py create_api_key)."
        },
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="registry"'
    return response


@api.exception_handler(IntegrityError)
def _conflict(request, exc):
    # A concurrent request won a uniqueness race; the caller may retry and see the result.
    return api.create_response(
        request, {"detail": "The request conflicts with a concurrent change; retry."}, status=409
    )


@api.exception_handler(DataError)
def _data_error(request, exc):
    # A value the database refused (out of range, malformed for its type): the request's fault, so a
    # 400. Inputs are validated before they reach the database; this is the backstop.
    return api.create_response(request, {"detail": "The database refused a value in the request."}, status=400)


@api.exception_handler(SuspiciousOperation)
def _bad_request(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Bad request."}, status=400)
