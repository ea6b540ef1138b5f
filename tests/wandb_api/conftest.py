"""Run the real wandb SDK in a subprocess against the live test server; call /graphql without it."""

import base64
import json
import threading

import pytest

from apps.orgs import services as orgs
from apps.registries import services as registries
from tests.artifacts.test_storage_s3 import seaweedfs  # noqa: F401 (the session's SeaweedFS server, as a fixture here)
from tests.wandb_api.runner import run_scenario  # noqa: F401 (tests import it from here)

MOUNT = "/mounted"


@pytest.fixture
def sdk_server(live_server):
    """The live server, answering one request at a time: the SDK sends requests in parallel, and on
    SQLite the test database is one in-memory connection that the server's threads share. Under
    `<url>/mounted/` it serves Registry as mounted under that prefix (SCRIPT_NAME)."""
    httpd = live_server.thread.httpd
    app, lock = httpd.get_app(), threading.Lock()

    def serial(environ, start_response):
        if environ["PATH_INFO"].startswith(MOUNT + "/"):  # Registry served under a URL prefix, as behind a proxy
            environ["SCRIPT_NAME"], environ["PATH_INFO"] = MOUNT, environ["PATH_INFO"][len(MOUNT) :]
        with lock:
            # Drain the response inside the lock: streamed bodies read the database too.
            return list(app(environ, start_response))

    httpd.set_app(serial)
    yield live_server
    httpd.set_app(app)


@pytest.fixture
def keys(world):
    made = {}
    for persona in ["member", "viewer", "restricted_viewer", "outsider"]:
        _, made[persona] = orgs.create_api_key(actor=world[persona], user=world[persona], name="wandb sdk")
    return made


@pytest.fixture
def sdk_world(world):
    """The world, with team `vision` a Member of the core Model registry and v0 in the restricted registry."""
    model = world.org.registries.get(slug="model")
    registries.grant_registry_role(actor=world["org_admin"], registry=model, principal=world.team, role="member")
    world.link(collection="classifier")
    return world


@pytest.fixture
def gql(client, world):
    """gql(query, variables, persona=…) → the JSON answer of /graphql (always 200) for that persona's API key."""
    keys = {}

    def call(query, variables=None, persona="member", operation_name=None):
        if persona not in keys:
            _, keys[persona] = orgs.create_api_key(actor=world[persona], user=world[persona], name="t")
        body = {"query": query, "variables": variables or {}, "operationName": operation_name}
        auth = "Basic " + base64.b64encode(f"api:{keys[persona]}".encode()).decode()
        response = client.post("/graphql", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)
        assert response.status_code == 200, response.content
        return response.json()

    return call
