"""`manage.py db_worker`: django-tasks-db's worker, plus a heartbeat thread.

Listed before django_tasks_db in INSTALLED_APPS, this command takes the place of django-tasks-db's own (Django
runs the first app's command of a name). Every WORKER_HEARTBEAT_SECONDS the thread records that this worker is
alive (`/readyz` needs one) and puts back in the queue the tasks a silent worker still held, so a worker killed
mid-task has its task run by another.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from apps.ops.services import beat, forget_worker, requeue_orphaned_tasks

logger = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    """Beats until stopped, in its own thread (and so its own database connection)."""

    def __init__(self, worker_id: str):
        super().__init__(name="worker-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.stopping = threading.Event()

    def run(self) -> None:
        while True:
            try:
                close_old_connections()
                beat(worker_id=self.worker_id)
                requeue_orphaned_tasks(stale_after=settings.WORKER_STALE_SECONDS)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat; the next beat retries
                logger.exception("Worker heartbeat failed")
            if self.stopping.wait(settings.WORKER_HEARTBEAT_SECONDS):
                break
        try:
            forget_worker(worker_id=self.worker_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class Command(DatabaseWorkerCommand):
    help = "Run a database task worker, with a heartbeat (readiness) and recovery of tasks a dead worker held"

    def handle(self, *args, worker_id: str, **options) -> None:
        if options.get("batch"):  # a one-off run of what is queued (cron, tests) is no standing worker: no heartbeat
            return super().handle(*args, worker_id=worker_id, **options)
        heartbeat = Heartbeat(worker_id)
        heartbeat.start()
        try:
            super().handle(*args, worker_id=worker_id, **options)
        finally:
            heartbeat.stop()
