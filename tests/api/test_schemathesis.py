"""Fuzz every operation of the OpenAPI schema (a bounded number of examples): never a 5xx."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from apps.orgs.services import create_api_key


@pytest.fixture
def admin_key(world):
    """A key for the org admin, who may call every operation, with one linked version around."""
    world.link(aliases=["candidate"])
    _, raw = create_api_key(actor=world["org_admin"], user=world["org_admin"], name="fuzz")
    return raw


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Like django.test.Client: the raw WSGI app must not close the test transaction's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Loading the schema touches no database, so it can happen at import (pytest-django has set Django up).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_answers_5xx(case, admin_key):
    response = case.call(headers={"Authorization": f"Bearer {admin_key}"})
    case.validate_response(response, checks=[not_a_server_error])
