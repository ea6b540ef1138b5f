"""HTTP endpoints the wandb SDK calls: `/graphql`, `file_stream`, and the signed URLs of the upload protocol.

The SDK authenticates with HTTP Basic `api:<key>` (our API keys fit its key check). Its upload and
download URLs carry no credentials, so each one here is a signed, expiring token.
"""

import base64
import binascii
import json
import logging

from ariadne import graphql_sync
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from graphql import GraphQLError

from apps.artifacts.models import ArtifactVersion, Blob
from apps.artifacts.storage import URL_LIFETIME
from apps.audit.services import AuditContext, set_context
from apps.orgs.models import ApiKey
from apps.wandb_api import schema as gql
from apps.wandb_api import services
from apps.wandb_api.models import PendingArtifact, StagedFile

logger = logging.getLogger(__name__)
# Ariadne logs every error with its traceback; expected refusals are answers, and _format_error logs the rest.
ARIADNE_LOGGER = "apps.wandb_api.ariadne"
logging.getLogger(ARIADNE_LOGGER).addHandler(logging.NullHandler())
logging.getLogger(ARIADNE_LOGGER).propagate = False

UNAUTHORIZED = "An API key is required: set WANDB_API_KEY to a Registry API key (API keys page, user menu)."


def _authenticate(request: HttpRequest):
    """The API key's user from `Authorization: Basic api:<key>` (or `Bearer <key>`), else None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    raw = None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        raw = password if user == "api" else None
    elif scheme.lower() == "bearer":
        raw = value.strip()
    key = ApiKey.objects.authenticate(raw) if raw else None
    if key is None:
        return None
    key.touch()
    request.user = key.user
    set_context(AuditContext(ip=request.META.get("REMOTE_ADDR") or None, detail=f"wandb-sdk:{key.name}"))
    return key.user


def _unauthorized() -> JsonResponse:
    response = JsonResponse({"errors": [{"message": UNAUTHORIZED}]}, status=401)
    response["WWW-Authenticate"] = 'Basic realm="registry"'
    return response


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return " ".join(m for messages in error.message_dict.values() for m in messages)
        return " ".join(error.messages)
    if isinstance(error, PermissionDenied):
        return str(error) or "You do not have permission to do that."
    if isinstance(error, Http404):
        return str(error) or "Not found."
    if isinstance(error, IntegrityError):
        return "The request conflicts with a concurrent change; retry."
    if isinstance(error, SuspiciousOperation):
        return str(error) or "Bad request."
    if isinstance(error, GraphQLError):  # e.g. a variable that does not fit its input type
        return error.message
    return ""


def _format_error(error: GraphQLError, debug: bool = False) -> dict:
    original = error.original_error
    formatted = error.formatted
    if original is not None:
        message = _message(original)
        if not message:
            logger.exception("wandb GraphQL resolver failed", exc_info=original)
            message = "Registry could not answer this request (an internal error, logged on the server)."
        formatted["message"] = message
    return formatted


@csrf_exempt
@login_not_required
@require_POST
def graphql(request: HttpRequest) -> HttpResponse:
    """W&B's GraphQL endpoint. Errors answer 200 with `errors` (as W&B does), never 5xx: the SDK would
    retry a 5xx for minutes. A request with errors writes nothing."""
    if _authenticate(request) is None:
        return _unauthorized()
    try:
        data = json.loads(request.body)
    except ValueError:
        return JsonResponse(
            {"errors": [{"message": "The body must be JSON: {query, variables, operationName}."}]}, status=400
        )
    if not isinstance(data, dict):
        return JsonResponse({"errors": [{"message": "The body must be a JSON object."}]}, status=400)
    if data.get("operationName") == "":  # the public API sends it; graphql-core reads "" as a name
        data.pop("operationName")
    with transaction.atomic():
        _, result = graphql_sync(
            gql.schema,
            data,
            context_value={"request": request},
            error_formatter=_format_error,
            introspection=True,
            logger=ARIADNE_LOGGER,
        )
        if result.get("errors"):
            transaction.set_rollback(True)
    return JsonResponse(result, status=200)


def _bad(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


def _unsign(token: str, salt: str):
    try:
        return signing.TimestampSigner(salt=salt).unsign_object(token, max_age=URL_LIFETIME)
    except signing.SignatureExpired:
        raise PermissionDenied("This link has expired.") from None
    except signing.BadSignature:
        raise PermissionDenied("This link is not valid.") from None


@csrf_exempt
@login_not_required
@require_http_methods(["PUT"])
def file_upload(request: HttpRequest, token: str) -> HttpResponse:
    """The bytes of one staged file (filesystem store), checked against its declared MD5."""
    staged = StagedFile.objects.select_related("pending").filter(pk=_unsign(token, gql.FILE_UPLOAD_SALT)["f"]).first()
    if staged is None or staged.pending.version_id is not None:
        raise Http404("This upload is no longer expected.")
    if staged.sha256 and Blob.objects.filter(sha256=staged.sha256).exists():
        return HttpResponse(status=200)  # a retried PUT
    try:
        length = int(request.headers.get("content-length") or -1)
    except ValueError:
        length = -1
    try:
        services.receive_file(staged=staged, stream=request, length=length)
    except ValidationError as error:
        return _bad(_message(error))
    return HttpResponse(status=200)


@csrf_exempt
@login_not_required
@require_http_methods(["PUT"])
def manifest_upload(request: HttpRequest, token: str) -> HttpResponse:
    """The manifest JSON of a pending artifact."""
    pending = PendingArtifact.objects.filter(pk=_unsign(token, gql.MANIFEST_UPLOAD_SALT)["p"]).first()
    if pending is None or pending.version_id is not None:
        raise Http404("This upload is no longer expected.")
    try:
        services.store_manifest(pending=pending, body=request.body)
    except ValidationError as error:
        return _bad(_message(error))
    return HttpResponse(status=200)


@login_not_required
@require_GET
def manifest_download(request: HttpRequest, token: str) -> HttpResponse:
    """A version's manifest, built from its files (no client paths from the uploader)."""
    version = ArtifactVersion.objects.filter(pk=_unsign(token, gql.MANIFEST_SALT)["v"]).first()
    if version is None:
        raise Http404("No such artifact version.")
    entries = list(version.entries.order_by("path"))
    md5s = dict(Blob.objects.filter(sha256__in={e.sha256 for e in entries}).values_list("sha256", "md5"))
    contents = {e.path: {"digest": services.md5_b64(md5s[e.sha256]), "size": e.size} for e in entries}
    manifest = {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "storagePolicyConfig": {"storageLayout": "V2"},
        "contents": contents,
    }
    return JsonResponse(manifest)


@csrf_exempt
@login_not_required
@require_POST
def file_stream(request: HttpRequest, entity: str, project: str, run: str) -> HttpResponse:
    """A run's history and summary stream: we keep the summary and the run's end state."""
    if _authenticate(request) is None:
        return _unauthorized()
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _bad("The body must be JSON.")
    if not isinstance(body, dict):
        return _bad("The body must be a JSON object.")
    try:
        services.record_file_stream(actor=request.user, entity=entity, project_name=project, run_id=run, body=body)
    except (ValidationError, PermissionDenied) as error:
        return _bad(_message(error))
    return JsonResponse({})
