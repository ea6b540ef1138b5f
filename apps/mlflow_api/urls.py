from django.urls import path

from apps.mlflow_api import views

app_name = "mlflow_api"

# MLFLOW_REGISTRY_URI is the prefix; the client appends `/api/2.0/mlflow/...` (and `ajax-api` in MLflow's UI).
PREFIX = "orgs/<slug:org_slug>/registry/<slug:reg_slug>/mlflow/"
ROUTES = {
    "registered-models/create": views.model_create,
    "registered-models/get": views.model_get,
    "registered-models/rename": views.model_rename,
    "registered-models/update": views.model_update,
    "registered-models/delete": views.model_delete,
    "registered-models/search": views.model_search,
    "registered-models/get-latest-versions": views.model_latest_versions,
    "registered-models/set-tag": views.model_tag_set,
    "registered-models/delete-tag": views.model_tag_delete,
    "registered-models/alias": views.alias,
    "model-versions/create": views.version_create,
    "model-versions/get": views.version_get,
    "model-versions/update": views.version_update,
    "model-versions/delete": views.version_delete,
    "model-versions/search": views.version_search,
    "model-versions/transition-stage": views.version_transition_stage,
    "model-versions/get-download-uri": views.version_download_uri,
    "model-versions/set-tag": views.version_tag_set,
    "model-versions/delete-tag": views.version_tag_delete,
}

urlpatterns = [
    path(f"{PREFIX}{api}/2.0/mlflow/{route}", view, name=f"{api}-{route}")
    for api in ("api", "ajax-api")
    for route, view in ROUTES.items()
] + [
    path(f"{PREFIX}api/2.0/mlflow-artifacts/artifacts", views.artifact_list, name="artifact_list"),
    path(f"{PREFIX}api/2.0/mlflow-artifacts/artifacts/<path:path>", views.artifact_file, name="artifact_file"),
    # Anything else under the API answers in MLflow's shape (collection pages share the prefix's parent).
    path(f"{PREFIX}api/<path:rest>", views.not_found, name="not_found"),
    path(f"{PREFIX}ajax-api/<path:rest>", views.not_found, name="ajax_not_found"),
]
