"""The Python client against the Django app in-process (httpx's WSGI transport), inside the test's own
transaction: the client's real requests and parsing, without a live server's transactional test cost."""

import httpx
import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from apps.orgs import services as orgs
from registry_client import Client


@pytest.fixture
def in_process(world):
    """in_process("member") → a registry_client.Client for that persona, served in this process."""
    # As django.test.Client does: a request's start and end must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    app, clients = WSGIHandler(), []

    def make(persona: str) -> Client:
        key = None
        if persona != "anonymous":
            _, key = orgs.create_api_key(actor=world[persona], user=world[persona], name="in-process")
        client = Client(
            "http://testserver",
            key or "anon-" + "x" * 40,
            transport=httpx.WSGITransport(app=app),
            progress=False,
            max_retries=0,
            backoff=0,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
