"""Collection page: versions table, metrics comparison, Action History and in-place edits."""

import re

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.collections import services
from apps.collections.models import Collection, CollectionTag, Link
from apps.collections.views import collection as views
from tests.conftest import assert_status, login_as

HTMX = {"HX-Request": "true"}
READ = {
    "org_admin": 200,
    "registry_admin": 200,
    "member": 200,
    "team_member": 200,
    "viewer": 200,
    "restricted_viewer": 200,
    "outsider": 404,
    "anonymous": 302,
}
# Writes succeed with a redirect (PRG); anonymous is redirected to the login page instead.
WRITE = READ | {"org_admin": 302, "registry_admin": 302, "member": 302, "team_member": 302}
WRITE |= {"viewer": 403, "restricted_viewer": 403}


def url(name, collection, *extra):
    registry = collection.registry
    return reverse(f"collections:{name}", args=[registry.org.slug, registry.slug, collection.name, *extra])


@pytest.fixture
def link(world):
    return world.link(aliases=["candidate"])


@pytest.fixture
def collection(link):
    return link.collection


# --- Permission matrices: every page, fragment and action ---


@pytest.mark.parametrize(("persona", "status"), READ.items())
def test_collection_page_permissions(client, world, collection, persona, status):
    login_as(client, world, persona)
    assert_status(client.get(url("collection_detail", collection)), persona, status)


@pytest.mark.parametrize("target", ["versions", "compare", "history"])
@pytest.mark.parametrize(("persona", "status"), READ.items())
def test_collection_fragments_permissions(client, world, collection, persona, status, target):
    login_as(client, world, persona)
    response = client.get(url("collection_detail", collection), {"compare": 0}, headers=HTMX | {"HX-Target": target})
    assert_status(response, persona, status)
    if status == 200:
        assert f'id="{target}"' in response.content.decode()
        assert "<html" not in response.content.decode()
        assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_collection_tag_add_permissions(client, world, collection, persona, status):
    login_as(client, world, persona)
    response = client.post(url("collection_tag_add", collection), {"tag": "vision"})
    assert_status(response, persona, status)
    assert CollectionTag.objects.filter(collection=collection, name="vision").exists() == (
        status == 302 and persona != "anonymous"
    )


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_collection_tag_remove_permissions(client, world, collection, persona, status):
    services.add_collection_tag(actor=world["org_admin"], collection=collection, tag="old")
    login_as(client, world, persona)
    assert_status(client.post(url("collection_tag_remove", collection), {"tag": "old"}), persona, status)


@pytest.mark.parametrize(
    ("persona", "status"),
    (WRITE | {"org_admin": 200, "registry_admin": 200, "member": 200, "team_member": 200}).items(),
)
def test_collection_description_editor_permissions(client, world, collection, persona, status):
    login_as(client, world, persona)
    assert_status(client.get(url("collection_description", collection)), persona, status)


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_collection_description_save_permissions(client, world, collection, persona, status):
    login_as(client, world, persona)
    assert_status(client.post(url("collection_description", collection), {"description": "# Hi"}), persona, status)


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_collection_delete_permissions(client, world, collection, persona, status):
    login_as(client, world, persona)
    response = client.post(url("collection_delete", collection), {"confirm": collection.name})
    assert_status(response, persona, status)
    assert Collection.objects.filter(pk=collection.pk).exists() != (status == 302 and persona != "anonymous")


# --- The page itself ---


def test_collection_page_shows_versions_aliases_and_source(client, world, link):
    client.force_login(world["member"])
    body = client.get(url("collection_detail", link.collection)).content.decode()
    assert ">v0</a>" in body
    assert 'class="chip chip-alias" title="candidate">candidate<' in body
    assert "vision/detector/model-a:v0" in body
    assert f'href="{link.version.get_absolute_url()}"' in body  # member is in the team: source is a link


