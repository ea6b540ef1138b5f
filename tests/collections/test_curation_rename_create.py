"""Curation (issue 16): renaming a collection in the UI (old paths keep resolving) and the create
wizard's optional first version."""

import re

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.collections import services
from apps.collections.models import Collection, CollectionFormerName, Link, find_collection, find_version
from tests.conftest import ALL, assert_fragment, assert_status, login_as

HTMX = {"HX-Request": "true"}
# A rename answers the new page (PRG); Viewers may not; outsiders cannot see the registry.
RENAME = {
    "org_admin": 302,
    "registry_admin": 302,
    "member": 302,
    "team_member": 302,
    "viewer": 403,
    "restricted_viewer": 403,
    "outsider": 404,
    "anonymous": 302,
}


def url(name, collection, *extra):
    registry = collection.registry
    return reverse(f"collections:{name}", args=[registry.org.slug, registry.slug, collection.name, *extra])


@pytest.fixture
def link(world):
    return world.link(aliases=["candidate"])


# --- Rename ---


@pytest.mark.parametrize(("persona", "status"), RENAME.items())
def test_collection_rename_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    response = client.post(url("collection_rename", link.collection), {"name": "detector"})
    assert_status(response, persona, status)
    renamed = Collection.objects.get(pk=link.collection_id)
    events = AuditEvent.objects.filter(action=Action.COLLECTION_RENAME, collection_pk=renamed.pk)
    if status == 302 and persona != "anonymous":
        assert renamed.name == "detector"
        assert response["Location"] == renamed.get_absolute_url()
        event = events.get()
        assert event.actor == world[persona]
        assert event.data == {"from": "classifier", "to": "detector"}
    else:
        assert renamed.name == "classifier"
        assert not events.exists()
        assert not CollectionFormerName.objects.exists()


def test_rename_through_htmx_redirects_the_page_and_errors_stay_in_the_dialog(client, world, link):
    client.force_login(world["member"])
    world.link(world.version(name="other"), collection="taken")
    response = client.post(url("collection_rename", link.collection), {"name": "Taken"}, headers=HTMX)
    assert_fragment(response, "rename-collection")
    assert "already" in response.content.decode() or "exists" in response.content.decode()
    assert Collection.objects.get(pk=link.collection_id).name == "classifier"
    response = client.post(url("collection_rename", link.collection), {"name": "a/b"}, headers=HTMX)
    assert_fragment(response, "rename-collection")
    assert "cannot contain" in response.content.decode()
    response = client.post(url("collection_rename", link.collection), {"name": "detector"}, headers=HTMX)
    assert response["HX-Redirect"] == Collection.objects.get(pk=link.collection_id).get_absolute_url()


def test_old_pages_and_paths_of_a_renamed_collection_keep_resolving(client, world, link):
    old_page, old_version_page = url("collection_detail", link.collection), url("version_detail", link.collection, 0)
    services.rename_collection(actor=world["member"], collection=link.collection, name="detector")
    client.force_login(world["viewer"])
    response = client.get(old_page + "?tab=x")
    assert response.status_code == 302
    assert response["Location"] == link.collection.get_absolute_url() + "?tab=x"
    response = client.get(old_version_page)
    assert response["Location"] == link.collection.get_absolute_url() + "v0/"
    # The API's and clients' paths: the collection and a version by index and by alias.
    viewer = world["viewer"]
    assert find_collection(viewer, "acme/wandb-registry-Golden Models/classifier") == link.collection
    assert find_version(viewer, "wandb-registry-Golden Models/classifier:candidate")[1] == link
    assert find_version(viewer, "wandb-registry-Golden Models/Classifier:v0")[1] == link
    # Outsiders learn nothing from an old name.
    client.force_login(world["outsider"])
    assert client.get(old_page).status_code == 404
    assert find_version(world["outsider"], "acme/wandb-registry-Golden Models/classifier:v0") is None


def test_a_new_collection_takes_an_old_name_back(client, world, link):
    services.rename_collection(actor=world["member"], collection=link.collection, name="detector")
    fresh = world.link(world.version(name="fresh"), collection="classifier")
    assert find_version(world["viewer"], "wandb-registry-Golden Models/classifier:v0")[1] == fresh
    client.force_login(world["viewer"])
    assert client.get(url("collection_detail", fresh.collection)).status_code == 200
    # Renaming back makes the name current again: it is no longer a former name.
    services.rename_collection(actor=world["member"], collection=fresh.collection, name="fresh-one")
    services.rename_collection(actor=world["member"], collection=link.collection, name="classifier")
    assert list(link.collection.former_names.values_list("name", flat=True)) == ["detector"]


