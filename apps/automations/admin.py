"""Read-only views of automations for staff: every change goes through the services (and the audit log)."""

from django.contrib import admin

from apps.automations.models import Automation, AutomationRun, Secret, Webhook


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Secret)
class SecretAdmin(ReadOnlyAdmin):
    list_display = ["name", "org", "created_by", "updated_at"]
    list_filter = ["org"]
    # SECURITY: the ciphertext stays out of the admin, too.
    fields = ["org", "name", "created_by", "created_at", "updated_at"]


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "org", "url", "access_token", "signing_secret", "created_at"]
    list_filter = ["org", "kind"]
    search_fields = ["name", "url"]


@admin.register(Automation)
class AutomationAdmin(ReadOnlyAdmin):
    list_display = ["name", "org", "scope", "registry", "collection", "team", "event_type", "webhook", "enabled"]
    list_filter = ["scope", "event_type", "enabled"]
    search_fields = ["name"]
    list_select_related = ["org", "registry__org", "collection__registry", "team", "webhook"]


@admin.register(AutomationRun)
class AutomationRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "automation", "status", "attempts", "response_status", "created_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["automation"]
    raw_id_fields = ["event", "replay_of"]
