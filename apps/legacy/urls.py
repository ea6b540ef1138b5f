from django.urls import path

from apps.legacy import views

app_name = "legacy"

# `/<team>/registry/model`, as in W&B (team names and usernames share one namespace). Before the
# source-artifact URLs, whose `<team>/<project>/…` would read "registry" as a project.
urlpatterns = [
    path("registry/preference/", views.preference, name="preference"),
    path("<slug:team>/registry/model/", views.model_list, name="model_list"),
    path("<slug:team>/registry/model/settings/", views.registry_settings, name="registry_settings"),
    path("<slug:team>/registry/model/<str:name>/", views.model_detail, name="model_detail"),
    path("<slug:team>/registry/model/<str:name>/description/", views.model_description, name="model_description"),
    path("<slug:team>/registry/model/<str:name>/tags/", views.model_tags, name="model_tags"),
    path("<slug:team>/registry/model/<str:name>/notify/", views.model_notify, name="model_notify"),
    path("<slug:team>/registry/model/<str:name>/v<int:index>/", views.version_detail, name="version_detail"),
    path("<slug:team>/registry/model/<str:name>/v<int:index>/aliases/", views.version_aliases, name="version_aliases"),
    path("<slug:team>/registry/model/<str:name>/v<int:index>/unlink/", views.version_unlink, name="version_unlink"),
]
