"""Fixtures for MLflow's own client (mlflow-skinny) against the live Django server."""

import pytest
from mlflow import MlflowClient

from apps.orgs import services as orgs
from tests.conftest import World, _snapshot, build_world

REGISTRY = "orgs/acme/registry/golden-models/mlflow"


@pytest.fixture
def world(request) -> World:
    """The shared world; built afresh for live-server tests, which flush the database between tests
    (that renumbers the permission rows a replayed world snapshot would point at)."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        return build_world()
    request.getfixturevalue("db")
    return _snapshot.replay() if _snapshot.world else _snapshot.record()


@pytest.fixture
def registry_uri(live_server) -> str:
    return f"{live_server.url}/{REGISTRY}"


@pytest.fixture
def mlflow_env(monkeypatch, tmp_path, registry_uri):
    """MLflow's fluent API points at the registry; nothing leaks in from the machine; no retries."""
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry_uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry_uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    monkeypatch.chdir(tmp_path)  # anything MLflow writes locally lands in the test's folder
    return monkeypatch


@pytest.fixture
def keys(world):
    """keys["member"] → a fresh API key of that persona (made on first use)."""

    class Keys(dict):
        def __missing__(self, persona):
            user = world[persona]
            _, secret = orgs.create_api_key(actor=user, user=user, name=f"{persona} mlflow")
            self[persona] = secret
            return secret

    return Keys()


@pytest.fixture
def mlflow_as(mlflow_env, keys, registry_uri):
    """mlflow_as("member") → an MlflowClient whose requests carry that persona's key (MLFLOW_TRACKING_TOKEN).

    MLflow reads its credentials from the environment on every request, so the latest call decides.
    """

    def make(persona: str) -> MlflowClient:
        mlflow_env.setenv("MLFLOW_TRACKING_TOKEN", keys[persona])
        return MlflowClient(tracking_uri=registry_uri, registry_uri=registry_uri)

    return make
