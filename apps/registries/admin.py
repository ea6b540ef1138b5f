"""Registries in the Django admin, with per-registry roles through guardian's object-permission pages.

Every change made here (name, description, roles, deletion) goes through the registry services, so it is
checked, validated and audited; core registries cannot be deleted here either.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from guardian.admin import GuardedModelAdmin
from guardian.forms import GroupObjectPermissionsForm, UserObjectPermissionsForm

from apps.orgs.models import Team
from apps.orgs.permissions import Role, direct_role
from apps.registries.models import ProtectedAlias, Registry
from apps.registries.services import (
    change_registry_visibility,
    delete_registry,
    grant_registry_role,
    rename_registry,
    revoke_registry_role,
    update_registry_description,
)
from lib.service_admin import ServiceAdmin

NO_ROLE = ""
ROLE_CHOICES = [(NO_ROLE, "— no role of their own —"), *Role.choices]


class _RoleFormMixin:
    """Replace guardian's permission checklist by a single registry role."""

    actor = None

    def get_obj_perms_field_class(self):
        return forms.ChoiceField

    def get_obj_perms_field_widget(self):
        return forms.Select

    def get_obj_perms_field_choices(self):
        return ROLE_CHOICES

    def get_obj_perms_field_initial(self):
        return direct_role(self.principal_target(), self.obj) or NO_ROLE

    def get_obj_perms_field_label(self):
        return "Registry role"

    def principal(self):
        raise NotImplementedError

    def principal_target(self):
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        self._apply(dry_run=True)
        return cleaned

    def _apply(self, dry_run: bool = False):
        role = self.cleaned_data.get(self.get_obj_perms_field_name(), NO_ROLE)
        principal = self.principal()
        if principal is None:
            raise ValidationError("Only teams can be given registry roles (org role groups are managed by the org).")
        if dry_run:
            return
        if role == NO_ROLE:
            if direct_role(self.principal_target(), self.obj) is not None:
                revoke_registry_role(actor=self.actor, registry=self.obj, principal=principal)
        else:
            grant_registry_role(actor=self.actor, registry=self.obj, principal=principal, role=role)

    def save_obj_perms(self):
        self._apply()


class RegistryUserRoleForm(_RoleFormMixin, UserObjectPermissionsForm):
    def principal(self):
        return self.user

    def principal_target(self):
        return self.user


class RegistryGroupRoleForm(_RoleFormMixin, GroupObjectPermissionsForm):
    def principal(self):
        return Team.objects.filter(group=self.group).first()

    def principal_target(self):
        return self.group


class ProtectedAliasInline(admin.TabularInline):
    model = ProtectedAlias
    extra = 0
    readonly_fields = ["alias", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Registry)
class RegistryAdmin(ServiceAdmin, GuardedModelAdmin):
    list_display = ["name", "org", "visibility", "is_core", "created_at"]
    list_filter = ["org", "visibility", "is_core"]
    search_fields = ["name", "description"]
    readonly_fields = [
        "org",
        "slug",
        "is_core",
        "allow_all_types",
        "artifact_types",
        "owner",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fields = ["name", "description", "visibility", *readonly_fields]
    inlines = [ProtectedAliasInline]

    def get_obj_perms_manage_user_form(self, request):
        return type("BoundRegistryUserRoleForm", (RegistryUserRoleForm,), {"actor": request.user})

    def get_obj_perms_manage_group_form(self, request):
        return type("BoundRegistryGroupRoleForm", (RegistryGroupRoleForm,), {"actor": request.user})

    def save_with_service(self, request, obj, form):
        registry = self.saved_copy(obj)
        if "name" in form.changed_data:
            rename_registry(actor=request.user, registry=registry, name=obj.name)
        if "description" in form.changed_data:
            update_registry_description(actor=request.user, registry=registry, description=obj.description)
        if "visibility" in form.changed_data:
            change_registry_visibility(actor=request.user, registry=registry, visibility=obj.visibility)

    def delete_with_service(self, request, obj):
        # The admin's own confirmation page stands in for the UI's "type the name" check.
        delete_registry(actor=request.user, registry=obj, confirm_name=obj.name)
