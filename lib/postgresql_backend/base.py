"""Django's PostgreSQL backend with two costs of every request taken out (docs/decisions.md, "PostgreSQL backend").

**Timestamps are read by psycopg's C loader.** Django registers its own loader for `timestamptz` so that every
datetime it reads carries Django's time zone. That loader subclasses psycopg's pure-Python one, so each timestamp
a query returns is parsed in Python: about 4.5 µs, where psycopg's C loader takes 0.35 µs (half a millisecond for a
page of 100 versions). With USE_TZ and the connection's time zone UTC (Django sets `TIME ZONE 'UTC'` on each new
connection), psycopg's own loader already returns `datetime.timezone.utc` datetimes, Django's exactly, so it is
registered in its place. psycopg's C classes cannot be subclassed, so the registered class only carries the
`timezone` Django's cursor compares and hands out psycopg's loader.

**A connection used in the last half second is not health-checked again.** With CONN_HEALTH_CHECKS, Django sends
`SELECT 1` before the first query of every request: one more round trip per call, about a tenth of a millisecond
here. A connection that ran a query without error less than `HEALTHY_FOR` seconds ago skips it, as connection pools
do (HikariCP's `aliveBypassWindowMs`, 500 ms). A connection that breaks inside that window (the server restarted)
fails that request once; Django then sees the error and closes it at the request's end, as without health checks.
"""

import datetime
import functools
import time

from django.conf import settings
from django.db.backends.postgresql import base

try:
    import psycopg
    from psycopg.adapt import AdaptersMap
    from psycopg.pq import Format
except ImportError:  # psycopg2: Django's backend as it is
    psycopg = None

HEALTHY_FOR = 0.5


def _c_timestamptz_loader():
    """psycopg's C loader for text timestamptz, or None without psycopg's C implementation (psycopg[binary]/[c])."""
    if psycopg is None or psycopg.pq.__impl__ == "python":
        return None
    return psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, Format.TEXT)


class UtcTimestamptzLoader:
    """Stands in the adapters map for psycopg's C loader: Django reads `timezone` off the registered class."""

    format = Format.TEXT if psycopg else None
    timezone = datetime.UTC
    loader = _c_timestamptz_loader()

    def __new__(cls, oid, context=None):
        return cls.loader(oid, context)


@functools.cache
def _with_c_timestamps(template: "AdaptersMap") -> "AdaptersMap":
    """Django's adapters (one template per time zone setting) with the C timestamp loader, made once per template."""
    context = AdaptersMap(template)
    context.register_loader("timestamptz", UtcTimestamptzLoader)
    return context


class DatabaseWrapper(base.DatabaseWrapper):
    _used_at = -HEALTHY_FOR  # time.monotonic() of the last query

    def get_connection_params(self):
        params = super().get_connection_params()
        utc = settings.USE_TZ and self.timezone is datetime.UTC
        if "context" in params and UtcTimestamptzLoader.loader and utc:
            params["context"] = _with_c_timestamps(params["context"])
        return params

    def create_cursor(self, name=None):
        self._used_at = time.monotonic()
        return super().create_cursor(name)

    def close_if_health_check_failed(self):
        if self.connection is not None and not self.errors_occurred and time.monotonic() - self._used_at < HEALTHY_FOR:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
