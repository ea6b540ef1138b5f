"""Linked-version page: tabs, in-place alias/tag/description edits, unlink, files and lineage."""

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from apps.artifacts import services as artifacts
from apps.audit.models import Action, AuditEvent
from apps.collections import services
from apps.collections.models import Link, LinkAlias
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
DOWNLOAD = READ | {"restricted_viewer": 403}
WRITE = READ | {"org_admin": 302, "registry_admin": 302, "member": 302, "team_member": 302}
WRITE |= {"viewer": 403, "restricted_viewer": 403}
TABS = ["version", "metadata", "usage", "files", "lineage", "history"]


def url(name, link, *extra):
    registry = link.collection.registry
    return reverse(
        f"collections:{name}", args=[registry.org.slug, registry.slug, link.collection.name, link.index, *extra]
    )


def png(color="red", size=(600, 400)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _thumbs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def link(world):
    version = world.version(
        files={"images/cat.png": png(), "config/train.yaml": b"lr: 0.1\n"},
        metadata={"acc": 0.91, "eval": {"f1": 0.8}},
        description="Fine-tuned on **COCO**.",
    )
    return world.link(version, aliases=["candidate"])


def entry(link, path):
    return link.version.entries.get(path=path)


# --- Permission matrices ---


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize(("persona", "status"), READ.items())
def test_version_page_permissions(client, world, link, persona, status, tab):
    login_as(client, world, persona)
    assert_status(client.get(url("version_detail", link), {"tab": tab}), persona, status)


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize(("persona", "status"), READ.items())
def test_version_tab_fragment_permissions(client, world, link, persona, status, tab):
    login_as(client, world, persona)
    response = client.get(url("version_detail", link), {"tab": tab}, headers=HTMX)
    assert_status(response, persona, status)
    if status == 200:
        body = response.content.decode()
        assert 'id="version-tab"' in body and "<html" not in body
        assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(("persona", "status"), READ.items())
def test_lineage_fragment_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    response = client.get(url("version_detail", link), {"tab": "lineage"}, headers=HTMX | {"HX-Target": "lineage"})
    assert_status(response, persona, status)
    if status == 200:
        body = response.content.decode()
        assert body.lstrip().startswith('<div id="lineage"') and "<html" not in body
        assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_alias_add_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    assert_status(client.post(url("version_alias_add", link), {"alias": "staging"}), persona, status)
    assert link.aliases.filter(alias="staging").exists() == (status == 302 and persona != "anonymous")


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_alias_remove_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    assert_status(client.post(url("version_alias_remove", link), {"alias": "candidate"}), persona, status)


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_version_tag_add_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    assert_status(client.post(url("version_tag_add", link), {"tag": "gold"}), persona, status)


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_version_tag_remove_permissions(client, world, link, persona, status):
    services.add_version_tag(actor=world["org_admin"], link=link, tag="gold")
    login_as(client, world, persona)
    assert_status(client.post(url("version_tag_remove", link), {"tag": "gold"}), persona, status)


@pytest.mark.parametrize(
    ("persona", "status"),
    (WRITE | {"org_admin": 200, "registry_admin": 200, "member": 200, "team_member": 200}).items(),
)
def test_version_description_editor_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    assert_status(client.get(url("version_description", link)), persona, status)


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_version_description_save_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    assert_status(client.post(url("version_description", link), {"description": "New"}), persona, status)


@pytest.mark.parametrize(("persona", "status"), WRITE.items())
def test_unlink_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    assert_status(client.post(url("version_unlink", link)), persona, status)
    assert Link.objects.filter(pk=link.pk).exists() != (status == 302 and persona != "anonymous")


@pytest.mark.parametrize(("persona", "status"), DOWNLOAD.items())
def test_file_download_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    response = client.get(url("version_file", link, entry(link, "config/train.yaml").pk))
    assert_status(response, persona, status)
    if status == 200:
        assert b"".join(response.streaming_content) == b"lr: 0.1\n"


@pytest.mark.parametrize(("persona", "status"), DOWNLOAD.items())
def test_thumbnail_permissions(client, world, link, persona, status):
    login_as(client, world, persona)
    response = client.get(url("version_thumbnail", link, entry(link, "images/cat.png").pk))
    assert_status(response, persona, status)


# --- Version tab ---


def test_version_tab_shows_full_name_aliases_source_and_description(client, world, link):
    client.force_login(world["member"])
    body = client.get(url("version_detail", link)).content.decode()
    assert "wandb-registry-Golden Models/classifier:v0" in body
    assert "data-copy" in body
    assert 'chip chip-alias">latest' in body and 'chip chip-alias">candidate' in body
    assert f'href="{link.version.get_absolute_url()}"' in body
    assert "<strong>COCO</strong>" in body


def test_linked_to_lists_other_links_the_user_can_see(client, world, link):
    services.create_collection(actor=world["org_admin"], registry=world.registry, name="detector", type="model")
    other = world.link(link.version, collection="detector")
    client.force_login(world["viewer"])
    body = client.get(url("version_detail", link)).content.decode()
    assert f'href="{other.get_absolute_url()}"' in body
    assert world["viewer"] and link.version.get_absolute_url() not in body  # viewer is not in the team


def test_bad_tab_is_not_found(client, world, link):
    client.force_login(world["viewer"])
    assert client.get(url("version_detail", link), {"tab": "secrets"}).status_code == 404


def test_missing_version_is_not_found(client, world, link):
    client.force_login(world["viewer"])
    registry = link.collection.registry
    missing = reverse("collections:version_detail", args=[registry.org.slug, registry.slug, "classifier", 99])
    assert client.get(missing).status_code == 404


# --- Aliases, tags, description: in place, audited, validated ---


def test_member_adds_an_alias_in_place(client, world, link):
    client.force_login(world["member"])
    response = client.post(url("version_alias_add", link), {"alias": "staging"}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="aliases"') and "<html" not in body
    assert "staging" in body
    assert link.aliases.filter(alias="staging").exists()
    assert AuditEvent.objects.filter(action=Action.ALIAS_ADD, actor=world["member"], data__alias="staging").exists()


def test_adding_an_alias_moves_it_from_another_version(client, world, link):
    newer = world.link(world.version(content=b"newer"))
    client.force_login(world["member"])
    client.post(url("version_alias_add", newer), {"alias": "candidate"})
    assert LinkAlias.objects.get(collection=link.collection, alias="candidate").link == newer


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("", "cannot be empty"),
        ("a/b", "cannot contain"),
        ("has space", "cannot contain"),
        ("v3", "set by the registry"),
    ],
)
def test_invalid_alias_is_an_inline_error_and_nothing_is_written(client, world, link, alias, message):
    client.force_login(world["member"])
    before, events = set(link.aliases.values_list("alias", flat=True)), AuditEvent.objects.count()
    response = client.post(url("version_alias_add", link), {"alias": alias}, headers=HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert set(link.aliases.values_list("alias", flat=True)) == before
    assert AuditEvent.objects.count() == events


def test_latest_cannot_be_removed(client, world, link):
    client.force_login(world["member"])
    response = client.post(url("version_alias_remove", link), {"alias": "latest"}, headers=HTMX)
    assert "always points at the newest version" in response.content.decode()
    assert link.aliases.filter(alias="latest").exists()


def test_member_cannot_apply_a_protected_alias(client, world, link):
    client.force_login(world["member"])
    response = client.post(url("version_alias_add", link), {"alias": "production"}, headers=HTMX)
    assert "only registry admins can apply it" in response.content.decode()
    assert not link.aliases.filter(alias="production").exists()


def test_member_cannot_remove_a_protected_alias(client, world, link):
    services.add_alias(actor=world["org_admin"], link=link, alias="production")
    client.force_login(world["member"])
    assert client.post(url("version_alias_remove", link), {"alias": "production"}).status_code == 403
    assert link.aliases.filter(alias="production").exists()


def test_registry_admin_applies_and_removes_a_protected_alias(client, world, link):
    client.force_login(world["registry_admin"])
    client.post(url("version_alias_add", link), {"alias": "production"})
    assert link.aliases.filter(alias="production").exists()
    body = client.get(url("version_detail", link)).content.decode()
    assert 'chip chip-protected" title="Protected' in body
    client.post(url("version_alias_remove", link), {"alias": "production"})
    assert not link.aliases.filter(alias="production").exists()
    assert AuditEvent.objects.filter(action=Action.ALIAS_REMOVE, actor=world["registry_admin"]).exists()


def test_members_see_no_remove_button_on_protected_aliases(client, world, link):
    services.add_alias(actor=world["org_admin"], link=link, alias="production")
    client.force_login(world["member"])
    body = client.get(url("version_detail", link)).content.decode()
    assert 'aria-label="Remove alias candidate"' in body
    assert 'aria-label="Remove alias production"' not in body
    assert 'aria-label="Remove alias latest"' not in body


def test_member_tags_a_version_in_place(client, world, link):
    client.force_login(world["member"])
    response = client.post(url("version_tag_add", link), {"tag": "gold standard"}, headers=HTMX)
    assert 'id="version-tags"' in response.content.decode()
    assert link.version.tags.filter(name="gold standard").exists()
    assert AuditEvent.objects.filter(action=Action.VERSION_ADD_TAG, version_pk=link.version_id).exists()
    client.post(url("version_tag_remove", link), {"tag": "gold standard"}, headers=HTMX)
    assert not link.version.tags.exists()


def test_invalid_version_tag_writes_nothing(client, world, link):
    client.force_login(world["member"])
    response = client.post(url("version_tag_add", link), {"tag": "no/slashes"}, headers=HTMX)
    assert "is not a valid tag" in response.content.decode()
    assert not link.version.tags.exists()


def test_member_edits_the_version_description(client, world, link):
    client.force_login(world["member"])
    editor = client.get(url("version_description", link), headers=HTMX).content.decode()
    assert 'id="version-description"' in editor and "<textarea" in editor
    response = client.post(url("version_description", link), {"description": "Use *this* one"}, headers=HTMX)
    assert "<em>this</em>" in response.content.decode()
    link.version.refresh_from_db()
    assert link.version.description == "Use *this* one"
    assert AuditEvent.objects.filter(action=Action.VERSION_UPDATE, actor=world["member"]).exists()


# --- Unlink ---


def test_member_unlinks_a_version(client, world, link):
    client.force_login(world["member"])
    response = client.post(url("version_unlink", link), headers=HTMX)
    assert response["HX-Redirect"] == link.collection.get_absolute_url()
    assert not Link.objects.filter(pk=link.pk).exists()
    assert AuditEvent.objects.filter(action=Action.COLLECTION_UNLINK, actor=world["member"]).exists()


def test_member_cannot_unlink_a_protected_version(client, world, link):
    services.add_alias(actor=world["org_admin"], link=link, alias="production")
    client.force_login(world["member"])
    page = client.get(url("version_detail", link)).content.decode()
    assert "holds a protected alias (production)" in page
    assert client.post(url("version_unlink", link)).status_code == 403
    assert Link.objects.filter(pk=link.pk).exists()


def test_registry_admin_unlinks_a_protected_version(client, world, link):
    services.add_alias(actor=world["org_admin"], link=link, alias="production")
    client.force_login(world["registry_admin"])
    assert client.post(url("version_unlink", link)).status_code == 302
    assert not Link.objects.filter(pk=link.pk).exists()


# --- Metadata, Usage ---


def test_metadata_tab_pretty_prints_json(client, world, link):
    client.force_login(world["restricted_viewer"])
    body = client.get(url("version_detail", link), {"tab": "metadata"}).content.decode()
    assert "&quot;acc&quot;: 0.91" in body and "  &quot;eval&quot;: {" in body


def test_usage_tab_has_snippets_for_this_exact_version(client, world, link):
    client.force_login(world["viewer"])
    body = client.get(url("version_detail", link), {"tab": "usage"}).content.decode()
    path = "acme/wandb-registry-Golden Models/classifier:v0"
    assert f"Client().artifact(&quot;{path}&quot;).download()" in body
    assert f"registry get {path}" in body
    assert f"wandb.Api().artifact(&quot;{path}&quot;)" in body


# --- Files ---


def test_files_tab_shows_a_tree_with_downloads_and_thumbnails(client, world, link):
    client.force_login(world["viewer"])
    body = client.get(url("version_detail", link), {"tab": "files"}).content.decode()
    assert 'tree-name dir">images/' in body and 'tree-name dir">config/' in body
    assert url("version_file", link, entry(link, "config/train.yaml").pk) in body
    assert url("version_thumbnail", link, entry(link, "images/cat.png").pk) in body
    assert url("version_thumbnail", link, entry(link, "config/train.yaml").pk) not in body


def test_restricted_viewer_sees_names_and_sizes_but_no_downloads(client, world, link):
    client.force_login(world["restricted_viewer"])
    body = client.get(url("version_detail", link), {"tab": "files"}).content.decode()
    assert "train.yaml" in body and "8\xa0bytes" in body
    assert "/files/" not in body and "thumbnail" not in body
    assert "Downloading needs the Viewer role" in body


def test_download_is_an_attachment_named_like_the_file(client, world, link):
    client.force_login(world["viewer"])
    response = client.get(url("version_file", link, entry(link, "config/train.yaml").pk))
    assert response["Content-Disposition"] == 'attachment; filename="train.yaml"'
    assert response["Content-Length"] == "8"


def test_download_of_another_versions_file_is_not_found(client, world, link):
    other = world.version(name="other", content=b"secret")
    client.force_login(world["viewer"])
    assert client.get(url("version_file", link, other.entries.get().pk)).status_code == 404


def test_thumbnail_is_a_small_png_cached_on_disk(client, world, link, settings):
    client.force_login(world["viewer"])
    response = client.get(url("version_thumbnail", link, entry(link, "images/cat.png").pk))
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert max(image.size) == 256
    cached = list((settings.VAR_DIR / "thumbs").rglob("*.png"))
    assert len(cached) == 1 and entry(link, "images/cat.png").sha256 in cached[0].name


def test_thumbnail_of_a_broken_image_is_not_found(client, world):
    broken = world.link(world.version(name="broken", files={"bad.png": b"not a png"}))
    client.force_login(world["viewer"])
    assert client.get(url("version_thumbnail", broken, entry(broken, "bad.png").pk)).status_code == 404


def test_thumbnail_of_a_non_image_is_not_found(client, world, link):
    client.force_login(world["viewer"])
    assert client.get(url("version_thumbnail", link, entry(link, "config/train.yaml").pk)).status_code == 404


# --- Lineage ---


@pytest.fixture
def pipeline(world, link):
    """data:v0 → run prep → (the linked model) → run eval → report:v0."""
    admin, project = world["org_admin"], world.project
    data = world.version(name="data", type="dataset", content=b"rows")
    train = artifacts.create_run(actor=admin, project=project, run_id="train1", name="train")
    services.use_artifact(actor=admin, run=train, version=data)
    artifacts.ArtifactUsage.objects.create(run=train, version=link.version, kind="output")
    evaluate = artifacts.create_run(actor=admin, project=project, run_id="eval1", name="evaluate")
    services.use_artifact(actor=admin, run=evaluate, version=link.version)
    report = world.version(name="report", type="report", content=b"0.9", run=evaluate)
    return {"data": data, "train": train, "evaluate": evaluate, "report": report}


def test_lineage_draws_runs_green_and_artifacts_blue_as_links(client, world, link, pipeline):
    client.force_login(world["member"])
    body = client.get(url("version_detail", link), {"tab": "lineage"}).content.decode()
    assert body.count('class="node node-run"') == 2
    assert body.count('class="node node-artifact') == 3
    assert 'class="node node-artifact node-current"' in body
    assert f'href="{pipeline["data"].get_absolute_url()}"' in body
    assert "?run=train1" in body and "?run=eval1" in body
    assert body.count('class="edge"') == 4


def test_lineage_hides_names_the_user_cannot_see(client, world, link, pipeline):
    client.force_login(world["viewer"])  # in the registry, not in the team
    body = client.get(url("version_detail", link), {"tab": "lineage"}).content.decode()
    assert "private run" in body and "private artifact" in body
    assert "train1" not in body and "data:v0" not in body


def test_lineage_depth_follows_more_steps(client, world, link, pipeline):
    admin = world["org_admin"]
    raw = world.version(name="raw", type="dataset", content=b"raw")
    prep = artifacts.create_run(actor=admin, project=world.project, run_id="prep1")
    services.use_artifact(actor=admin, run=prep, version=raw)
    artifacts.ArtifactUsage.objects.create(run=prep, version=pipeline["data"], kind="output")
    client.force_login(world["member"])
    shallow = client.get(url("version_detail", link), {"tab": "lineage", "depth": 1}).content.decode()
    deep = client.get(url("version_detail", link), {"tab": "lineage", "depth": 2}).content.decode()
    assert "prep1" not in shallow and "prep1" in deep
    assert client.get(url("version_detail", link), {"tab": "lineage", "depth": 99}).status_code == 200


def test_big_lineage_levels_collapse_into_a_cluster_that_expands(client, world, link):
    for i in range(6):
        run = artifacts.create_run(actor=world["org_admin"], project=world.project, run_id=f"use{i}")
        services.use_artifact(actor=world["org_admin"], run=run, version=link.version, link=link)
    client.force_login(world["member"])
    body = client.get(url("version_detail", link), {"tab": "lineage"}).content.decode()
    assert "6 runs" in body and "use3" not in body
    expand = re.search(r'hx-get="(\?tab=lineage[^"]*expand=1)"', body)[1].replace("&amp;", "&")
    expanded = client.get(url("version_detail", link) + expand, headers=HTMX | {"HX-Target": "lineage"})
    assert "use3" in expanded.content.decode() and "6 runs" not in expanded.content.decode()


def test_lineage_without_runs_has_an_empty_state(client, world, link):
    client.force_login(world["viewer"])
    body = client.get(url("version_detail", link), {"tab": "lineage"}).content.decode()
    assert "No recorded lineage" in body


# --- History and query budget ---


def test_history_tab_lists_this_versions_events(client, world, link):
    services.add_version_tag(actor=world["member"], link=link, tag="gold")
    client.force_login(world["team_member"])
    body = client.get(url("version_detail", link), {"tab": "history"}).content.decode()
    assert "<strong>member</strong> tagged v0 “gold”" in body
    assert "linked v0" in body and "committed" in body


def test_history_tab_hides_events_of_registries_the_user_cannot_see(client, world, link):
    from apps.registries import services as registries

    secret = registries.create_registry(
        actor=world["org_admin"], org=world.org, name="Secret", visibility="restricted", artifact_types=["model"]
    )
    hidden = world.link(link.version, collection="stealth", registry=secret, aliases=["covert"])
    client.force_login(world["viewer"])
    body = client.get(url("version_detail", link), {"tab": "history"}).content.decode()
    assert "covert" not in body
    assert "committed" not in body  # source-side events need the project: viewer is not in the team
    client.force_login(world["org_admin"])
    body = client.get(url("version_detail", link), {"tab": "history"}).content.decode()
    assert "covert" in body and "committed" in body
    assert hidden.pk


@pytest.mark.parametrize("count", [1, 10])
def test_history_tab_query_count_is_constant(client, world, link, django_assert_num_queries, count):
    for i in range(count):
        services.add_version_tag(actor=world["org_admin"], link=link, tag=f"t{i}")
        services.create_collection(actor=world["org_admin"], registry=world.registry, name=f"c{i}", type="model")
        world.link(link.version, collection=f"c{i}")
    page = url("version_detail", link)
    client.force_login(world["viewer"])
    client.get(page)  # warm per-process caches (guardian's content types), as a running server has them
    # 1 session, 2 user, 3 link with collection, registry, org, version, sequence, project,
    # team, run, creator and linker, 4 guardian user perms, 5 group perms, 6 protected aliases,
    # 7 aliases held, 8 whether the source project is visible, 9 history page (visible
    # registries as a subquery), 10 the shell's organizations.
    with django_assert_num_queries(9):
        assert client.get(page, {"tab": "history"}, headers=HTMX).status_code == 200
    # The Version tab instead of History: 9 version tags, 10 other links the user sees,
    # 11 whether the source project is visible.
    with django_assert_num_queries(10):
        assert client.get(page).status_code == 200


@pytest.mark.parametrize("count", [1, 10])
def test_files_tab_query_count_is_constant(client, world, django_assert_num_queries, count):
    link = world.link(world.version(files={f"shard-{i}.bin": f"{i}".encode() for i in range(count)}))
    page = url("version_detail", link)
    client.force_login(world["viewer"])
    client.get(page)  # warm per-process caches
    # session, user, link, 2 guardian perms, protected aliases, aliases held, entries page, shell orgs.
    with django_assert_num_queries(8):
        assert client.get(page, {"tab": "files"}).status_code == 200


def test_history_tab_filters_by_action_and_actor(client, world, link):
    services.add_version_tag(actor=world["member"], link=link, tag="gold")
    services.add_version_tag(actor=world["org_admin"], link=link, tag="silver")
    client.force_login(world["team_member"])
    page = url("version_detail", link)
    body = client.get(page, {"tab": "history", "history-action": "version:add_tag"}).content.decode()
    assert "tagged v0 “gold”" in body and "tagged v0 “silver”" in body and "linked v0" not in body
    body = client.get(page, {"tab": "history", "history-actor": "member"}).content.decode()
    assert "“gold”" in body and "“silver”" not in body
    body = client.get(page, {"tab": "history", "history-actor": "nobody"}).content.decode()
    assert "No events match these filters." in body
    # htmx: the tab panel alone, with its filters kept on the way
    html = client.get(
        page,
        {"tab": "history", "history-action": "version:"},
        headers={"HX-Request": "true", "HX-Target": "version-tab"},
    ).content.decode()
    assert not html.lstrip().startswith("<!doctype") and "“gold”" in html and "linked v0" not in html
    assert 'name="tab" value="history"' in html
