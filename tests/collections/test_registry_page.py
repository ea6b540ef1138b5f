"""The registry page: collection list (filters, sort, keyset pages), star, create collection, link version."""

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.collections import forms as link_forms
from apps.collections import services as collections
from apps.collections.models import Collection, Link
from apps.registries import services as registries
from apps.registries.models import Star
from tests.conftest import assert_fragment, assert_status, statuses


def url(world, name="registry_detail", registry=None):
    registry = registry or world.registry
    namespace = "registries" if name == "registry_star" else "collections"
    return reverse(f"{namespace}:{name}", args=[registry.org.slug, registry.slug])


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_registry_page_permissions(login, world, persona, status):
    assert_status(login(persona).get(url(world)), persona, status)


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_collection_list_partial_permissions(login, world, persona, status):
    response = login(persona).get(url(world), headers={"HX-Request": "true"})
    assert_status(response, persona, status)
    if status == 200:
        assert_fragment(response, "collection-list")


def test_registry_page_shows_rows_and_link_snippet(login, world):
    world.link(aliases=["candidate"])
    collections.add_collection_tag(actor=world["org_admin"], collection=Collection.objects.get(), tag="vision")
    html = login("viewer").get(url(world)).content.decode()
    assert "classifier" in html and "vision" in html and "v0" in html
    assert "target_path=&quot;wandb-registry-Golden Models/&lt;collection&gt;&quot;" in html
    assert "client.link_artifact(version, &quot;acme/wandb-registry-Golden Models/&lt;collection&gt;&quot;)" in html


def test_registry_page_for_another_orgs_slug_is_404(login, world):
    response = login("member").get(reverse("collections:registry_detail", args=["globex", world.registry.slug]))
    assert response.status_code == 404


def test_registry_page_empty_state(login, world):
    html = login("member").get(url(world)).content.decode()
    assert "No collections yet" in html


@pytest.mark.parametrize(
    ("persona", "controls"),
    [("member", True), ("team_member", True), ("viewer", False), ("restricted_viewer", False)],
)
def test_write_controls_only_for_writers(login, world, persona, controls):
    html = login(persona).get(url(world)).content.decode()
    assert ('id="create-collection-dialog"' in html) is controls
    assert ('id="link-version-dialog"' in html) is controls


def _collections(world, names, tags=()):
    for name in names:
        collections.create_collection(
            actor=world["org_admin"], registry=world.registry, name=name, type="model", tags=list(tags)
        )


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"q": "res"}, ["resnet"], ["bert"]),
        ({"q": "NLP"}, ["bert"], ["resnet"]),  # q matches tags too
        ({"tag": "nlp"}, ["bert"], ["resnet"]),
        ({"type": "model"}, ["resnet", "bert"], []),
        ({"type": "nothing"}, ["resnet", "bert"], []),  # an unknown choice is ignored
    ],
)
def test_collection_filters(login, world, query, shown, hidden):
    _collections(world, ["resnet"], tags=["vision"])
    _collections(world, ["bert"], tags=["nlp"])
    html = login("viewer").get(url(world), {**query}, headers={"HX-Request": "true"}).content.decode()
    for name in shown:
        assert f'class="collection-name" href="/orgs/acme/registry/golden-models/{name}/">{name}<' in html
    for name in hidden:
        assert f">{name}<" not in html


def test_filter_without_match_shows_a_way_out(login, world):
    _collections(world, ["resnet"])
    html = login("viewer").get(url(world), {"q": "zzz"}).content.decode()
    assert "No collections match" in html and "Clear the filters" in html


def _names(html):
    import re

    return re.findall(r'class="collection-name" href="[^"]+">([^<]+)<', html)