# --- The create wizard's first version ---


def create_url(world):
    return reverse("collections:collection_create", args=[world.org.slug, world.registry.slug])


def wizard(version=None, **extra):
    data = {"name": "segmenter", "type": "model", "description": "", "tags": ""}
    if version is not None:
        project = version.sequence.project
        data |= {
            "first-team": project.team_id,
            "first-project": project.pk,
            "first-artifact": version.sequence_id,
            "first-version": version.pk,
        }
    return data | extra


@pytest.mark.parametrize("persona", ALL)
def test_create_wizard_links_a_first_version(client, world, persona):
    version = world.version()
    login_as(client, world, persona)
    response = client.post(create_url(world), wizard(version, **{"first-aliases": "candidate"}))
    created = Collection.objects.filter(name="segmenter").first()
    # Only team members see the source version; members outside the team cannot pick it.
    if persona in ("org_admin", "member", "team_member"):
        assert response.status_code == 302
        link = Link.objects.get(collection=created)
        assert (link.version, link.index) == (version, 0)
        assert set(link.aliases.values_list("alias", flat=True)) == {"latest", "candidate"}
        actions = list(
            AuditEvent.objects.filter(collection_pk=created.pk).order_by("pk").values_list("action", flat=True)
        )
        assert actions == [Action.COLLECTION_CREATE, Action.COLLECTION_LINK, Action.ALIAS_ADD]
    else:
        assert created is None
        assert response.status_code in {200, 302, 403, 404}
        if persona == "registry_admin":  # may create collections, but cannot see the team's version
            assert response.status_code == 200
            assert "Select a valid choice" in response.content.decode()


def test_create_wizard_without_a_version_makes_an_empty_collection(client, world):
    client.force_login(world["member"])
    response = client.post(create_url(world), wizard())
    assert response.status_code == 302
    assert not Link.objects.filter(collection__name="segmenter").exists()


def test_create_wizard_half_chosen_version_is_an_error_and_writes_nothing(client, world):
    version = world.version()
    client.force_login(world["member"])
    data = wizard(version)
    del data["first-version"]
    response = client.post(create_url(world), data)
    assert response.status_code == 200
    assert "Choose a version to link" in response.content.decode()
    assert not Collection.objects.filter(name="segmenter").exists()


def test_create_wizard_refuses_a_version_of_another_type_and_keeps_no_collection(client, world):
    world.registry.artifact_types = ["model", "dataset"]
    world.registry.save()
    dataset = world.version(name="images", type="dataset")
    client.force_login(world["member"])
    response = client.post(create_url(world), wizard(dataset))
    assert response.status_code == 200
    assert not Collection.objects.filter(name="segmenter").exists()
    assert not AuditEvent.objects.filter(action=Action.COLLECTION_CREATE, data__name="segmenter").exists()


def test_create_wizard_chained_selects_rerender_as_a_fragment(client, world):
    version = world.version()
    client.force_login(world["member"])
    project = version.sequence.project
    response = client.get(
        create_url(world),
        {"name": "x", "type": "model", "first-team": project.team_id, "first-project": project.pk},
        headers=HTMX,
    )
    assert_fragment(response, "create-collection-form")
    html = response.content.decode()
    assert "model-a (model)" in html
    assert "errorlist" not in html


# --- Restricted Viewers see no snippet they cannot use ---


def test_usage_tab_gives_restricted_viewers_only_details_snippets(client, world, link):
    page = link.get_absolute_url()
    client.force_login(world["restricted_viewer"])
    html = client.get(page, {"tab": "usage"}, headers=HTMX).content.decode()
    snippets = " ".join(re.findall(r"<pre>(.*?)</pre>", html, re.S))
    assert "version.metadata" in snippets and "Viewer role" in html
    assert ".download()" not in snippets and "registry get" not in snippets and "use_artifact" not in snippets
    client.force_login(world["viewer"])
    html = client.get(page, {"tab": "usage"}, headers=HTMX).content.decode()
    snippets = " ".join(re.findall(r"<pre>(.*?)</pre>", html, re.S))
    assert ".download()" in snippets and "registry get" in snippets


@pytest.mark.parametrize(("persona", "shown"), [("member", True), ("viewer", False), ("restricted_viewer", False)])
def test_an_empty_collection_offers_the_link_snippet_only_to_those_who_may_link(client, world, persona, shown):
    collection = services.create_collection(actor=world["member"], registry=world.registry, name="empty", type="model")
    client.force_login(world[persona])
    collection_page = client.get(collection.get_absolute_url())
    assert ("run.link_artifact(" in collection_page.content.decode()) == shown
