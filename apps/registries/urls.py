from django.urls import path

from apps.registries import views

app_name = "registries"

urlpatterns = [
    path("orgs/<slug:org_slug>/registry/", views.landing, name="landing"),
    path("orgs/<slug:org_slug>/registry/<slug:reg_slug>/", views.registry_detail, name="registry_detail"),
]
