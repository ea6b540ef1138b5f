"""lib/postgresql_backend: timestamps read by psycopg's C loader, exactly as Django's; no health check for a
connection used a moment ago, and a connection the server dropped is still replaced after that moment."""

import datetime
import os

import dj_database_url
import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import OperationalError, connection
from django.utils import timezone
from psycopg.pq import Format

from lib.postgresql_backend import base

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend")

TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid


@pytest.fixture
def health_checks(monkeypatch):
    """Counts Django's health checks (`SELECT 1` on the raw connection)."""
    checks = []
    usable = base.DatabaseWrapper.is_usable

    def is_usable(self):
        checks.append(self.connection.info.backend_pid)
        return usable(self)

    monkeypatch.setattr(base.DatabaseWrapper, "is_usable", is_usable)
    return checks


def new_request() -> None:
    """What the WSGI handler signals between two requests."""
    request_finished.send(sender=None)
    request_started.send(sender=None)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_timestamps_come_back_as_django_writes_them_through_psycopgs_c_loader():
    assert connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is base.UtcTimestamptzLoader
    assert type(base.UtcTimestamptzLoader(TIMESTAMPTZ, None)).__module__ in {"psycopg_binary._psycopg", "psycopg_c"}
    written = [
        datetime.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=datetime.UTC),
        # Another zone's offset is converted: the same instant, in UTC.
        datetime.datetime(2026, 7, 1, 23, 59, 59, tzinfo=datetime.timezone(datetime.timedelta(hours=-7))),
        datetime.datetime(1, 1, 1, tzinfo=datetime.UTC),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, %s::timestamptz, %s::timestamptz", written)
        read = cursor.fetchone()
    assert list(read) == written
    assert all(value.tzinfo is datetime.UTC for value in read)  # Django's own tzinfo object, not an equal one
    assert read[1].hour == 6 and read[1].day == 2

    user = get_user_model().objects.create_user("tz")
    assert get_user_model().objects.get(pk=user.pk).date_joined == user.date_joined
    joined = get_user_model().objects.filter(date_joined__lte=timezone.now()).values_list("date_joined", flat=True)
    assert joined[0].tzinfo is datetime.UTC


@pytest.mark.django_db(transaction=True)
def test_a_connection_used_a_moment_ago_skips_the_health_check_and_an_idle_one_gets_it(health_checks):
    backend_pid()
    new_request()
    backend_pid()
    assert health_checks == []  # the last query ran a moment ago

    connection._used_at -= base.HEALTHY_FOR
    new_request()
    pid = backend_pid()
    assert health_checks == [pid]  # checked once for the request, not per query
    backend_pid()
    assert health_checks == [pid]


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced_by_the_next_request(health_checks):
    dropped = backend_pid()
    with psycopg.connect(**{**connection.get_connection_params(), "context": None}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])

    # Idle past the window: the health check finds it broken and the request gets a new connection.
    connection._used_at -= base.HEALTHY_FOR
    new_request()
    replaced = backend_pid()
    assert replaced != dropped and health_checks == [dropped]

    # Dropped within the window: that request fails once, and the request after it gets a new connection.
    with psycopg.connect(**{**connection.get_connection_params(), "context": None}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [replaced])
    new_request()
    with pytest.raises(OperationalError):
        backend_pid()
    new_request()
    assert backend_pid() not in {dropped, replaced}


@pytest.mark.django_db(transaction=True)
def test_a_connection_that_had_an_error_is_checked_whatever_its_age(health_checks):
    backend_pid()
    connection.errors_occurred = True
    new_request()
    # Django itself checks a connection that saw an error when the request ends; it works, so it is kept.
    pid = backend_pid()
    assert health_checks == [pid]


SOCKET_DIR = "/var/run/postgresql"


@pytest.mark.django_db
@pytest.mark.skipif(not os.path.exists(f"{SOCKET_DIR}/.s.PGSQL.5432"), reason="no local PostgreSQL socket")
def test_a_database_url_naming_the_unix_socket_connects_through_it():
    """docs/deploy.md's one-host form, `postgres://user@%2Fvar%2Frun%2Fpostgresql/name`: settings read it as
    they read any URL, and the backend connects through the socket, not TCP."""
    parsed = dj_database_url.parse(f"postgres://{connection.settings_dict['USER']}@%2Fvar%2Frun%2Fpostgresql/x")
    assert (parsed["HOST"], parsed["PORT"], parsed["NAME"]) == (SOCKET_DIR, "", "x")
    settings = {**connection.settings_dict, "HOST": parsed["HOST"], "PORT": parsed["PORT"]}
    other = base.DatabaseWrapper(settings, alias="socket")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT inet_client_addr(), current_database()")  # no client address over a socket
            assert cursor.fetchone() == (None, connection.settings_dict["NAME"])
        assert other.connection.info.host == SOCKET_DIR
    finally:
        other.close()
