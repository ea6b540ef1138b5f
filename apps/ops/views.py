"""Probes for load balancers and orchestrators, and metrics for Prometheus. No login; they reveal nothing but
whether each part works (the reasons go to the log)."""

import hmac
import logging
import os

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from apps.artifacts.storage import FileSystemStore, get_store
from apps.ops.metrics import DatabaseCollector
from apps.ops.models import WorkerHeartbeat
from lib.metrics import exposition

logger = logging.getLogger(__name__)
PROBE_SHA256 = "0" * 64  # a blob no one stores: asking for it proves the store answers


@login_not_required
@never_cache
@require_safe  # GET or HEAD: load balancers probe with either
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and answers (nothing else is checked: a restart would not fix the database)."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready for traffic: the database answers, migrations are applied, the blob store answers and a task worker
    is alive. 200 or 503, with each check's name and "ok" or "fail"."""
    checks = {
        "database": _database,
        "migrations": _migrations,
        "storage": _storage,
        "worker": _worker,
    }
    results = {}
    for name, check in checks.items():
        try:
            results[name] = "ok" if check() else "fail"
        except Exception:  # noqa: BLE001 - a probe reports the failure; the reason goes to the log only
            logger.exception("Readiness check %s failed", name)
            results[name] = "fail"
    ready = all(result == "ok" for result in results.values())
    return JsonResponse({"status": "ok" if ready else "fail", "checks": results}, status=200 if ready else 503)


def _database() -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


_migrated = False  # once every migration is applied it stays so for this code: skip reading the migration files


def _migrations() -> bool:
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


def _storage() -> bool:
    store = get_store()
    if isinstance(store, FileSystemStore):  # a missing or read-only folder answers "not there" to every question
        folder = store.root if store.root.exists() else store.root.parent
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            return False
    store.exists(PROBE_SHA256)  # raises when the store cannot be reached or refuses our credentials
    return True


def _worker() -> bool:
    if not settings.READYZ_REQUIRES_WORKER:
        return True
    return WorkerHeartbeat.objects.alive(settings.WORKER_STALE_SECONDS).exists()


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, for `Authorization: Bearer <METRICS_TOKEN>`; 404 while no token is set."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        response = HttpResponse("A valid metrics token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition(DatabaseCollector())
    return HttpResponse(body, content_type=content_type)
