"""Staff views of the legacy Model Registry: read-only rows, and the migration as an admin action.

The action queues one task per team for the worker (`manage.py db_worker`); the list shows each
team's progress (models migrated of all) and whether the migration finished.
"""

from django.contrib import admin, messages
from django.db.models import Count, Q

from apps.legacy.models import LegacyMigration, LegacyTeam, RegisteredModel
from apps.legacy.tasks import migrate_legacy_registry_task


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "next_index", "migrated_to", "updated_at"]
    list_select_related = ["team", "migrated_to"]
    search_fields = ["name", "team__name"]


@admin.register(LegacyMigration)
class LegacyMigrationAdmin(ReadOnlyAdmin):
    list_display = ["team", "registry_name", "created_at", "finished_at"]
    list_select_related = ["team"]


@admin.action(description="Migrate selected legacy model registries (runs in the worker)")
def migrate_selected(modeladmin, request, queryset):
    teams = list(queryset)
    for team in teams:
        migrate_legacy_registry_task.enqueue(team.pk)
    names = ", ".join(team.name for team in teams)
    modeladmin.message_user(request, f"Migration queued for {names}. Progress shows below.", messages.SUCCESS)


@admin.register(LegacyTeam)
class LegacyTeamAdmin(ReadOnlyAdmin):
    list_display = ["name", "org", "progress", "status"]
    list_select_related = ["org", "legacy_migration"]
    actions = [migrate_selected]

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser  # actions need it; every field stays read-only

    def get_readonly_fields(self, request, obj=None):
        return ["name", "org"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                model_count=Count("registered_models", distinct=True),
                migrated_count=Count(
                    "registered_models", filter=Q(registered_models__migrated_to__isnull=False), distinct=True
                ),
            )
            .filter(model_count__gt=0)
        )

    @admin.display(description="Models migrated")
    def progress(self, team) -> str:
        return f"{team.migrated_count} / {team.model_count}"

    @admin.display(description="Status")
    def status(self, team) -> str:
        migration = getattr(team, "legacy_migration", None)
        if migration is None:
            return "not migrated"
        return (
            f"migrated to {migration.registry_name}"
            if migration.finished_at
            else f"migrating to {migration.registry_name}"
        )