def test_keyset_pages_by_name_forward_and_back(login, world):
    names = [f"c{i:02d}" for i in range(30)]
    _collections(world, names)
    client = login("viewer")
    first = client.get(url(world), {"sort": "name"}, headers={"HX-Request": "true"})
    assert _names(first.content.decode()) == names[:25]
    page = first.context["page"]
    assert page.has_next and not page.has_previous
    second = client.get(url(world), {"sort": "name", "after": page.next_cursor}, headers={"HX-Request": "true"})
    assert _names(second.content.decode()) == names[25:]
    page2 = second.context["page"]
    assert page2.has_previous and not page2.has_next
    back = client.get(url(world), {"sort": "name", "before": page2.previous_cursor})
    assert _names(back.content.decode()) == names[:25]
    assert not back.context["page"].has_previous and back.context["page"].has_next


def test_keyset_pages_by_update_time(login, world):
    names = [f"c{i:02d}" for i in range(27)]
    _collections(world, names)
    client = login("viewer")
    first = client.get(url(world))
    assert _names(first.content.decode()) == list(reversed(names))[:25]
    second = client.get(url(world), {"after": first.context["page"].next_cursor})
    assert _names(second.content.decode()) == ["c01", "c00"]
    assert "Newer" in second.content.decode()


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwgInkiXQ", "%%%"])
def test_tampered_cursor_shows_first_page(login, world, cursor):
    _collections(world, ["a", "b"])
    response = login("viewer").get(url(world), {"after": cursor, "sort": "name"})
    assert response.status_code == 200
    assert _names(response.content.decode()) == ["a", "b"]


@pytest.mark.parametrize("size", [1, 10])
def test_registry_page_query_count_is_constant(client, world, django_assert_num_queries, size):
    for i in range(size):
        world.link(version=world.version(name=f"m{i}"), collection=f"c{i}", aliases=[f"a{i}"])
        collections.add_collection_tag(
            actor=world["org_admin"], collection=Collection.objects.get(name=f"c{i}"), tag=f"t{i}"
        )
    client.force_login(world["member"])
    client.get(url(world))
    # session, user, registry (visible_to, star as a subquery), perms (user, group), tag
    # choices, type choices, collection page (counts and latest as subqueries), tags prefetch,
    # legacy banner (apps/legacy), shell orgs, the teams of the link dialog and of the create wizard's
    # first version (one query for both), collection names for the datalist.
    with django_assert_num_queries(12):
        assert client.get(url(world)).status_code == 200
    # The htmx partial: the same minus the dialogs' query and the banner (only whole pages draw it).
    with django_assert_num_queries(9):
        assert client.get(url(world), headers={"HX-Request": "true"}).status_code == 200


# --- star ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), statuses(302))
def test_star_permissions(login, world, persona, status):
    response = login(persona).post(url(world, "registry_star"), {"starred": "1"})
    assert_status(response, persona, status)
    assert Star.objects.filter(registry=world.registry).exists() is (status == 302 and persona != "anonymous")


def test_star_and_unstar_with_htmx(login, world):
    client = login("viewer")
    response = client.post(url(world, "registry_star"), {"starred": "1"}, headers={"HX-Request": "true"})
    assert_fragment(response, "star-button")
    assert "Starred" in response.content.decode()
    assert Star.objects.filter(registry=world.registry, user=world["viewer"]).exists()
    assert AuditEvent.objects.filter(action=Action.REGISTRY_STAR, actor=world["viewer"]).exists()
    response = client.post(url(world, "registry_star"), {"starred": "0"}, headers={"HX-Request": "true"})
    assert_fragment(response, "star-button")
    assert not Star.objects.filter(registry=world.registry, user=world["viewer"]).exists()
    assert AuditEvent.objects.filter(action=Action.REGISTRY_UNSTAR, actor=world["viewer"]).exists()


def test_star_needs_post(login, world):
    assert login("viewer").get(url(world, "registry_star")).status_code == 405


# --- create collection --------------------------------------------------------------------------

COLLECTION = {"name": "detector", "type": "model", "description": "# YOLO", "tags": "vision, edge"}


@pytest.mark.parametrize(("persona", "status"), statuses(302, org_viewers=403))
def test_create_collection_permissions(login, world, persona, status):
    response = login(persona).post(url(world, "collection_create"), COLLECTION)
    assert_status(response, persona, status)
    assert Collection.objects.filter(name="detector").exists() is (status == 302 and persona != "anonymous")


