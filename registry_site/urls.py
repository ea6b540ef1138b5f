"""URL wiring only."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.automations import views as automation_views
from apps.orgs import views as org_views
from registry_site.api import api

urlpatterns = [
    # First: Django tries patterns in order and API calls are the most frequent requests (creating a version tried
    # 78 patterns, 32 of them before the API's). Every path resolves as before: none of the patterns it now
    # precedes (ops, orgs, login, logout, admin) can match a path under `api/v1/`.
    path("api/v1/", api.urls),
    path("", include("apps.ops.urls")),  # /healthz, /readyz, /metrics: no login, exempt from the HTTPS redirect
    path("", include("apps.orgs.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # W&B's audit-log API lives beside the Django admin, at the same path as in W&B Server.
    path("admin/audit_logs", org_views.audit_logs, name="audit_logs"),
    path("admin/", admin.site.urls),
    path("", include("apps.wandb_api.urls")),  # the wandb SDK: /graphql, file_stream, signed transfers
    path("demo/webhook-receiver/", automation_views.demo_receiver, name="demo_webhook_receiver"),
    # Registry App pages (404 while ENABLE_REGISTRY_UI is off: apps.registries.middleware).
    path("", include("apps.registries.urls")),
    # MLflow's registry API under each registry (`…/<registry>/mlflow/api/2.0/mlflow/…`).
    path("", include("apps.mlflow_api.urls")),
    # Before collections: `…/<registry>/automations/` would otherwise be read as a collection.
    path("", include("apps.automations.urls")),
    path("", include("apps.collections.urls")),
    # The legacy Model Registry (`<team>/registry/model`), before `<team>/<project>/…` source pages.
    path("", include("apps.legacy.urls")),
    path("", include("apps.artifacts.urls")),
]
