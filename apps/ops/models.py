"""The task workers' heartbeats: readiness needs a live worker, and tasks held by a dead one go back to the queue."""

import datetime

from django.db import models
from django.utils import timezone


class WorkerHeartbeatQuerySet(models.QuerySet):
    def alive(self, stale_after: float) -> "WorkerHeartbeatQuerySet":
        """Workers heard from within the last `stale_after` seconds."""
        return self.filter(last_seen__gte=timezone.now() - datetime.timedelta(seconds=stale_after))


class WorkerHeartbeat(models.Model):
    """A task worker's last sign of life, written by `manage.py db_worker` every WORKER_HEARTBEAT_SECONDS."""

    worker_id = models.CharField(max_length=64, unique=True)  # django-tasks-db's id, recorded on the tasks it claims
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(db_index=True)

    objects = WorkerHeartbeatQuerySet.as_manager()

    def __str__(self) -> str:
        return f"worker {self.worker_id} ({self.host}, pid {self.pid})"
