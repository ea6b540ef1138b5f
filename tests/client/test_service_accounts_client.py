"""Service accounts and registry members through the Python client and the CLI, against the real app served
in-process (httpx's WSGI transport: real views, services and database, no live-server thread)."""

import functools
import json

import httpx
import pytest
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from apps.audit.models import Action, AuditEvent
from apps.orgs import services as orgs
from registry_client import Client, NotFound, PermissionDenied
from registry_client.cli import main
from registry_client.errors import InvalidInput

from .conftest import GOLDEN

BASE = "http://testserver"


@pytest.fixture
def wsgi():
    """The app in this thread; the test transaction's connection must survive each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield httpx.WSGITransport(app=get_wsgi_application())
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def client_for(world, wsgi):
    def make(persona_or_secret: str) -> Client:
        secret = persona_or_secret
        if persona_or_secret in world.users:
            user = world[persona_or_secret]
            _, secret = orgs.create_api_key(actor=user, user=user, name="client tests")
        return Client(BASE, secret, transport=wsgi, progress=False, max_retries=0, backoff=0)

    return make


def test_admin_runs_a_service_account_lifecycle_with_the_client(world, client_for):
    admin = client_for("org_admin")
    account = admin.create_service_account("ci-bot", org="acme", team="vision", description="GitHub Actions")
    assert account["team"] == "vision" and account["active"] is True
    assert [a["name"] for a in admin.service_accounts("acme")] == ["ci-bot"]
    key = admin.create_service_account_key("ci-bot", "github", org="acme")
    assert key["secret"].startswith("reg-") and key["prefix"] in key["secret"]
    assert "secret" not in admin.service_account_keys("ci-bot", org="acme")[0]

    # The bot gets a registry role (Member by default) and works with its own key.
    members = admin.set_registry_member(GOLDEN, user="ci-bot")
    bot_row = next(m for m in members if m["user"] == "ci-bot")
    assert bot_row == {"user": "ci-bot", "team": None, "role": "member", "service_account": True}
    with pytest.raises(InvalidInput, match="service account"):
        admin.set_registry_member(GOLDEN, user="ci-bot", role="viewer")
    bot = client_for(key["secret"])
    assert bot.viewer()["username"] == "ci-bot"
    assert bot.registry(GOLDEN).role == "member"
    # A service account cannot manage service accounts (it is no org admin) nor mint keys.
    with pytest.raises(PermissionDenied):
        bot.create_service_account_key("ci-bot", "more", org="acme")

    admin.revoke_service_account_key("ci-bot", key["id"], org="acme")
    assert admin.service_account_keys("ci-bot", org="acme")[0]["revoked_at"] is not None
    admin.deactivate_service_account("ci-bot", org="acme")
    assert admin.service_accounts("acme")[0]["active"] is False
    actions = set(AuditEvent.objects.filter(org=world.org).values_list("action", flat=True))
    assert {Action.SERVICE_ACCOUNT_CREATE, Action.API_KEY_CREATE, Action.API_KEY_REVOKE} <= actions
    assert Action.SERVICE_ACCOUNT_DEACTIVATE in actions


@pytest.mark.parametrize(("persona", "error"), [("member", PermissionDenied), ("outsider", NotFound)])
def test_non_admins_get_403_and_outsiders_404(world, client_for, persona, error):
    with pytest.raises(error):
        client_for(persona).service_accounts("acme")
    with pytest.raises(error):
        client_for(persona).create_service_account("sneaky", org="acme")


def test_registry_members_by_email_and_removal(world, client_for):
    admin = client_for("org_admin")
    members = admin.set_registry_member(GOLDEN, user="team_member@example.com")
    assert {"user": "team_member", "team": None, "role": "restricted_viewer", "service_account": False} in members
    admin.remove_registry_member(GOLDEN, user="team_member")
    assert all(m["user"] != "team_member" for m in admin.registry_members(GOLDEN))
    with pytest.raises(InvalidInput, match="no member"):
        admin.set_registry_member(GOLDEN, user="outsider")


def test_bad_input_is_a_clear_400(world, client_for):
    admin = client_for("org_admin")
    with pytest.raises(InvalidInput, match="taken"):
        admin.create_service_account("member", org="acme")
    with pytest.raises(InvalidInput, match="no team"):
        admin.create_service_account("x-bot", org="acme", team="nope")
    with pytest.raises(NotFound):
        admin.create_service_account_key("nobody", "k", org="acme")


def test_cli_service_accounts(world, wsgi, monkeypatch, capsys, isolated_config):
    _, secret = orgs.create_api_key(actor=world["org_admin"], user=world["org_admin"], name="cli")
    monkeypatch.setattr(
        "registry_client.cli.Client", functools.partial(Client, transport=wsgi, max_retries=0, backoff=0)
    )
    monkeypatch.setenv("REGISTRY_BASE_URL", BASE)
    monkeypatch.setenv("REGISTRY_API_KEY", secret)

    def run(*argv):
        capsys.readouterr()
        code = main(["--no-progress", *argv])
        return code, *capsys.readouterr()

    code, out, _ = run("service-accounts", "create", "deployer", "--org", "acme", "--description", "CD")
    assert code == 0 and "Created service account deployer" in out
    code, out, err = run("service-accounts", "create-key", "deployer", "--org", "acme", "--key-name", "gh")
    assert code == 0 and out.strip().startswith("reg-") and "shown only once" in err
    code, out, _ = run("service-accounts", "list", "--org", "acme")
    assert code == 0 and "deployer" in out and "(organization)" in out
    code, out, _ = run("--json", "service-accounts", "keys", "deployer", "--org", "acme")
    key_id = json.loads(out)[0]["id"]
    code, out, _ = run("service-accounts", "revoke-key", "deployer", "--org", "acme", "--key-id", str(key_id))
    assert code == 0 and "revoked" in out
    code, out, _ = run("service-accounts", "deactivate", "deployer", "--org", "acme")
    assert code == 0
    code, _, err = run("service-accounts", "deactivate", "deployer", "--org", "acme")
    assert code == 1 and "already deactivated" in err
    code, _, err = run("service-accounts", "create", "--org", "acme")
    assert code == 2
