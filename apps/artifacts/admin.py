from django.contrib import admin

from apps.artifacts.models import ArtifactVersion, Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_at"]
    search_fields = ["name", "team__name"]
    readonly_fields = ["team", "name", "created_at"]


@admin.register(ArtifactVersion)
class ArtifactVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "state", "size", "created_at"]
    list_filter = ["state"]
    list_select_related = ["sequence__project__team"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
