from django.urls import path

from apps.collections import views

app_name = "collections"

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/registry/<slug:reg_slug>/<str:name>/",
        views.collection_detail,
        name="collection_detail",
    ),
    path(
        "orgs/<slug:org_slug>/registry/<slug:reg_slug>/<str:name>/v<int:index>/",
        views.version_detail,
        name="version_detail",
    ),
]
