"""Source-artifact pages (`/<team>/<project>/artifacts/…`) and "Link to registry"."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from apps.artifacts import services as artifacts
from apps.audit.models import Action, AuditEvent
from apps.collections import services as collections
from apps.collections.models import Link
from apps.orgs import services as orgs
from apps.registries.models import Registry
from tests.conftest import assert_status, login_as

HTMX = {"HX-Request": "true"}
# Source projects are visible to their team (member, team_member) and to org admins only.
SOURCE = {
    "org_admin": 200,
    "registry_admin": 404,
    "member": 200,
    "team_member": 200,
    "viewer": 404,
    "restricted_viewer": 404,
    "outsider": 404,
    "anonymous": 302,
}
LINK = SOURCE | {"org_admin": 302, "member": 302, "team_member": 302}


def source_url(name, version, *extra):
    project = version.sequence.project
    args = [project.team.name, project.name, version.sequence.name, version.version_label, *extra]
    return reverse(name, args=args)


@pytest.fixture
def version(world):
    return world.version(
        files={"weights/model.bin": b"w" * 10, "README.md": b"# model"},
        metadata={"epochs": 3},
        description="Baseline *ResNet*.",
    )


# --- Permission matrices ---


@pytest.mark.parametrize(("persona", "status"), SOURCE.items())
def test_artifact_list_permissions(client, world, version, persona, status):
    login_as(client, world, persona)
    assert_status(client.get(reverse("artifacts:artifact_list", args=["vision", "detector"])), persona, status)


@pytest.mark.parametrize(("persona", "status"), SOURCE.items())
def test_sequence_page_permissions(client, world, version, persona, status):
    login_as(client, world, persona)
    response = client.get(reverse("artifacts:sequence_detail", args=["vision", "detector", "model-a"]))
    assert_status(response, persona, status)


@pytest.mark.parametrize(("persona", "status"), SOURCE.items())
def test_source_version_page_permissions(client, world, version, persona, status):
    login_as(client, world, persona)
    assert_status(client.get(version.get_absolute_url()), persona, status)


@pytest.mark.parametrize(("persona", "status"), SOURCE.items())
def test_source_file_download_permissions(client, world, version, persona, status):
    login_as(client, world, persona)
    entry = version.entries.get(path="README.md")
    assert_status(client.get(source_url("artifacts:version_file", version, entry.pk)), persona, status)


@pytest.mark.parametrize(("persona", "status"), SOURCE.items())
def test_source_thumbnail_permissions(client, world, persona, status, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), "blue").save(buffer, "PNG")
    version = world.version(name="pictures", type="dataset", files={"img/a.png": buffer.getvalue()})
    login_as(client, world, persona)
    entry = version.entries.get(path="img/a.png")
    response = client.get(source_url("artifacts:version_thumbnail", version, entry.pk))
    assert_status(response, persona, status)
    if status == 200:
        assert response["Content-Type"] == "image/png"


@pytest.mark.parametrize(("persona", "status"), SOURCE.items())
def test_link_dialog_permissions(client, world, version, persona, status):
    login_as(client, world, persona)
    assert_status(client.get(source_url("collections:version_link", version)), persona, status)


@pytest.mark.parametrize(("persona", "status"), SOURCE.items())
def test_link_dialog_fragment_permissions(client, world, version, persona, status):
    login_as(client, world, persona)
    response = client.get(source_url("collections:version_link", version), headers=HTMX)
    assert_status(response, persona, status)
    if status == 200:
        body = response.content.decode()
        assert body.lstrip().startswith('<div id="link-form"') and "<html" not in body


@pytest.mark.parametrize(("persona", "status"), LINK.items())
def test_link_to_registry_permissions(client, world, version, persona, status):
    login_as(client, world, persona)
    data = {"registry": world.registry.pk, "collection": "classifier", "aliases": ""}
    assert_status(client.post(source_url("collections:version_link", version), data), persona, status)
    assert Link.objects.filter(version=version).exists() == (status == 302 and persona != "anonymous")


# --- Pages ---


def test_artifact_list_shows_names_types_and_version_counts(client, world, version):
    world.version(content=b"second")
    world.version(name="coco", type="dataset", content=b"rows")
    client.force_login(world["team_member"])
    body = client.get(reverse("artifacts:artifact_list", args=["vision", "detector"])).content.decode()
    assert ">model-a</a>" in body and ">coco</a>" in body
    assert 'chip chip-type">dataset' in body
    assert '<td class="num">2</td>' in body


def test_empty_project_explains_how_to_log(client, world):
    client.force_login(world["team_member"])
    body = client.get(reverse("artifacts:artifact_list", args=["vision", "detector"])).content.decode()
    assert "No artifacts in this project yet" in body


def test_unknown_project_is_not_found(client, world):
    client.force_login(world["org_admin"])
    assert client.get(reverse("artifacts:artifact_list", args=["vision", "nope"])).status_code == 404


def test_run_filter_shows_what_a_run_logged_and_used(client, world, version):
    run = artifacts.create_run(actor=world["org_admin"], project=world.project, run_id="r1", name="eval")
    collections.use_artifact(actor=world["org_admin"], run=run, version=version)
    client.force_login(world["member"])
    body = client.get(reverse("artifacts:artifact_list", args=["vision", "detector"]), {"run": "r1"}).content.decode()
    assert "used (input)" in body and f'href="{version.get_absolute_url()}"' in body
    response = client.get(reverse("artifacts:artifact_list", args=["vision", "detector"]), {"run": "missing"})
    assert response.status_code == 404


def test_sequence_page_is_keyset_paginated(client, world, version, monkeypatch):
    from apps.artifacts import views

    for i in range(2):
        world.version(content=f"more{i}".encode())
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client.force_login(world["member"])
    page = reverse("artifacts:sequence_detail", args=["vision", "detector", "model-a"])
    first = client.get(page).content.decode()
    assert ">v2</a>" in first and ">v1</a>" in first and ">v0</a>" not in first
    second = client.get(page, {"before": 1}).content.decode()
    assert ">v0</a>" in second and ">v1</a>" not in second


def test_sequence_page_lists_versions_newest_first(client, world, version):
    world.version(content=b"second")
    client.force_login(world["member"])
    body = client.get(reverse("artifacts:sequence_detail", args=["vision", "detector", "model-a"])).content.decode()
    assert body.index(">v1</a>") < body.index(">v0</a>")


def test_source_version_page_shows_files_metadata_description_and_links(client, world, version):
    link = world.link(version)
    client.force_login(world["member"])
    body = client.get(version.get_absolute_url()).content.decode()
    assert "vision/detector/model-a:v0" in body
    assert 'tree-name dir">weights/' in body and "README.md" in body
    assert "&quot;epochs&quot;: 3" in body
    assert "<em>ResNet</em>" in body
    assert f'href="{link.get_absolute_url()}"' in body
    assert source_url("collections:version_link", version) in body


def test_linked_to_hides_registries_the_user_cannot_see(client, world, version):
    world.link(version)
    orgs.add_team_member(actor=world["org_admin"], team=world.team, user=world["registry_admin"])
    outsider_view = Link.objects.visible_to(world["registry_admin"]).filter(version=version).exists()
    client.force_login(world["registry_admin"])
    body = client.get(version.get_absolute_url()).content.decode()
    assert ("classifier:v0" in body) == outsider_view


def test_bad_version_label_is_not_found(client, world, version):
    client.force_login(world["member"])
    url = reverse("artifacts:version_detail", args=["vision", "detector", "model-a", "latest"])
    assert client.get(url).status_code == 404


def test_source_download_streams_the_file(client, world, version):
    client.force_login(world["member"])
    entry = version.entries.get(path="weights/model.bin")
    response = client.get(source_url("artifacts:version_file", version, entry.pk))
    assert response["Content-Disposition"] == 'attachment; filename="model.bin"'
    assert b"".join(response.streaming_content) == b"w" * 10


# --- Link to registry ---


def test_team_member_links_a_version_into_a_new_collection_with_aliases(client, world, version):
    client.force_login(world["team_member"])
    data = {"registry": world.registry.pk, "collection": "detectors", "aliases": "staging, candidate"}
    response = client.post(source_url("collections:version_link", version), data, headers=HTMX)
    link = Link.objects.get(version=version)
    assert response["HX-Redirect"] == link.get_absolute_url()
    assert link.collection.name == "detectors"
    assert set(link.aliases.values_list("alias", flat=True)) == {"latest", "staging", "candidate"}
    assert AuditEvent.objects.filter(action=Action.COLLECTION_LINK, actor=world["team_member"]).exists()


def test_link_dialog_offers_only_registries_where_the_user_may_write(client, world, version):
    client.force_login(world["team_member"])
    body = client.get(source_url("collections:version_link", version)).content.decode()
    assert f'<option value="{world.registry.pk}"' in body
    models = Registry.objects.get(org=world.org, slug="model")
    assert f'<option value="{models.pk}"' not in body  # org members are Viewers of core registries


def test_link_dialog_suggests_existing_collections_of_the_same_type(client, world, version):
    collections.create_collection(actor=world["org_admin"], registry=world.registry, name="resnets", type="model")
    client.force_login(world["member"])
    body = client.get(source_url("collections:version_link", version)).content.decode()
    assert '<option value="resnets">' in body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"collection": "a/b"}, "cannot contain"),
        ({"collection": ""}, "This field is required"),
        ({"collection": "settings"}, "is reserved"),
        ({"collection": "ok", "aliases": "bad/alias"}, "cannot contain"),
        ({"collection": "ok", "aliases": "v2"}, "set by the registry"),
    ],
)
def test_bad_link_input_is_an_error_and_nothing_is_linked(client, world, version, data, message):
    client.force_login(world["member"])
    events = AuditEvent.objects.count()
    response = client.post(source_url("collections:version_link", version), {"registry": world.registry.pk} | data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Link.objects.filter(version=version).exists()
    assert AuditEvent.objects.count() == events


def test_linking_into_a_registry_of_another_org_is_refused(client, world, version):
    foreign = Registry.objects.get(org=world.other_org, slug="model")
    client.force_login(world["org_admin"])
    data = {"registry": foreign.pk, "collection": "theirs"}
    response = client.post(source_url("collections:version_link", version), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Link.objects.filter(version=version).exists()


def test_linking_a_type_the_registry_does_not_accept_is_an_error(client, world):
    dataset = world.version(name="coco", type="dataset", content=b"rows")
    client.force_login(world["member"])
    data = {"registry": world.registry.pk, "collection": "coco"}
    response = client.post(source_url("collections:version_link", dataset), data)
    assert "accepts <strong>dataset</strong> artifacts lets you link" in response.content.decode()
    assert not Link.objects.filter(version=dataset).exists()
    datasets = Registry.objects.get(org=world.org, slug="dataset")
    options = client.get(source_url("collections:version_link", dataset)).content.decode()
    assert f'<option value="{world.registry.pk}"' not in options  # Golden Models takes models only
    assert f'<option value="{datasets.pk}"' not in options  # members are Viewers of core registries


def test_member_cannot_link_with_a_protected_alias(client, world, version):
    client.force_login(world["member"])
    data = {"registry": world.registry.pk, "collection": "classifier", "aliases": "production"}
    response = client.post(source_url("collections:version_link", version), data, headers=HTMX)
    assert "Only registry admins can apply protected aliases: production" in response.content.decode()
    assert not Link.objects.filter(version=version).exists()


def test_registry_admin_links_with_a_protected_alias(client, world, version):
    orgs.add_team_member(actor=world["org_admin"], team=world.team, user=world["registry_admin"])
    client.force_login(world["registry_admin"])
    data = {"registry": world.registry.pk, "collection": "classifier", "aliases": "production"}
    assert client.post(source_url("collections:version_link", version), data).status_code == 302
    assert Link.objects.get(version=version).aliases.filter(alias="production").exists()


def test_team_member_without_write_role_sees_why_they_cannot_link(client, world):
    admin = world["org_admin"]
    team = orgs.create_team(actor=admin, org=world.org, name="audio")
    orgs.add_team_member(actor=admin, team=team, user=world["viewer"])  # a Viewer in every registry
    project = artifacts.create_project(actor=admin, team=team, name="asr")
    version = artifacts.log_artifact(actor=admin, project=project, name="whisper", type="model", files={"m": b"m"})
    client.force_login(world["viewer"])
    body = client.get(source_url("collections:version_link", version)).content.decode()
    assert "linking needs the Member role" in body
    response = client.post(
        source_url("collections:version_link", version), {"registry": world.registry.pk, "collection": "x"}
    )
    assert response.status_code == 200
    assert not Link.objects.filter(version=version).exists()


# --- Query budget ---


@pytest.mark.parametrize("count", [1, 10])
def test_source_pages_query_counts_are_constant(client, world, django_assert_num_queries, count):
    for i in range(count):
        version = world.version(name=f"model-{i}", content=f"w{i}".encode())
        world.version(name="model-0", content=f"again{i}".encode())
        collections.add_version_tag(actor=world["org_admin"], link=world.link(version, collection=f"c{i}"), tag="t")
    client.force_login(world["member"])
    listing = reverse("artifacts:artifact_list", args=["vision", "detector"])
    sequence = reverse("artifacts:sequence_detail", args=["vision", "detector", "model-0"])
    client.get(listing)  # warm per-process caches
    # session, user, project (visibility subquery), sequences page, shell orgs.
    with django_assert_num_queries(5):
        client.get(listing)
    # session, user, project, sequence, versions page, tags prefetch, may-write (org viewer?), restorable
    # deleted versions, shell orgs.
    with django_assert_num_queries(9):
        client.get(sequence)
    # session, user, version, tags, files page, linked-to links, may-write (org viewer?), shell orgs.
    with django_assert_num_queries(8):
        client.get(version.get_absolute_url())


def test_source_page_offers_no_registry_links_when_the_registry_ui_is_off(client, world, version, settings):
    world.link(version)
    settings.ENABLE_REGISTRY_UI = False
    client.force_login(world["member"])
    body = client.get(version.get_absolute_url()).content.decode()
    assert "Link to registry" not in body and "classifier:v0" not in body
