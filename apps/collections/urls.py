from django.urls import path

from apps.collections.views import collection, link, registry, version

app_name = "collections"

ORG = "orgs/<slug:org_slug>/registry/"
REGISTRY = ORG + "<slug:reg_slug>/"
COLLECTION = REGISTRY + "<str:name>/"
VERSION = COLLECTION + "v<int:index>/"

urlpatterns = [
    path(ORG, registry.landing, name="landing"),
    path(ORG + "search/", registry.search, name="search"),
    # W&B deep links name the registry (spaces, prefix and all) and carry no trailing slash.
    path(ORG + "<str:name>", registry.registry_deep_link, name="registry_deep_link"),
    path(REGISTRY, registry.registry_detail, name="registry_detail"),
    path(REGISTRY + "new/", collection.collection_create, name="collection_create"),
    path(REGISTRY + "link/", link.registry_link, name="registry_link"),
    path(COLLECTION, collection.collection_detail, name="collection_detail"),
    path(COLLECTION + "description/", collection.collection_description, name="collection_description"),
    path(COLLECTION + "tags/", collection.collection_tag_add, name="collection_tag_add"),
    path(COLLECTION + "tags/remove/", collection.collection_tag_remove, name="collection_tag_remove"),
    path(COLLECTION + "delete/", collection.collection_delete, name="collection_delete"),
    path(COLLECTION + "rename/", collection.collection_rename, name="collection_rename"),
    path(VERSION, version.version_detail, name="version_detail"),
    path(VERSION + "aliases/", version.version_alias_add, name="version_alias_add"),
    path(VERSION + "aliases/remove/", version.version_alias_remove, name="version_alias_remove"),
    path(VERSION + "tags/", version.version_tag_add, name="version_tag_add"),
    path(VERSION + "tags/remove/", version.version_tag_remove, name="version_tag_remove"),
    path(VERSION + "description/", version.version_description, name="version_description"),
    path(VERSION + "unlink/", version.version_unlink, name="version_unlink"),
    path(VERSION + "metadata/", version.version_metadata, name="version_metadata"),
    path(VERSION + "files/<int:entry_id>/", version.version_file, name="version_file"),
    path(VERSION + "files/<int:entry_id>/thumbnail/", version.version_thumbnail, name="version_thumbnail"),
    # "Link to registry" starts from a source version's page; linking is this app's business.
    path(
        "<slug:team>/<str:project>/artifacts/<str:name>/<str:version>/link/",
        link.version_link,
        name="version_link",
    ),
    path(
        "<slug:team>/<str:project>/artifacts/<str:name>/<str:version>/delete/",
        link.source_version_delete,
        name="source_version_delete",
    ),
]
