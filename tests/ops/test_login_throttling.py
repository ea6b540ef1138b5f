"""Password guessing is throttled (django-axes): after AXES_FAILURE_LIMIT failures for one username from one
address, that pair is refused for a while, even with the right password, and the lockout is audited once."""

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_username_from_that_address_and_audit_it_once(client, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    user = UserFactory(username="alice")
    for _ in range(4):
        assert _login(client, "alice", "wrong").status_code == 200  # the form again, with its error
    locked = _login(client, "alice", "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # The right password is refused too while the lockout lasts, and nobody is logged in.
    assert _login(client, "alice", "pw").status_code == 429
    assert "_auth_user_id" not in client.session
    events = AuditEvent.objects.filter(action=Action.USER_LOCKOUT)
    assert [(e.target_type, e.target_id, e.actor_ip, e.data["username"]) for e in events] == [
        ("user", str(user.pk), "10.0.0.1", "alice")
    ]
    assert events[0].actor is None
    assert events[0].data["failures"] == 5


def test_the_lockout_holds_for_that_pair_only(client):
    UserFactory(username="alice")
    UserFactory(username="bob")
    for _ in range(5):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", "pw", ip="10.0.0.2").status_code == 302  # another address logs in
    client.logout()
    assert _login(client, "bob", "pw").status_code == 302  # another user from the same address too


def test_a_success_before_the_limit_resets_the_count(client):
    UserFactory(username="alice")
    for _ in range(4):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", "pw").status_code == 302
    client.logout()
    for _ in range(4):
        assert _login(client, "alice", "wrong").status_code == 200
    assert not AuditEvent.objects.filter(action=Action.USER_LOCKOUT).exists()


def test_guessing_an_unknown_username_locks_out_too_and_is_audited_without_a_target(client):
    for _ in range(5):
        response = _login(client, "nobody", "guess")
    assert response.status_code == 429
    event = AuditEvent.objects.get(action=Action.USER_LOCKOUT)
    assert (event.target_type, event.target_id, event.data["username"]) == ("", "", "nobody")
