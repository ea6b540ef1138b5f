"""API fixtures: an authenticated test client per persona, keyed by a real API key."""

import hashlib

import pytest
from django.test import Client

from apps.orgs.services import create_api_key


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ApiClient:
    """django.test.Client speaking JSON to /api/v1 with a persona's key."""

    def __init__(self, key: str | None):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = Client(headers=headers)

    def _url(self, path: str) -> str:
        return path if path.startswith("/") else f"/api/v1/{path}"

    def get(self, path, params=None, **extra):
        return self.client.get(self._url(path), params or {}, **extra)

    def post(self, path, json=None, **extra):
        return self.client.post(self._url(path), json or {}, content_type="application/json", **extra)

    def patch(self, path, json=None, params=None):
        return self.client.patch(self._url(path) + _query(params), json or {}, content_type="application/json")

    def put(self, path, json=None):
        return self.client.put(self._url(path), json or {}, content_type="application/json")

    def delete(self, path, params=None):
        return self.client.delete(self._url(path) + _query(params))


def _query(params) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode(params) if params else ""


@pytest.fixture
def api(world):
    """api("member") → an ApiClient authenticated as that persona; api("anonymous") has no key."""
    cache = {}

    def make(persona: str) -> ApiClient:
        if persona not in cache:
            if persona == "anonymous":
                cache[persona] = ApiClient(None)
            else:
                user = world[persona]
                _, raw = create_api_key(actor=user, user=user, name="tests")
                cache[persona] = ApiClient(raw)
        return cache[persona]

    return make
