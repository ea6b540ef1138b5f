from django.urls import path

from apps.registries.views import audit, registry, settings

app_name = "registries"

REGISTRY = "orgs/<slug:org_slug>/registry/<slug:reg_slug>/"
SETTINGS = REGISTRY + "settings/"

urlpatterns = [
    path("orgs/<slug:org_slug>/registry/new/", registry.registry_create, name="registry_create"),
    path("orgs/<slug:org_slug>/registry/preference/", registry.registry_ui_preference, name="registry_ui_preference"),
    path("orgs/<slug:org_slug>/legacy-registry/", registry.legacy_registry, name="legacy_registry"),
    path(REGISTRY + "star/", registry.registry_star, name="registry_star"),
    path(REGISTRY + "audit/", audit.registry_audit, name="registry_audit"),
    path(REGISTRY + "audit/export/", audit.registry_audit_export, name="registry_audit_export"),
    path(SETTINGS, settings.registry_settings, name="registry_settings"),
    path(SETTINGS + "description/", settings.registry_settings_description, name="registry_settings_description"),
    path(SETTINGS + "rename/", settings.registry_settings_rename, name="registry_settings_rename"),
    path(SETTINGS + "visibility/", settings.registry_settings_visibility, name="registry_settings_visibility"),
    path(SETTINGS + "types/", settings.registry_settings_types, name="registry_settings_types"),
    path(SETTINGS + "aliases/add/", settings.registry_settings_alias_add, name="registry_settings_alias_add"),
    path(
        SETTINGS + "aliases/remove/",
        settings.registry_settings_alias_remove,
        name="registry_settings_alias_remove",
    ),
    path(SETTINGS + "members/add/", settings.registry_settings_member_add, name="registry_settings_member_add"),
    path(
        SETTINGS + "members/suggest/",
        settings.registry_settings_member_suggest,
        name="registry_settings_member_suggest",
    ),
    path(SETTINGS + "members/role/", settings.registry_settings_member_role, name="registry_settings_member_role"),
    path(
        SETTINGS + "members/remove/",
        settings.registry_settings_member_remove,
        name="registry_settings_member_remove",
    ),
    path(SETTINGS + "owner/", settings.registry_settings_owner, name="registry_settings_owner"),
    path(SETTINGS + "delete/", settings.registry_settings_delete, name="registry_settings_delete"),
]
