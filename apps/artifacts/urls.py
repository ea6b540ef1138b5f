from django.urls import path

from apps.artifacts import views

app_name = "artifacts"

# `<team>/<project>/artifacts/…`, as in W&B: team names and usernames share one namespace.
urlpatterns = [
    path("<slug:team>/<str:project>/artifacts/", views.artifact_list, name="artifact_list"),
    path("<slug:team>/<str:project>/artifacts/<str:name>/", views.sequence_detail, name="sequence_detail"),
    path(
        "<slug:team>/<str:project>/artifacts/<str:name>/<str:version>/",
        views.version_detail,
        name="version_detail",
    ),
    path(
        "<slug:team>/<str:project>/artifacts/<str:name>/<str:version>/restore/",
        views.version_restore,
        name="version_restore",
    ),
    path(
        "<slug:team>/<str:project>/artifacts/<str:name>/<str:version>/ttl/",
        views.version_ttl,
        name="version_ttl",
    ),
    path(
        "<slug:team>/<str:project>/artifacts/<str:name>/<str:version>/files/<int:entry_id>/",
        views.version_file,
        name="version_file",
    ),
    path(
        "<slug:team>/<str:project>/artifacts/<str:name>/<str:version>/files/<int:entry_id>/thumbnail/",
        views.version_thumbnail,
        name="version_thumbnail",
    ),
]
