"""A real HTTP receiver on 127.0.0.1, and helpers to create webhooks and automations through the services."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from apps.automations import services
from apps.automations.models import EventType
from tests.api.conftest import api  # noqa: F401 (the API fixture, for tests/automations/test_api.py)


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers `status` (set it to 500 to make deliveries fail)."""

    url: str = ""
    status: int = 200
    reply: bytes = b'{"ok": true}'
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers), body))
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.reply)))
            self.end_headers()
            self.wfile.write(state.reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for serve_forever's next poll: at the default 0.5 s that was half a second per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _automation_settings(settings):
    """Loopback receivers are allowed; retries come at once; deliveries run in-process unless a test says otherwise."""
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    settings.AUTOMATION_RETRY_BACKOFF = 0
    settings.AUTOMATION_WEBHOOK_TIMEOUT = 5
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def signing_secret(world):
    return services.create_secret(actor=world["org_admin"], org=world.org, name="SIGNING_KEY", value="s3cr3t-signing")


@pytest.fixture
def access_token(world):
    return services.create_secret(actor=world["org_admin"], org=world.org, name="CI_TOKEN", value="tok-123")


@pytest.fixture
def webhook(world, receiver, signing_secret, access_token):
    return services.create_webhook(
        actor=world["org_admin"],
        org=world.org,
        name="ci hook",
        url=receiver.url,
        access_token=access_token,
        signing_secret=signing_secret,
    )


PAYLOAD = """{
  "event_type": "${event_type}",
  "author": "${event_author}",
  "alias": "${alias}",
  "version": "${artifact_version_string}",
  "index": ${artifact_version_index},
  "collection": "${artifact_collection_name}",
  "accuracy": ${artifact_metadata.accuracy},
  "framework": "${artifact_metadata.framework}",
  "entity": "${entity_name}",
  "project": "${project_name}",
  "automation": "${automation_name}",
  "token": "${ACCESS_TOKEN}",
  "missing": "${tag}"
}"""


@pytest.fixture
def make_automation(world, webhook):
    def _make(event_type=EventType.LINK_ARTIFACT, actor="member", **fields):
        fields = {
            "name": f"auto {event_type}",
            "event_type": event_type,
            "webhook": webhook,
            "payload_template": PAYLOAD,
            **fields,
        }
        return services.create_automation(actor=world[actor], registry=world.registry, **fields)

    return _make


def automation_url(name, registry, *args):
    return reverse(f"automations:{name}", args=[registry.org.slug, registry.slug, *args])
