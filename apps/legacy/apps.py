from django.apps import AppConfig


class LegacyConfig(AppConfig):
    name = "apps.legacy"
    label = "legacy"
    verbose_name = "Legacy Model Registry"

    def ready(self) -> None:
        # A registered model's "New version linked" notification reacts to committed audit events.
        from apps.audit.services import subscribe
        from apps.collections.models import PATH_RESOLVERS
        from apps.collections.services import PROJECT_LINKERS
        from apps.legacy.models import LEGACY_PROJECT
        from apps.legacy.notify import notify_for_event
        from apps.legacy.paths import link_by_path, resolve_legacy_path

        subscribe(notify_for_event)
        # `<team>/model-registry/<name>:<v>` wherever collections resolve a path (API, client, GraphQL).
        if resolve_legacy_path not in PATH_RESOLVERS:
            PATH_RESOLVERS.append(resolve_legacy_path)
        PROJECT_LINKERS[LEGACY_PROJECT] = link_by_path
