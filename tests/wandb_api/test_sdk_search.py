"""The wandb SDK's registry search (`api.registries()`, `.collections()`, `.versions()`, `api.registry()`)
against the live server, in one SDK process; what it saw is checked against the database."""

from pathlib import Path

import pytest

from apps.collections import services as collections
from apps.collections.models import Collection, Link
from apps.orgs import services as orgs
from apps.registries import services as registries
from apps.registries.models import Visibility
from tests.factories import UserFactory
from tests.wandb_api.runner import run_scenario

pytestmark = pytest.mark.django_db(transaction=True)

SEARCH_SCENARIO = Path(__file__).with_name("search_scenario.py")


@pytest.fixture
def search_world(world):
    """Five collections in Model (0, 2, 4 tagged `vision`; 1 and 3 hold a `production` version), a
    `production` version in Golden Models, and a restricted registry only the org admin sees, with a
    tagged collection and a `production` version that must never show up for anyone else."""
    admin = world["org_admin"]
    model = world.org.registries.get(slug="model")
    for n in range(5):
        for round_ in range(2 if n == 1 else 1):
            version = world.version(name=f"net-{n}", content=f"{n}/{round_}".encode(), metadata={"round": n})
            link = world.link(version=version, registry=model, collection=f"search-{n}")
        if n % 2 == 0:
            collections.add_collection_tag(actor=admin, collection=link.collection, tag="vision")
        else:
            collections.add_alias(actor=admin, link=link, alias="production")
    world.link(collection="classifier", aliases=["production"])
    secret = registries.create_registry(
        actor=admin, org=world.org, name="Secret", visibility=Visibility.RESTRICTED, artifact_types=["model"]
    )
    hidden = world.link(version=world.version(content=b"secret"), registry=secret, collection="hidden")
    collections.add_alias(actor=admin, link=hidden, alias="production")
    collections.add_collection_tag(actor=admin, collection=hidden.collection, tag="vision")
    return world


def rows(links) -> list[list]:
    """What the scenario reports per version: [project, "collection:vN", aliases]."""
    return [
        [link.collection.registry.full_name, f"{link.collection.name}:v{link.index}", sorted(link.alias_names)]
        for link in links
    ]


def production_links(user):
    links = Link.objects.visible_to(user).filter(aliases__alias="production").select_related("collection__registry")
    links = list(links.order_by("-collection_id", "-index"))
    for link in links:
        link.alias_names = [a.alias for a in link.aliases.all()]
    return links


def test_sdk_registry_search(search_world, sdk_server, tmp_path):
    world = search_world
    newcomer = UserFactory(username="newcomer")
    orgs.add_org_member(actor=world["org_admin"], org=world.org, user=newcomer)
    keys = {
        persona: orgs.create_api_key(actor=user, user=user, name="search")[1]
        for persona, user in [("member", world["member"]), ("newcomer", newcomer), ("outsider", world["outsider"])]
    }
    out = run_scenario(sdk_server.url, keys, tmp_path, script=SEARCH_SCENARIO, org_name=world.org.name)
    assert "crash" not in out, out.get("crash")

    # Registries: the member sees Dataset, Golden Models (a role on it) and Model, never Secret.
    assert out["registries"] == out["registries_by_display_name"] == ["Dataset", "Golden Models", "Model"]
    assert out["registry_named"] == ["Model"] and out["registry_regex"] == ["Golden Models"]
    assert out["registries_paged_desc"] == [
        ["Model", "organization"],
        ["Golden Models", "restricted"],
        ["Dataset", "organization"],
    ]

    # Collections by tag, in name order over pages of two, with their total.
    member = world["member"]
    tagged = Collection.objects.visible_to(member).filter(tags__name="vision").order_by("name")
    assert [c[1] for c in out["tagged_collections"]] == [c.name for c in tagged] == ["search-0", "search-2", "search-4"]
    assert out["tagged_collections"][0] == ["wandb-registry-Model", "search-0", ["vision"]]
    assert out["tagged_count"] == 3
    assert out["tagged_versions_in_model"] == [
        ["wandb-registry-Model", "search-4:v0", ["latest"]],
        ["wandb-registry-Model", "search-2:v0", ["latest"]],
        ["wandb-registry-Model", "search-0:v0", ["latest"]],
    ]

    # Versions by alias, one per page: exactly the member's visible `production` links.
    expected = rows(production_links(member))
    assert [r[1] for r in expected] == ["classifier:v0", "search-3:v0", "search-1:v1"]
    assert out["production"] == expected
    assert out["metadata_match"] == [["wandb-registry-Model", "search-4:v0", ["latest"]], expected[1]]

    # One registry by name.
    assert out["model"] == {"name": "Model", "visibility": "organization", "full_name": "wandb-registry-Model"}
    assert out["model_collections"] == ["search-0", "search-1", "search-2", "search-3", "search-4"]
    assert out["model_collections_regex"] == ["search-1", "search-2"]
    assert out["model_production"] == expected[1:]
    assert out["golden_versions"] == [["wandb-registry-Golden Models", "classifier:v0", ["latest", "production"]]]

    # Fewer registries for a newcomer; nothing for an outsider.
    assert out["newcomer_registries"] == ["Dataset", "Model"]
    assert out["newcomer_production"] == rows(production_links(newcomer)) == expected[1:]
    assert "error" in out["newcomer_golden"]
    assert "Organization 'acme' not found" in out["outsider_registries"]["error"]
    assert "Organization 'acme' not found" in out["outsider_versions"]["error"]
    assert out["seconds"] < 60
