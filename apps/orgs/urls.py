from django.urls import path

from apps.orgs import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/switch/", views.org_switch, name="org_switch"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("orgs/<slug:org_slug>/audit/", views.org_audit, name="org_audit"),
    path("orgs/<slug:org_slug>/audit/export/", views.org_audit_export, name="org_audit_export"),
]