def test_protected_alias_is_gray_and_locks_unlink_for_members(client, world, link):
    services.add_alias(actor=world["org_admin"], link=link, alias="production")
    client.force_login(world["member"])
    body = client.get(url("collection_detail", link.collection)).content.decode()
    assert 'class="chip chip-protected" title="production">production<' in body
    assert "only registry admins can unlink it" in body


def test_source_is_plain_text_for_registry_only_viewers(client, world, link):
    client.force_login(world["viewer"])
    body = client.get(url("collection_detail", link.collection)).content.decode()
    assert "vision/detector/model-a:v0" in body
    assert link.version.get_absolute_url() not in body
    assert ">Unlink</button>" not in body and "Delete collection" not in body


def test_description_is_rendered_markdown_without_scripts(client, world, collection):
    services.update_collection_description(
        actor=world["org_admin"], collection=collection, description="# Title\n\n<script>alert(1)</script> **bold**"
    )
    client.force_login(world["viewer"])
    body = client.get(url("collection_detail", collection)).content.decode()
    assert "<h1>Title</h1>" in body and "<strong>bold</strong>" in body
    assert "<script>alert" not in body


def test_versions_table_is_keyset_paginated(client, world, monkeypatch):
    links = [world.link(world.version(content=f"w{i}".encode())) for i in range(3)]
    collection = links[0].collection
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client.force_login(world["viewer"])
    first = client.get(url("collection_detail", collection)).content.decode()
    second = client.get(url("collection_detail", collection), {"before": 1}).content.decode()
    assert ">v2</a>" in first and ">v1</a>" in first and ">v0</a>" not in first
    assert "?before=1" in first
    assert ">v0</a>" in second and ">v1</a>" not in second


def test_empty_collection_explains_how_to_link(client, world):
    collection = services.create_collection(
        actor=world["org_admin"], registry=world.registry, name="empty", type="model"
    )
    client.force_login(world["viewer"])
    body = client.get(url("collection_detail", collection)).content.decode()
    assert "No versions linked yet" in body


def test_compare_shows_numeric_metadata_side_by_side(client, world):
    a = world.link(world.version(content=b"a", metadata={"acc": 0.9, "eval": {"f1": 0.5}, "note": "x"}))
    world.link(world.version(content=b"b", metadata={"acc": 0.95, "loss": 0.1, "flag": True}))
    client.force_login(world["viewer"])
    response = client.get(
        url("collection_detail", a.collection), {"compare": [0, 1]}, headers=HTMX | {"HX-Target": "compare"}
    )
    body = response.content.decode()
    assert 'id="compare"' in body
    for key in ("acc", "eval.f1", "loss"):
        assert f">{key}</th>" in body
    assert "note" not in body and "flag" not in body  # strings and booleans are not metrics
    assert 'class="num best">0.95<' in body


def test_compare_ignores_garbage_indexes(client, world, collection):
    client.force_login(world["viewer"])
    response = client.get(url("collection_detail", collection), {"compare": ["x", "-1", "999"]})
    assert response.status_code == 200


def test_action_history_lists_link_and_alias_events_with_user(client, world, link):
    services.add_alias(actor=world["member"], link=link, alias="staging")
    client.force_login(world["viewer"])
    body = client.get(
        url("collection_detail", link.collection), headers=HTMX | {"HX-Target": "history"}
    ).content.decode()
    assert "<strong>member</strong> added alias “staging” to v0" in body
    assert "<strong>org_admin</strong> linked v0" in body


def test_action_history_is_keyset_paginated(client, world, link, monkeypatch):
    for i in range(3):
        services.add_collection_tag(actor=world["member"], collection=link.collection, tag=f"t{i}")
    monkeypatch.setattr(views, "HISTORY_PAGE_SIZE", 2)
    client.force_login(world["viewer"])
    page = url("collection_detail", link.collection)
    first = client.get(page, headers=HTMX | {"HX-Target": "history"}).content.decode()
    cursor = re.search(r"history_before=(\d+)", first)[1]
    second = client.get(page, {"history_before": cursor}, headers=HTMX | {"HX-Target": "history"}).content.decode()
    assert "“t2”" in first and "“t1”" in first and "“t0”" not in first
    assert "“t0”" in second and "“t1”" not in second


