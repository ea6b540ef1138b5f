"""The Registry landing page and the create-registry dialog."""

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.registries import services as registries
from apps.registries.models import Registry, Visibility
from tests.conftest import assert_fragment, assert_status, statuses


def landing_url(org="acme"):
    return reverse("collections:landing", args=[org])


def create_url(org="acme"):
    return reverse("registries:registry_create", args=[org])


VALID = {"name": "Fine-tuned Models", "description": "LLMs", "visibility": "organization", "types_mode": "all"}


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_landing_permissions(login, world, persona, status):
    response = login(persona).get(landing_url())
    assert_status(response, persona, status)


def test_landing_lists_visible_registries_as_cards_with_counts(login, world):
    world.link(aliases=["candidate"])
    hidden = registries.create_registry(
        actor=world["org_admin"], org=world.org, name="Secret Sauce", visibility=Visibility.RESTRICTED
    )
    html = login("member").get(landing_url()).content.decode()
    assert ">Model<" in html and ">Dataset<" in html and "Golden Models" in html
    assert hidden.name not in html
    assert "1 collection" in html and "1 version" in html
    assert "classifier" in html  # recently updated collections


def test_landing_recent_collections_are_only_visible_ones(login, world):
    hidden = registries.create_registry(
        actor=world["org_admin"], org=world.org, name="Secret Sauce", visibility=Visibility.RESTRICTED
    )
    world.link(collection="top-secret", registry=hidden)
    world.link(version=world.version(name="other"), collection="shared-one")
    html = login("viewer").get(landing_url()).content.decode()
    assert "shared-one" in html
    assert "top-secret" not in html


def test_landing_shows_starred_registries_first(login, world):
    registries.star_registry(actor=world["member"], registry=world.registry)
    html = login("member").get(landing_url()).content.decode()
    assert "Starred" in html
    assert html.index("Golden Models") < html.index(">Dataset<")


def test_landing_cards_star_and_unstar(login, world):
    from apps.registries.models import Star

    client = login("member")
    html = client.get(landing_url()).content.decode()
    assert 'aria-label="Star Golden Models"' in html and 'aria-pressed="false"' in html
    star = reverse("registries:registry_star", args=[world.org.slug, world.registry.slug])
    response = client.post(star, {"starred": "1", "from": "landing"})
    assert (response.status_code, response["Location"]) == (302, landing_url())
    assert Star.objects.filter(user=world["member"], registry=world.registry).exists()
    html = client.get(landing_url()).content.decode()
    assert 'aria-label="Unstar Golden Models"' in html
    assert html.index("Starred") < html.index("Golden Models") < html.index("Other registries")
    response = client.post(star, {"starred": "0", "from": "landing"}, headers={"HX-Request": "true"})
    assert response.headers["HX-Refresh"] == "true"  # the page re-sorts its sections
    assert not Star.objects.filter(user=world["member"], registry=world.registry).exists()


def test_landing_has_empty_states(login, world):
    html = login("viewer").get(landing_url()).content.decode()
    assert "No collections yet" in html


@pytest.mark.parametrize(
    ("persona", "can_create"),
    [("org_admin", True), ("member", True), ("viewer", False), ("restricted_viewer", False)],
)
def test_create_registry_button_only_for_those_who_may(login, world, persona, can_create):
    html = login(persona).get(landing_url()).content.decode()
    assert ('id="create-registry-dialog"' in html) is can_create


def _grow(world, n):
    """n more custom registries, each with a collection and a linked version; half of them starred."""
    for i in range(n):
        registry = registries.create_registry(actor=world["org_admin"], org=world.org, name=f"Extra {i}")
        if i % 2:
            registries.star_registry(actor=world["org_admin"], registry=registry)
        world.link(version=world.version(name=f"m{i}"), collection=f"c{i}", registry=registry)


@pytest.mark.parametrize("size", [1, 10])
def test_landing_query_count_is_constant(client, world, django_assert_num_queries, size):
    _grow(world, size)
    client.force_login(world["org_admin"])
    client.get(landing_url())  # warm caches (content types)
    # session, user, org, registries (visible_to, both counts and the star as subqueries),
    # can_create (user perms, group perms), preference, recent collections, shell orgs.
    with django_assert_num_queries(8):
        response = client.get(landing_url())
    assert response.status_code == 200


# --- create registry ---------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), statuses(302, org_viewers=403))
def test_create_registry_permissions(login, world, persona, status):
    before = Registry.objects.count()
    response = login(persona).post(create_url(), VALID)
    assert_status(response, persona, status)
    assert Registry.objects.count() == before + (1 if status == 302 and persona != "anonymous" else 0)


@pytest.mark.parametrize(("persona", "status"), statuses(200, org_viewers=403))
def test_create_registry_page_permissions(login, world, persona, status):
    assert_status(login(persona).get(create_url()), persona, status)


def test_create_registry_writes_registry_and_audit_event_and_redirects_htmx(login, world):
    response = login("member").post(
        create_url(),
        {**VALID, "types_mode": "specific", "artifact_types": "model, onnx"},
        headers={"HX-Request": "true"},
    )
    registry = Registry.objects.get(org=world.org, name="Fine-tuned Models")
    assert response.status_code == 200
    assert response["HX-Redirect"] == registry.get_absolute_url()
    assert registry.artifact_types == ["model", "onnx"] and not registry.allow_all_types
    assert registry.owner == world["member"]
    assert AuditEvent.objects.filter(
        action=Action.REGISTRY_CREATE, registry_pk=registry.pk, actor=world["member"]
    ).exists()


def test_create_registry_without_htmx_redirects_to_the_registry(login, world):
    response = login("member").post(create_url(), VALID)
    assert response.status_code == 302
    assert response["Location"] == Registry.objects.get(name="Fine-tuned Models").get_absolute_url()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**VALID, "name": ""}, "This field is required"),
        ({**VALID, "name": "   "}, "required"),
        ({**VALID, "name": "a/b"}, "cannot contain these characters"),
        ({**VALID, "name": "Golden Models"}, "already exists"),
        ({**VALID, "name": "golden models"}, "already exists"),
        ({**VALID, "name": "wandb-registry-x"}, "without the"),
        ({**VALID, "name": "x" * 114}, "113 characters or less"),
        ({**VALID, "types_mode": "specific", "artifact_types": ""}, "Name at least one type"),
        ({**VALID, "types_mode": "specific", "artifact_types": "wandb-run"}, "reserved"),
        ({**VALID, "visibility": "public"}, "Select a valid choice"),
    ],
)
def test_create_registry_invalid_input_shows_error_and_writes_nothing(login, world, data, message):
    registries_before, events_before = Registry.objects.count(), AuditEvent.objects.count()
    response = login("member").post(create_url(), data, headers={"HX-Request": "true"})
    assert_fragment(response, "create-registry-form")
    assert message in response.content.decode()
    assert Registry.objects.count() == registries_before
    assert AuditEvent.objects.count() == events_before


def test_create_registry_in_someone_elses_org_is_404(login, world):
    response = login("member").post(create_url("globex"), VALID)
    assert response.status_code == 404
    assert not Registry.objects.filter(name=VALID["name"]).exists()


def test_create_registry_invalid_without_htmx_rerenders_page(login, world):
    response = login("member").post(create_url(), {**VALID, "name": "a:b"})
    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert "cannot contain" in response.content.decode()


def test_registry_named_like_a_page_gets_another_slug(world):
    registry = registries.create_registry(actor=world["org_admin"], org=world.org, name="Search")
    assert registry.slug == "search-2"
