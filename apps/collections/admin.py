from django.contrib import admin

from apps.collections.models import Collection


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    """Browse collections; changes go through the app (and its audited services)."""

    list_display = ["name", "registry", "type", "next_index", "updated_at"]
    list_filter = ["type"]
    search_fields = ["name", "registry__name"]
    list_select_related = ["registry"]
    readonly_fields = [
        "registry",
        "name",
        "type",
        "description",
        "next_index",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
