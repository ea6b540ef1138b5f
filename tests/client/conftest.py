"""Fixtures for end-to-end client tests: the real Django app served by pytest-django's `live_server`."""

import os

import pytest

from apps.orgs import services as orgs
from registry_client import Client

GOLDEN = "acme/wandb-registry-Golden Models"


@pytest.fixture
def isolated_config(tmp_path, monkeypatch):
    """No saved login or REGISTRY_* variables leak in from the machine running the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("REGISTRY_BASE_URL", raising=False)
    monkeypatch.delenv("REGISTRY_API_KEY", raising=False)
    return tmp_path / "xdg" / "registry" / "config.toml"


@pytest.fixture
def api_key(world):
    """api_key("member") → a fresh secret API key for that persona."""

    def make(persona: str) -> str:
        user = world[persona]
        _, secret = orgs.create_api_key(actor=user, user=user, name=f"{persona} tests")
        return secret

    return make


@pytest.fixture
def as_persona(live_server, api_key, isolated_config):
    """as_persona("member") → a Client for that persona against the live server."""
    clients = []

    def make(persona: str) -> Client:
        client = Client(live_server.url, api_key(persona), progress=False, max_retries=1, backoff=0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def model_dir(tmp_path):
    """A small model folder: a >1 MB weights file (several chunks), a nested file and a duplicate."""
    root = tmp_path / "model"
    (root / "config").mkdir(parents=True)
    weights = os.urandom(2 * 1024 * 1024 + 17)
    (root / "weights.bin").write_bytes(weights)
    (root / "weights-copy.bin").write_bytes(weights)
    (root / "config" / "params.json").write_text('{"lr": 0.001}')
    (root / "README.md").write_text("# resnet\n")
    return root
