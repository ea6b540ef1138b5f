"""Background maintenance that `manage.py db_worker` runs: the storage cleanup, once an hour.

The database task backend has no scheduler, so each run queues the next (deduplicated: at most one
waits at a time), and `manage.py cleanup_storage --schedule` starts the chain where the worker
starts (`make run`, `make worker`; README "Production"). A worker killed mid-run leaves no next
run queued; the next `--schedule` queues one again.
"""

import datetime

from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from apps.artifacts.services import CleanupReport, cleanup_storage
from apps.audit.services import AuditContext, reset_context, set_context
from apps.orgs.permissions import SYSTEM_ACTOR

CLEANUP_EVERY = datetime.timedelta(hours=1)


def report_counts(report: CleanupReport) -> dict[str, int]:
    """How many things of each kind a cleanup removed (the task's result, the command's summary)."""
    return {
        "pending versions": len(report.versions),
        "expired versions": len(report.expired),
        "released deleted versions": len(report.purged),
        "blobs": len(report.blobs),
        "orphan blobs": len(report.orphans),
        "upload leftovers": len(report.leftovers),
        "bytes": sum(size for _, size in report.blobs + report.orphans) + sum(x.size for x in report.leftovers),
    }


@task()
def cleanup_storage_task() -> dict[str, int]:
    """Run the storage cleanup as the system, then queue the next run."""
    token = set_context(AuditContext(detail="system:worker"))
    try:
        return report_counts(cleanup_storage(actor=SYSTEM_ACTOR))
    finally:
        reset_context(token)
        schedule_cleanup()


def schedule_cleanup(delay: datetime.timedelta = CLEANUP_EVERY) -> bool:
    """Queue a cleanup `delay` from now unless one is already waiting. Returns whether it queued one.

    Only on the database backend: it is the one whose queue can be read here, and an immediate
    backend would run the chain forever, at once.
    """
    if not isinstance(cleanup_storage_task.get_backend(), DatabaseBackend):
        return False
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two workers finishing at once would both see no waiting run; take turns. (SQLite
            # transactions already take the write lock up front.)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('artifacts.cleanup_storage_task'))")
        waiting = DBTaskResult.objects.filter(task_path=cleanup_storage_task.module_path, status=TaskResultStatus.READY)
        if waiting.exists():
            return False
        cleanup_storage_task.using(run_after=timezone.now() + delay).enqueue()
    return True
