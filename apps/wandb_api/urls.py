"""The paths the wandb SDK calls (under WANDB_BASE_URL), and our signed transfer URLs."""

from django.urls import path

from apps.wandb_api import views

app_name = "wandb_api"

urlpatterns = [
    path("graphql", views.graphql, name="graphql"),
    path("files/<str:entity>/<str:project>/<str:run>/file_stream", views.file_stream, name="file_stream"),
    path("wandb/files/<str:token>", views.file_upload, name="file_upload"),
    path("wandb/manifests/upload/<str:token>", views.manifest_upload, name="manifest_upload"),
    path("wandb/manifests/<str:token>", views.manifest_download, name="manifest_download"),
]
