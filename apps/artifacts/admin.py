"""Projects and artifact versions in the Django admin: read-only, except deleting a project through its service.

Artifact versions are published data: their team deletes them (a soft delete, restorable for the retention
period, through the pages and API), so the admin only reads them.
"""

from django.contrib import admin

from apps.artifacts.models import ArtifactVersion, Project
from apps.artifacts.services import delete_project
from lib.service_admin import ServiceAdmin


@admin.register(Project)
class ProjectAdmin(ServiceAdmin):
    list_display = ["name", "team", "created_at"]
    search_fields = ["name", "team__name"]
    list_select_related = ["team"]

    def has_change_permission(self, request, obj=None):
        return False

    def delete_with_service(self, request, obj):
        delete_project(actor=request.user, project=obj)


@admin.register(ArtifactVersion)
class ArtifactVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "state", "size", "created_at", "expires_at", "deleted_at", "purged_at"]
    list_filter = ["state"]
    list_select_related = ["sequence__project__team"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
