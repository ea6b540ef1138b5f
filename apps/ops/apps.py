from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running Registry in production: health and readiness probes, metrics, the task worker's heartbeat and
    the recovery of tasks a dead worker held, and the audit of login lockouts."""

    name = "apps.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self):
        from axes.signals import user_locked_out

        from apps.ops.services import record_lockout

        user_locked_out.connect(record_lockout, dispatch_uid="ops-record-lockout")
