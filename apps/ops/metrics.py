"""Figures /metrics reads from the database at each scrape: the same whichever process or host answers."""

from django.conf import settings
from django.db.models import Count
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from apps.automations.models import AutomationRun, RunStatus
from apps.ops.models import WorkerHeartbeat


class DatabaseCollector:
    """Task queue depth, running and failed tasks, failed automation deliveries and live workers (four queries)."""

    def collect(self):
        depth = GaugeMetricFamily(
            "registry_task_queue_depth", "Tasks ready to run, waiting for a worker.", labels=["queue"]
        )
        for row in DBTaskResult.objects.ready().values("queue_name").annotate(n=Count("id")).order_by():
            depth.add_metric([row["queue_name"]], row["n"])
        running = GaugeMetricFamily("registry_tasks_running", "Tasks a worker is running now.", labels=["task"])
        failures = CounterMetricFamily(
            "registry_task_failures",
            "Tasks that ended with an error (as long as their results are kept).",
            labels=["task"],
        )
        rows = (
            DBTaskResult.objects.filter(status__in=[TaskResultStatus.RUNNING, TaskResultStatus.FAILED])
            .values("status", "task_path")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            family = running if row["status"] == TaskResultStatus.RUNNING else failures
            family.add_metric([row["task_path"]], row["n"])
        deliveries = CounterMetricFamily(
            "registry_automation_deliveries_failed", "Automation runs whose webhook delivery failed for good."
        )
        deliveries.add_metric([], AutomationRun.objects.filter(status=RunStatus.FAILED).count())
        workers = GaugeMetricFamily("registry_task_workers_alive", "Task workers that sent a heartbeat recently.")
        workers.add_metric([], WorkerHeartbeat.objects.alive(settings.WORKER_STALE_SECONDS).count())
        return [depth, running, failures, deliveries, workers]
