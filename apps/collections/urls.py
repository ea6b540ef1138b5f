from django.urls import path

from apps.collections import views

app_name = "collections"

COLLECTION = "orgs/<slug:org_slug>/registry/<slug:reg_slug>/<str:name>/"
VERSION = COLLECTION + "v<int:index>/"

urlpatterns = [
    path(COLLECTION, views.collection_detail, name="collection_detail"),
    path(COLLECTION + "description/", views.collection_description, name="collection_description"),
    path(COLLECTION + "tags/", views.collection_tag_add, name="collection_tag_add"),
    path(COLLECTION + "tags/remove/", views.collection_tag_remove, name="collection_tag_remove"),
    path(COLLECTION + "delete/", views.collection_delete, name="collection_delete"),
    path(VERSION, views.version_detail, name="version_detail"),
    path(VERSION + "aliases/", views.version_alias_add, name="version_alias_add"),
    path(VERSION + "aliases/remove/", views.version_alias_remove, name="version_alias_remove"),
    path(VERSION + "tags/", views.version_tag_add, name="version_tag_add"),
    path(VERSION + "tags/remove/", views.version_tag_remove, name="version_tag_remove"),
    path(VERSION + "description/", views.version_description, name="version_description"),
    path(VERSION + "unlink/", views.version_unlink, name="version_unlink"),
    path(VERSION + "files/<int:entry_id>/", views.version_file, name="version_file"),
    path(VERSION + "files/<int:entry_id>/thumbnail/", views.version_thumbnail, name="version_thumbnail"),
    # "Link to registry" starts from a source version's page; linking is this app's business.
    path(
        "<slug:team>/<str:project>/artifacts/<str:name>/<str:version>/link/",
        views.version_link,
        name="version_link",
    ),
]