def test_action_history_filters_keep_across_pages(client, world, link, monkeypatch):
    for i in range(3):
        services.add_collection_tag(actor=world["member"], collection=link.collection, tag=f"t{i}")
    services.add_alias(actor=world["org_admin"], link=link, alias="staging")
    monkeypatch.setattr(views, "HISTORY_PAGE_SIZE", 2)
    client.force_login(world["viewer"])
    page = url("collection_detail", link.collection)
    only_tags = {"history-action": "collection:add_tag", "history-actor": "member"}
    first = client.get(page, only_tags, headers=HTMX | {"HX-Target": "history"}).content.decode()
    assert "“t2”" in first and "“t1”" in first and "staging" not in first and "linked" not in first
    assert 'value="collection:add_tag" selected' in first  # the form shows the filter in force
    older = re.search(r'hx-get="\?([^"]*history_before=\d+[^"]*)"', first)[1].replace("&amp;", "&")
    assert "history-action=collection%3Aadd_tag" in older
    second = client.get(f"{page}?{older}", headers=HTMX | {"HX-Target": "history"}).content.decode()
    assert "“t0”" in second and "staging" not in second
    body = client.get(page, {"history-actor": "org_admin", "history-action": "alias:"}).content.decode()
    assert "added alias “staging”" in body and "“t0”" not in body
    assert "No events match" in client.get(page, {"history-actor": "nobody"}).content.decode()
    # choices are what a collection's history can hold, not every audit action
    assert "webhook" not in first and "Registry Delete" not in first


# --- Query budget: the same number of queries for 1 and for 10 links ---


def _page_queries(client, world, django_assert_num_queries, count, headers=None):
    for i in range(count):
        world.link(world.version(content=f"weights-{i}".encode()), aliases=[f"a{i}"])
        services.add_version_tag(actor=world["org_admin"], link=Link.objects.get(index=i), tag=f"tag{i}")
    page = url("collection_detail", Collection.objects.get(name="classifier"))
    client.force_login(world["member"])
    client.get(page)  # warm per-process caches (guardian's content types), as a running server has them
    # 1 session, 2 user, 3 collection with registry, org and creator (registry visibility is a
    # subquery), 4 the page's link keys off the (collection, index) index, 5 those links (version
    # joined; team, project, artifact and user names and "may open the source project" as
    # annotations), 6 history page, 7 guardian user perms, 8 guardian group perms, 9 protected
    # aliases, 10 collection tags, 11 aliases of the page's links, 12 tags of the page's
    # versions, 13 the shell's organizations.
    with django_assert_num_queries(12):
        response = client.get(page, headers=headers or {})
    assert response.status_code == 200


@pytest.mark.parametrize("count", [1, 10])
def test_collection_page_query_count_is_constant(client, world, django_assert_num_queries, count):
    _page_queries(client, world, django_assert_num_queries, count)


@pytest.mark.parametrize("count", [1, 10])
@pytest.mark.parametrize("target", ["versions", "history"])
def test_collection_fragments_query_count_is_constant(client, world, django_assert_num_queries, count, target):
    _page_queries(client, world, django_assert_num_queries, count, HTMX | {"HX-Target": target})


# --- Actions: data changes and one audit event each ---


