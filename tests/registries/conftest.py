"""Helpers for the registry page tests: log a persona in, and the expected status per persona."""

import pytest
from django.urls import reverse

ALL = ["org_admin", "registry_admin", "member", "team_member", "viewer", "restricted_viewer", "outsider", "anonymous"]


def statuses(ok: int, *, writers: int | None = None, admins: int | None = None, org_viewers: int | None = None):
    """Expected status per persona for the world's restricted registry.

    `ok` for everyone who may do it; `writers` for Member-role personas, `org_viewers` for
    viewer/restricted_viewer, `admins` for org_admin/registry_admin (defaults: `ok`). Outsiders get
    404 (they cannot see the registry) and anonymous visitors a redirect to the login page.
    """
    admins = ok if admins is None else admins
    writers = ok if writers is None else writers
    org_viewers = ok if org_viewers is None else org_viewers
    table = {
        "org_admin": admins,
        "registry_admin": admins,
        "member": writers,
        "team_member": writers,
        "viewer": org_viewers,
        "restricted_viewer": org_viewers,
        "outsider": 404,
        "anonymous": 302,
    }
    return [(persona, table[persona]) for persona in ALL]


@pytest.fixture
def login(client, world):
    """Log `persona` in (anonymous stays logged out) and return the client."""

    def _login(persona):
        if persona != "anonymous":
            client.force_login(world[persona])
        return client

    return _login


def assert_status(response, persona, status):
    assert response.status_code == status, response.content[:2000]
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def assert_fragment(response, fragment_id):
    """An htmx answer: the fragment, no page around it, and a Vary header for caches."""
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="{fragment_id}"' in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]
