"""API keys: format, Bearer and Basic auth, revocation, last use, the management command."""

import base64
import re
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client

from apps.audit.models import AuditEvent
from apps.orgs.models import ApiKey
from apps.orgs.services import create_api_key, revoke_api_key

KEY_RE = re.compile(r"reg-[A-Za-z0-9_]{40,}")


def test_create_api_key_is_audited_and_stores_only_a_hash(world):
    member = world["member"]
    key, raw = create_api_key(actor=member, user=member, name="laptop")
    assert KEY_RE.fullmatch(raw)
    assert raw not in key.hashed_key and key.prefix == raw[:10]
    event = AuditEvent.objects.get(action="api_key:create")
    assert event.actor == member and event.data == {"user": "member", "name": "laptop"}


def test_only_the_owner_or_staff_manage_keys(world):
    member, viewer = world["member"], world["viewer"]
    with pytest.raises(PermissionDenied):
        create_api_key(actor=viewer, user=member)
    key, _ = create_api_key(actor=member, user=member)
    with pytest.raises(PermissionDenied):
        revoke_api_key(actor=viewer, key=key)
    assert not AuditEvent.objects.filter(action="api_key:revoke").exists()
    revoke_api_key(actor=world["org_admin"], key=key)
    assert AuditEvent.objects.filter(action="api_key:revoke").count() == 1


def test_bearer_and_basic_auth(world):
    _, raw = create_api_key(actor=world["member"], user=world["member"])
    bearer = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/viewer")
    assert bearer.status_code == 200 and bearer.json()["username"] == "member"
    basic = base64.b64encode(f"api:{raw}".encode()).decode()
    assert Client(headers={"Authorization": f"Basic {basic}"}).get("/api/v1/viewer").status_code == 200
    wrong_user = base64.b64encode(f"member:{raw}".encode()).decode()
    assert Client(headers={"Authorization": f"Basic {wrong_user}"}).get("/api/v1/viewer").status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer reg-nope", "Bearer ", "Basic !!!notbase64", "Token abc"])
def test_missing_or_bad_keys_are_401(world, header):
    client = Client(headers={"Authorization": header} if header else {})
    response = client.get("/api/v1/viewer")
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]


def test_revoked_key_and_inactive_user_are_401(world):
    member = world["member"]
    key, raw = create_api_key(actor=member, user=member)
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get("/api/v1/viewer").status_code == 200
    revoke_api_key(actor=member, key=key)
    assert client.get("/api/v1/viewer").status_code == 401
    _, raw = create_api_key(actor=member, user=member)
    member.is_active = False
    member.save()
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/viewer").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(world, django_assert_num_queries):
    member = world["member"]
    key, raw = create_api_key(actor=member, user=member)
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    client.get("/api/v1/viewer")
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(2):  # the key with its user, the memberships; no UPDATE
        client.get("/api/v1/viewer")
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first


def test_management_command_prints_a_working_key(world):
    out = StringIO()
    call_command("create_api_key", "team_member", "--name", "ci", stdout=out)
    raw = out.getvalue().strip()
    assert KEY_RE.fullmatch(raw)
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/viewer").json()["username"] == "team_member"
    assert ApiKey.objects.get(user=world["team_member"]).name == "ci"


def test_openapi_and_docs_need_no_key(db):
    client = Client()
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/artifacts" in schema.json()["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_browser_session_works_and_writes_need_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["member"])
    assert client.get("/api/v1/viewer").json()["username"] == "member"
    response = client.put("/api/v1/registries/acme/Golden Models/star")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="registry:star").exists()
