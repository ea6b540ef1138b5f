from importlib import import_module

from django.urls import URLPattern, URLResolver, path

from apps.registries import views

app_name = "registries"

registry = "orgs/<slug:org_slug>/registry/<slug:reg_slug>/"
registry_settings = registry + "settings/"

urlpatterns = [
    path("orgs/<slug:org_slug>/registry/", views.landing, name="landing"),
    path("orgs/<slug:org_slug>/registry/new/", views.registry_create, name="registry_create"),
    path("orgs/<slug:org_slug>/registry/search/", views.search, name="search"),
    path("orgs/<slug:org_slug>/registry/preference/", views.registry_ui_preference, name="registry_ui_preference"),
    path("orgs/<slug:org_slug>/legacy-registry/", views.legacy_registry, name="legacy_registry"),
    # W&B deep links name the registry (spaces, prefix and all) and carry no trailing slash.
    path("orgs/<slug:org_slug>/registry/<str:name>", views.registry_deep_link, name="registry_deep_link"),
    path(registry, views.registry_detail, name="registry_detail"),
    path(registry + "star/", views.registry_star, name="registry_star"),
    path(registry + "new/", views.collection_create, name="collection_create"),
    path(registry + "link/", views.registry_link, name="registry_link"),
    path(registry + "audit/", views.registry_audit, name="registry_audit"),
    path(registry + "audit/export/", views.registry_audit_export, name="registry_audit_export"),
    path(registry_settings, views.registry_settings, name="registry_settings"),
    path(registry_settings + "description/", views.registry_settings_description, name="registry_settings_description"),
    path(registry_settings + "rename/", views.registry_settings_rename, name="registry_settings_rename"),
    path(registry_settings + "visibility/", views.registry_settings_visibility, name="registry_settings_visibility"),
    path(registry_settings + "types/", views.registry_settings_types, name="registry_settings_types"),
    path(registry_settings + "aliases/add/", views.registry_settings_alias_add, name="registry_settings_alias_add"),
    path(
        registry_settings + "aliases/remove/",
        views.registry_settings_alias_remove,
        name="registry_settings_alias_remove",
    ),
    path(registry_settings + "members/add/", views.registry_settings_member_add, name="registry_settings_member_add"),
    path(
        registry_settings + "members/suggest/",
        views.registry_settings_member_suggest,
        name="registry_settings_member_suggest",
    ),
    path(
        registry_settings + "members/role/", views.registry_settings_member_role, name="registry_settings_member_role"
    ),
    path(
        registry_settings + "members/remove/",
        views.registry_settings_member_remove,
        name="registry_settings_member_remove",
    ),
    path(registry_settings + "owner/", views.registry_settings_owner, name="registry_settings_owner"),
    path(registry_settings + "delete/", views.registry_settings_delete, name="registry_settings_delete"),
]


def behind_registry_ui_flag(urlconf: str) -> tuple[list, str | None]:
    """Include `urlconf` so that each of its views answers 404 while ENABLE_REGISTRY_UI is off.

    The setting is read on every request, so it can change without reloading the URLconf.
    """
    module = import_module(urlconf)

    def gate(patterns):
        gated = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                gated.append(
                    URLResolver(
                        pattern.pattern,
                        gate(pattern.url_patterns),
                        pattern.default_kwargs,
                        pattern.app_name,
                        pattern.namespace,
                    )
                )
            else:
                gated.append(
                    URLPattern(
                        pattern.pattern,
                        views.registry_ui_required(pattern.callback),
                        pattern.default_args,
                        pattern.name,
                    )
                )
        return gated

    return gate(module.urlpatterns), getattr(module, "app_name", None)
