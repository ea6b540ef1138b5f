"""Curation (issue 16): a version's metadata edited by registry Members (service, API, client, UI),
audited with the changed keys before and after."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.artifacts import services as artifacts
from apps.artifacts.models import ArtifactVersion
from apps.audit.models import Action, AuditEvent
from apps.collections import services
from registry_client import InvalidInput, NotFound
from registry_client import PermissionDenied as ClientPermissionDenied
from tests.conftest import ALL, assert_fragment, assert_status, login_as

HTMX = {"HX-Request": "true"}
WRITERS = {"org_admin", "registry_admin", "member", "team_member"}
PATH = "acme/wandb-registry-Golden Models/classifier:v0"


@pytest.fixture
def link(world):
    version = world.version(metadata={"acc": 0.91, "eval": {"f1": 0.8}, "notes": "first"})
    return world.link(version, aliases=["candidate"])


def metadata_url(link):
    registry = link.collection.registry
    return reverse(
        "collections:version_metadata", args=[registry.org.slug, registry.slug, link.collection.name, link.index]
    )


def edits():
    return AuditEvent.objects.filter(action=Action.VERSION_UPDATE)


# --- Service ---


def test_member_edits_metadata_and_the_event_holds_the_changed_keys(world, link):
    services.update_version_metadata(
        actor=world["member"], link=link, metadata={"acc": 0.93, "eval": {"f1": 0.8}, "reviewed": True}
    )
    assert ArtifactVersion.objects.get(pk=link.version_id).metadata == {
        "acc": 0.93,
        "eval": {"f1": 0.8},
        "reviewed": True,
    }
    event = edits().get()
    assert (event.actor, event.collection_pk, event.version_pk) == (
        world["member"],
        link.collection_id,
        link.version_id,
    )
    assert event.data == {
        "version": "v0",
        "keys": ["acc", "notes", "reviewed"],
        "metadata": {"from": {"acc": 0.91, "notes": "first"}, "to": {"acc": 0.93, "reviewed": True}},
    }
    assert event.describe() == "edited the metadata of v0 (acc, notes, reviewed)"


def test_an_edit_that_changes_nothing_writes_no_event(world, link):
    services.update_version_metadata(actor=world["member"], link=link, metadata=dict(link.version.metadata))
    assert not edits().exists()


@pytest.mark.parametrize("persona", ["viewer", "restricted_viewer"])
def test_viewers_cannot_edit_metadata(world, link, persona):
    with pytest.raises(PermissionDenied):
        services.update_version_metadata(actor=world[persona], link=link, metadata={"acc": 1})
    assert ArtifactVersion.objects.get(pk=link.version_id).metadata["acc"] == 0.91
    assert not edits().exists()


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ([1, 2], "JSON object"),
        ({f"k{i}": i for i in range(101)}, "at most 100"),
        ({"big": "x" * (1024 * 1024 + 1)}, "1 MB"),
        ({"bad": float("inf")}, "Infinity"),
        ({"nul": "a\x00b"}, "NUL"),
    ],
)
def test_bad_metadata_is_refused_and_nothing_changes(world, link, metadata, message):
    with pytest.raises(ValidationError, match=message):
        services.update_version_metadata(actor=world["member"], link=link, metadata=metadata)
    assert ArtifactVersion.objects.get(pk=link.version_id).metadata["acc"] == 0.91
    assert not edits().exists()


def test_the_team_edits_metadata_at_the_source_and_others_may_not(world, link):
    version = link.version
    artifacts.update_source_metadata(actor=world["team_member"], version=version, metadata={"acc": 0.5})
    assert ArtifactVersion.objects.get(pk=version.pk).metadata == {"acc": 0.5}
    event = edits().get()
    assert event.registry_pk is None and event.version_pk == version.pk
    for persona in ["registry_admin", "viewer", "outsider"]:  # not in the team
        with pytest.raises(PermissionDenied):
            artifacts.update_source_metadata(actor=world[persona], version=version, metadata={"x": 1})
    assert edits().count() == 1


# --- API: PATCH /api/v1/versions?path=… {"metadata": {…}} ---

API = {p: (200 if p in WRITERS else 403) for p in ALL} | {"outsider": 404, "anonymous": 401}


@pytest.mark.parametrize(("persona", "status"), API.items())
def test_api_metadata_edit_permissions(api, world, link, persona, status):
    response = api(persona).patch("versions", {"metadata": {"acc": 0.99}}, params={"path": PATH})
    assert response.status_code == status, response.content
    metadata = ArtifactVersion.objects.get(pk=link.version_id).metadata
    if status == 200:
        assert response.json()["metadata"] == {"acc": 0.99} == metadata
        assert edits().get().actor == world[persona]
    else:
        assert metadata["acc"] == 0.91
        assert not edits().exists()


def test_api_metadata_edit_through_a_source_path_needs_the_team(api, world, link):
    source = "vision/detector/model-a:v0"
    assert api("member").patch("versions", {"metadata": {"acc": 1}}, params={"path": source}).status_code == 200
    assert api("registry_admin").patch("versions", {"metadata": {"acc": 2}}, params={"path": source}).status_code == 404
    assert ArtifactVersion.objects.get(pk=link.version_id).metadata == {"acc": 1}


@pytest.mark.parametrize("body", [{"metadata": [1]}, {"metadata": "{}"}, {"metadata": {"x": float("nan")}}])
def test_api_refuses_metadata_that_is_not_an_object(api, link, body):
    response = api("member").client.patch(
        f"/api/v1/versions?path={PATH}", json.dumps(body, allow_nan=True), content_type="application/json"
    )
    assert response.status_code in (400, 422)
    assert ArtifactVersion.objects.get(pk=link.version_id).metadata["acc"] == 0.91


# --- Client ---


def test_client_sets_and_updates_metadata(in_process, world, link):
    client = in_process("member")
    version = client.artifact(PATH)
    updated = version.update_metadata(acc=0.95)
    assert updated.metadata == {"acc": 0.95, "eval": {"f1": 0.8}, "notes": "first"}
    assert client.set_metadata(PATH, {"only": 1}).metadata == {"only": 1}
    with pytest.raises(InvalidInput):
        client.set_metadata(PATH, {f"k{i}": i for i in range(101)})
    with pytest.raises(ClientPermissionDenied):
        in_process("viewer").set_metadata(PATH, {"x": 1})
    with pytest.raises(NotFound):
        in_process("outsider").set_metadata(PATH, {"x": 1})
    assert edits().count() == 2


# --- UI: the Metadata tab's JSON editor ---

EDITOR = {p: (200 if p in WRITERS else 403) for p in ALL} | {"outsider": 404, "anonymous": 302}


@pytest.mark.parametrize(("persona", "status"), EDITOR.items())
def test_metadata_editor_and_save_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    response = client.get(metadata_url(link), headers=HTMX)
    assert_status(response, persona, status)
    if status == 200:
        assert_fragment(response, "version-tab")
        assert "data-json-editor" in response.content.decode()
    response = client.post(metadata_url(link), {"metadata": '{"acc": 0.97}'})
    expected = 302 if status == 200 else status
    assert_status(response, persona, expected)
    saved = ArtifactVersion.objects.get(pk=link.version_id).metadata
    assert (saved == {"acc": 0.97}) == (expected == 302 and persona != "anonymous")


def test_metadata_tab_shows_the_edit_button_only_to_writers(client, world, link):
    page = link.get_absolute_url() + "?tab=metadata"
    client.force_login(world["member"])
    assert "Edit metadata" in client.get(page).content.decode()
    client.force_login(world["viewer"])
    assert "Edit metadata" not in client.get(page).content.decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"x": NaN}', "not valid JSON"),
        (json.dumps({f"k{i}": i for i in range(101)}), "at most 100"),
    ],
)
def test_metadata_errors_show_inline_and_nothing_changes(client, world, link, text, message):
    client.force_login(world["member"])
    response = client.post(metadata_url(link), {"metadata": text}, headers=HTMX)
    assert_fragment(response, "version-tab")
    html = response.content.decode()
    assert message in html
    assert "data-json-editor" in html  # still editing, with the text as typed
    assert ArtifactVersion.objects.get(pk=link.version_id).metadata["acc"] == 0.91
    assert not edits().exists()


def test_metadata_saved_through_htmx_answers_the_fresh_tab(client, world, link):
    client.force_login(world["member"])
    response = client.post(metadata_url(link), {"metadata": '{"acc": 0.97, "extra": "ok"}'}, headers=HTMX)
    assert_fragment(response, "version-tab")
    html = response.content.decode()
    assert "&quot;extra&quot;: &quot;ok&quot;" in html and "data-json-editor" not in html
    assert edits().get().data["keys"] == ["acc", "eval", "extra", "notes"]
