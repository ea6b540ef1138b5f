from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "apps.automations"
    label = "automations"
    verbose_name = "Automations"

    def ready(self) -> None:
        # Automations react to committed audit events; the services that write them never call us.
        from apps.audit.services import subscribe
        from apps.automations.services import queue_runs_for_event

        subscribe(queue_runs_for_event)
