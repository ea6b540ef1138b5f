"""Registries in the Django admin, with per-registry roles through guardian's object-permission pages.

Role changes made here go through the registry services, so they are validated and audited.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from guardian.admin import GuardedModelAdmin
from guardian.forms import GroupObjectPermissionsForm, UserObjectPermissionsForm

from apps.orgs.models import Team
from apps.orgs.permissions import Role, direct_role
from apps.registries.models import ProtectedAlias, Registry
from apps.registries.services import grant_registry_role, revoke_registry_role

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
class RegistryAdmin(GuardedModelAdmin):
    list_display = ["name", "org", "visibility", "is_core", "created_at"]
    list_filter = ["org", "visibility", "is_core"]
    search_fields = ["name", "description"]
    readonly_fields = [
        "org",
        "name",
        "slug",
        "is_core",
        "visibility",
        "allow_all_types",
        "artifact_types",
        "owner",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields + ["description"]
    inlines = [ProtectedAliasInline]

    def has_add_permission(self, request):
        return False

    def get_obj_perms_manage_user_form(self, request):
        return type("BoundRegistryUserRoleForm", (RegistryUserRoleForm,), {"actor": request.user})

    def get_obj_perms_manage_group_form(self, request):
        return type("BoundRegistryGroupRoleForm", (RegistryGroupRoleForm,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        from apps.registries.services import update_registry_description

        if "description" in form.changed_data:
            update_registry_description(actor=request.user, registry=obj, description=obj.description)
