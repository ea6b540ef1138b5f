"""Writes of the operations app: login lockouts into the audit log, the worker's heartbeat, recovering tasks."""

import datetime
import logging
import os
import socket

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from apps.audit.models import Action, AuditEvent
from apps.audit.services import record
from apps.ops.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


@transaction.atomic
def record_lockout(sender=None, *, request=None, username: str | None = None, ip_address: str | None = None, **kwargs):
    """Audit a login lockout (django-axes' `user_locked_out` signal): one event when the lockout starts, not one per
    refused attempt while it lasts (those would let a guesser flood the log)."""
    username = (username or "")[:150]
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    if AuditEvent.objects.filter(
        action=Action.USER_LOCKOUT, created_at__gte=since, data__username=username, actor_ip=ip_address
    ).exists():
        return
    user = get_user_model().objects.filter(username=username).first()
    record(
        actor=None,
        org=None,
        action=Action.USER_LOCKOUT,
        target=user,
        data={
            "username": username,
            "ip": ip_address,
            "failures": settings.AXES_FAILURE_LIMIT,
            "locked_for_minutes": int(settings.AXES_COOLOFF_TIME / datetime.timedelta(minutes=1)),
        },
    )


# --- the task worker's heartbeat ---------------------------------------------------------------------------------


def beat(*, worker_id: str) -> None:
    """Say this worker is alive (one upsert)."""
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"last_seen": timezone.now()},
        create_defaults={"last_seen": timezone.now(), "host": socket.gethostname()[:255], "pid": os.getpid()},
    )


def forget_worker(*, worker_id: str) -> None:
    """A worker that stops cleanly takes its heartbeat with it."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def requeue_orphaned_tasks(*, stale_after: float) -> list[str]:
    """Put back in the queue the tasks still marked running by a worker not heard from for `stale_after` seconds
    (killed, or its host lost): another worker then runs them. Returns their ids.

    A task is only re-run when its worker is silent, not when it is merely slow: the heartbeat runs in its own
    thread and goes on during a long task. Tasks must tolerate a second run after such a death (automation
    deliveries do: a run is sent only while it is pending, and each attempt is counted).
    """
    now = timezone.now()
    cutoff = now - datetime.timedelta(seconds=stale_after)
    alive = set(WorkerHeartbeat.objects.alive(stale_after).values_list("worker_id", flat=True))
    requeued = []
    with transaction.atomic():
        # SKIP LOCKED: two workers recovering at once never both take a task (PostgreSQL; SQLite serializes writers).
        running = DBTaskResult.objects.running().filter(started_at__lt=cutoff).select_for_update(skip_locked=True)
        for task in running:
            if task.worker_ids and task.worker_ids[-1] in alive:
                continue
            task.status = TaskResultStatus.READY
            task.started_at = None
            task.save(update_fields=["status", "started_at"])
            requeued.append(str(task.id))
            logger.warning(
                "Task %s (%s) held by dead worker %s: queued again", task.id, task.task_path, task.worker_ids
            )
        # Heartbeats of workers gone for a day are only noise.
        WorkerHeartbeat.objects.filter(last_seen__lt=now - datetime.timedelta(days=1)).delete()
    return requeued