def test_member_adds_a_collection_tag_in_place(client, world, collection):
    client.force_login(world["member"])
    response = client.post(url("collection_tag_add", collection), {"tag": "vision models"}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="collection-tags"' in body and "<html" not in body
    assert "vision models" in body
    assert AuditEvent.objects.filter(action=Action.COLLECTION_ADD_TAG, collection_pk=collection.pk).exists()


def test_member_removes_a_collection_tag(client, world, collection):
    services.add_collection_tag(actor=world["org_admin"], collection=collection, tag="old")
    client.force_login(world["member"])
    response = client.post(url("collection_tag_remove", collection), {"tag": "old"})
    assert response.status_code == 302
    assert not collection.tags.exists()
    assert AuditEvent.objects.filter(action=Action.COLLECTION_REMOVE_TAG, actor=world["member"]).exists()


@pytest.mark.parametrize("tag", ["", "bad/tag", "semi;colon", "emoji 🎉", "x" * 129])
def test_invalid_collection_tag_is_an_inline_error_and_nothing_is_written(client, world, collection, tag):
    client.force_login(world["member"])
    events = AuditEvent.objects.count()
    response = client.post(url("collection_tag_add", collection), {"tag": tag}, headers=HTMX)
    assert response.status_code == 200
    assert 'class="form-errors"' in response.content.decode()
    assert not collection.tags.exists()
    assert AuditEvent.objects.count() == events


def test_invalid_tag_without_htmx_rerenders_the_page(client, world, collection):
    client.force_login(world["member"])
    response = client.post(url("collection_tag_add", collection), {"tag": "a/b"})
    assert response.status_code == 200
    assert "<html" in response.content.decode() and "is not a valid tag" in response.content.decode()


def test_member_edits_the_description_in_place(client, world, collection):
    client.force_login(world["member"])
    editor = client.get(url("collection_description", collection), headers=HTMX)
    assert 'id="description"' in editor.content.decode() and "<textarea" in editor.content.decode()
    response = client.post(
        url("collection_description", collection), {"description": "Trained on *COCO*."}, headers=HTMX
    )
    assert "<em>COCO</em>" in response.content.decode()
    collection.refresh_from_db()
    assert collection.description == "Trained on *COCO*."
    assert AuditEvent.objects.filter(action=Action.COLLECTION_UPDATE, actor=world["member"]).exists()


def test_tag_on_someone_elses_collection_is_not_found(client, world):
    from apps.registries.models import Registry

    foreign = Registry.objects.get(org=world.other_org, slug="model")
    other = services.create_collection(actor=world["outsider"], registry=foreign, name="theirs", type="model")
    client.force_login(world["member"])
    response = client.post(url("collection_tag_add", other), {"tag": "mine"})
    assert response.status_code == 404
    assert not other.tags.exists()


def test_delete_needs_the_typed_name(client, world, collection):
    client.force_login(world["member"])
    response = client.post(url("collection_delete", collection), {"confirm": "wrong"})
    assert response.status_code == 200
    assert "exactly to delete" in response.content.decode()
    assert Collection.objects.filter(pk=collection.pk).exists()


def test_delete_removes_the_collection_and_records_it(client, world, collection):
    client.force_login(world["member"])
    response = client.post(url("collection_delete", collection), {"confirm": collection.name})
    assert response["Location"] == world.registry.get_absolute_url()
    assert not Collection.objects.filter(pk=collection.pk).exists()
    assert AuditEvent.objects.filter(action=Action.COLLECTION_DELETE, actor=world["member"]).exists()


def test_member_cannot_delete_a_collection_holding_a_protected_alias(client, world, link):
    services.add_alias(actor=world["org_admin"], link=link, alias="production")
    client.force_login(world["member"])
    response = client.post(url("collection_delete", link.collection), {"confirm": link.collection.name})
    assert response.status_code == 403
    assert Collection.objects.filter(pk=link.collection_id).exists()


def test_registry_admin_can_delete_a_collection_holding_a_protected_alias(client, world, link):
    services.add_alias(actor=world["org_admin"], link=link, alias="production")
    client.force_login(world["registry_admin"])
    response = client.post(url("collection_delete", link.collection), {"confirm": link.collection.name}, headers=HTMX)
    assert response["HX-Redirect"] == world.registry.get_absolute_url()
    assert not Collection.objects.filter(pk=link.collection_id).exists()