@pytest.mark.parametrize(("persona", "status"), statuses(200, org_viewers=403))
def test_create_collection_page_permissions(login, world, persona, status):
    assert_status(login(persona).get(url(world, "collection_create")), persona, status)


def test_create_collection_htmx_redirects_to_it_and_audits(login, world):
    response = login("member").post(url(world, "collection_create"), COLLECTION, headers={"HX-Request": "true"})
    collection = Collection.objects.get(name="detector")
    assert response["HX-Redirect"] == collection.get_absolute_url()
    assert sorted(collection.tags.values_list("name", flat=True)) == ["edge", "vision"]
    assert AuditEvent.objects.filter(action=Action.COLLECTION_CREATE, collection_pk=collection.pk).exists()


def test_create_collection_type_is_limited_to_accepted_types(login, world):
    html = login("member").get(url(world, "collection_create")).content.decode()
    assert '<select name="type"' in html and '<option value="model"' in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**COLLECTION, "name": ""}, "This field is required"),
        ({**COLLECTION, "name": "a/b"}, "Names cannot contain"),
        ({**COLLECTION, "name": "settings"}, "reserved"),
        ({**COLLECTION, "name": "Existing"}, "already exists"),
        ({**COLLECTION, "type": "dataset"}, "Select a valid choice"),
        ({**COLLECTION, "tags": "not/ok"}, "not a valid tag"),
    ],
)
def test_create_collection_invalid_input(login, world, data, message):
    _collections(world, ["existing"])
    before, events = Collection.objects.count(), AuditEvent.objects.count()
    response = login("member").post(url(world, "collection_create"), data, headers={"HX-Request": "true"})
    assert_fragment(response, "create-collection-form")
    assert message in response.content.decode()
    assert Collection.objects.count() == before and AuditEvent.objects.count() == events


def test_create_collection_free_type_when_registry_accepts_all(login, world):
    registry = registries.create_registry(actor=world["member"], org=world.org, name="Anything")
    response = login("member").post(url(world, "collection_create", registry), {**COLLECTION, "type": "onnx"})
    assert response.status_code == 302
    assert Collection.objects.get(registry=registry).type == "onnx"


def test_create_collection_in_another_orgs_registry_is_404(login, world):
    other = world.other_org.registries.get(slug="model")
    response = login("member").post(url(world, "collection_create", other), COLLECTION)
    assert response.status_code == 404


# --- link new version ---------------------------------------------------------------------------


def _link_data(world, version, collection="detector", aliases="staging"):
    return {
        "team": world.team.pk,
        "project": world.project.pk,
        "artifact": version.sequence_id,
        "version": version.pk,
        "collection": collection,
        "aliases": aliases,
    }


@pytest.mark.parametrize(("persona", "status"), statuses(200, org_viewers=403))
def test_link_panel_permissions(login, world, persona, status):
    response = login(persona).get(url(world, "registry_link"), headers={"HX-Request": "true"})
    assert_status(response, persona, status)
    if status == 200:
        assert_fragment(response, "link-form")


def test_link_panel_chains_team_project_artifact_version(login, world):
    version = world.version()
    client = login("member")
    step = client.get(url(world, "registry_link"), {"team": world.team.pk}, headers={"HX-Request": "true"})
    assert f'<option value="{world.project.pk}"' in step.content.decode()
    assert "This field is required" not in step.content.decode()
    step = client.get(
        url(world, "registry_link"),
        {"team": world.team.pk, "project": world.project.pk, "artifact": version.sequence_id},
        headers={"HX-Request": "true"},
    )
    html = step.content.decode()
    assert f'<option value="{version.pk}"' in html
    # The options chosen so far stay selected; the version list offers its choices, none chosen yet.
    assert f'<option value="{world.team.pk}" selected>' in html
    assert f'<option value="{world.project.pk}" selected>' in html
    assert f'<option value="{version.pk}">' in html and '<option value="" selected>' not in html


