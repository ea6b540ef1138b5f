"""Collections in the Django admin: renames, descriptions and deletions go through the collection services."""

from django.contrib import admin

from apps.collections.models import Collection
from apps.collections.services import delete_collection, rename_collection, update_collection_description
from lib.service_admin import ServiceAdmin


@admin.register(Collection)
class CollectionAdmin(ServiceAdmin):
    list_display = ["name", "registry", "type", "next_index", "updated_at"]
    list_filter = ["type"]
    search_fields = ["name", "registry__name"]
    list_select_related = ["registry"]
    readonly_fields = ["registry", "type", "next_index", "created_by", "created_at", "updated_at"]
    fields = ["name", "description", *readonly_fields]

    def save_with_service(self, request, obj, form):
        collection = self.saved_copy(obj)
        if "name" in form.changed_data:
            rename_collection(actor=request.user, collection=collection, name=obj.name)
        if "description" in form.changed_data:
            update_collection_description(actor=request.user, collection=collection, description=obj.description)

    def delete_with_service(self, request, obj):
        # A collection holding a protected alias needs a registry admin, as in the UI.
        delete_collection(actor=request.user, collection=obj)
