from django.apps import AppConfig


class LegacyConfig(AppConfig):
    name = "apps.legacy"
    label = "legacy"
    verbose_name = "Legacy Model Registry"

    def ready(self) -> None:
        # A registered model's "New version linked" notification reacts to committed audit events.
        from apps.audit.services import subscribe
        from apps.legacy.notify import notify_for_event

        subscribe(notify_for_event)