def test_link_panel_hides_types_the_registry_refuses(login, world):
    world.version(name="corpus", type="dataset")
    html = (
        login("member")
        .get(url(world, "registry_link"), {"team": world.team.pk, "project": world.project.pk})
        .content.decode()
    )
    assert "corpus" not in html and "model-a" not in html  # no model logged yet either
    world.version()
    html = (
        login("member")
        .get(url(world, "registry_link"), {"team": world.team.pk, "project": world.project.pk})
        .content.decode()
    )
    assert "model-a (model)" in html and "corpus" not in html


# registry_admin may link, but is in no team: the source version is not among their choices (200, form error).
LINK_STATUSES = [(p, 200 if p == "registry_admin" else s) for p, s in statuses(302, org_viewers=403)]


@pytest.mark.parametrize(("persona", "status"), LINK_STATUSES)
def test_link_version_permissions(login, world, persona, status):
    version = world.version()
    response = login(persona).post(url(world, "registry_link"), _link_data(world, version))
    assert_status(response, persona, status)
    assert Link.objects.filter(version=version).exists() is (status == 302 and persona != "anonymous")


def test_link_version_links_audits_and_redirects_htmx(login, world):
    version = world.version()
    response = login("member").post(
        url(world, "registry_link"), _link_data(world, version), headers={"HX-Request": "true"}
    )
    link = Link.objects.get(version=version)
    assert response["HX-Redirect"] == link.get_absolute_url()
    assert set(link.aliases.values_list("alias", flat=True)) == {"latest", "staging"}
    assert AuditEvent.objects.filter(action=Action.COLLECTION_LINK, collection_pk=link.collection_id).exists()


@pytest.mark.parametrize(
    ("collection", "aliases", "message"),
    [
        ("", "", "This field is required"),
        ("a/b", "", "Names cannot contain"),
        ("detector", "bad/alias", "aliases cannot contain"),
        ("detector", "latest", "set by the registry"),
    ],
)
def test_link_version_invalid_input(login, world, collection, aliases, message):
    version = world.version()
    events = AuditEvent.objects.count()
    response = login("member").post(
        url(world, "registry_link"), _link_data(world, version, collection, aliases), headers={"HX-Request": "true"}
    )
    assert_fragment(response, "link-form")
    assert message in response.content.decode()
    assert not Link.objects.exists() and AuditEvent.objects.count() == events


def test_link_version_refuses_a_version_the_user_cannot_see(login, world):
    version = world.version()
    registries.grant_registry_role(
        actor=world["org_admin"], registry=world.registry, principal=world["viewer"], role="member"
    )
    response = login("viewer").post(url(world, "registry_link"), _link_data(world, version))
    assert response.status_code == 200  # the team/version choices are not theirs: a form error
    assert "Select a valid choice" in response.content.decode()
    assert not Link.objects.exists()


# --- the link dialogs' team lists (issue 17: read once for both dialogs) --------------------------


def _chained_html(form) -> str:
    return "".join(str(tags) for _field, _count, tags in form.chained())


@pytest.mark.parametrize("persona", ["org_admin", "team_member"])
def test_shared_team_options_render_what_the_form_reads_itself(world, persona):
    user = world[persona]
    teams = link_forms.linkable_team_options(user, world.org)
    assert teams  # the admin sees every team with projects, the team member their own
    for form_class in (link_forms.LinkVersionForm, link_forms.FirstVersionForm):
        shared = form_class(user=user, registry=world.registry, team_options=teams)
        alone = form_class(user=user, registry=world.registry)
        assert _chained_html(shared) == _chained_html(alone)


def test_chained_options_escape_names(world):
    form = link_forms.LinkVersionForm(
        user=world["org_admin"], registry=world.registry, team_options=[("7", '<b>"team" & co</b>')]
    )
    html = _chained_html(form)
    assert '<option value="7">&lt;b&gt;&quot;team&quot; &amp; co&lt;/b&gt;</option>' in html
    assert "<b>" not in html
