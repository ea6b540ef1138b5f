"""Database connections outlive a request: reconnecting per request (SQLite re-reads its schema and PRAGMAs,
PostgreSQL pays a login) more than doubled an API call's server time."""

import pytest
from django.core.signals import request_finished, request_started
from django.db import connection


def test_connections_are_kept_and_health_checked():
    assert connection.settings_dict["CONN_MAX_AGE"] >= 60
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


@pytest.mark.django_db(transaction=True)
def test_the_next_request_reuses_the_connection():
    connection.ensure_connection()
    raw = connection.connection
    request_started.send(sender=None)  # what the WSGI handler signals around every request
    request_finished.send(sender=None)
    assert connection.connection is raw
