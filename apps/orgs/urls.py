from django.urls import path

from apps.orgs import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/switch/", views.org_switch, name="org_switch"),
    path("orgs/<slug:org_slug>/audit/", views.org_audit, name="org_audit"),
    path("orgs/<slug:org_slug>/audit/export/", views.org_audit_export, name="org_audit_export"),
]
