"""API: authentication by API key (for /api/v1 and /admin/audit_logs), and who the caller is."""

import binascii

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import HttpBasicAuth, HttpBearer

from apps.audit.services import AuditContext, set_context
from apps.orgs.models import ApiKey, Membership


def _authenticate(request: HttpRequest, raw: str):
    """The key's user, with the request and its audit events marked as coming from that key."""
    key = ApiKey.objects.authenticate(raw)
    if key is None:
        return None
    key.touch()
    request.user = key.user
    request.api_key = key
    set_context(AuditContext(ip=request.META.get("REMOTE_ADDR") or None, detail=f"api-key:{key.name}"))
    return key.user


class ApiKeyBearer(HttpBearer):
    """`Authorization: Bearer <key>`."""

    def authenticate(self, request, token):
        return _authenticate(request, token)


class ApiKeyBasic(HttpBasicAuth):
    """HTTP Basic with user `api` and the key as password (what W&B's clients send)."""

    def authenticate(self, request, username, password):
        return _authenticate(request, password) if username == "api" else None

    def decode_authorization(self, value: str):
        try:
            return super().decode_authorization(value)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return "", ""


API_KEY_AUTH = [ApiKeyBearer(), ApiKeyBasic()]


def api_key_user(request: HttpRequest):
    """The user an API key in the request's Authorization header names (Bearer or Basic `api:<key>`), or None."""
    return next((user for auth in API_KEY_AUTH if (user := auth(request)) is not None), None)


router = Router(tags=["viewer"])


class OrgOut(Schema):
    slug: str
    name: str
    role: str


class ViewerOut(Schema):
    username: str
    orgs: list[OrgOut]


@router.get("/viewer", response=ViewerOut)
def viewer(request: HttpRequest):
    memberships = Membership.objects.filter(user=request.user).select_related("org").order_by("org__slug")
    return {
        "username": request.user.get_username(),
        "orgs": [{"slug": m.org.slug, "name": m.org.name, "role": m.role} for m in memberships],
    }
