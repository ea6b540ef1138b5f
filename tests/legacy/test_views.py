"""Legacy Model Registry pages: permission matrices, query counts, deep links, writes through the pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.legacy import services
from apps.legacy.models import ModelAlias, RegisteredModel
from tests.conftest import ALL, assert_fragment, assert_status


def matrix(ok=200, *, admins=None, members=None):
    """The legacy registry is the team's: members of team `vision` (member, team_member) and org admins see it."""
    table = {"org_admin": admins or ok, "member": members or ok, "team_member": members or ok, "anonymous": 302}
    return [(persona, table.get(persona, 404)) for persona in ALL]


def _link(world, name="resnet", content=b"w", aliases=None):
    return services.link_model_version(
        actor=world["member"], version=world.version(content=content), team=world.team, model_name=name, aliases=aliases
    )


@pytest.fixture
def link(world):
    return _link(world, aliases=["staging"])


@pytest.mark.parametrize(("persona", "status"), matrix())
def test_model_list_permissions(login, world, link, persona, status):
    response = login(persona).get(reverse("legacy:model_list", args=["vision"]))
    assert_status(response, persona, status)
    if status == 200:
        assert "resnet" in response.content.decode()


@pytest.mark.parametrize(("persona", "status"), matrix())
def test_model_page_permissions(login, world, link, persona, status):
    response = login(persona).get(reverse("legacy:model_detail", args=["vision", "resnet"]))
    assert_status(response, persona, status)
    if status == 200:
        assert "staging" in response.content.decode()


@pytest.mark.parametrize(("persona", "status"), matrix())
def test_version_page_permissions(login, world, link, persona, status):
    response = login(persona).get(reverse("legacy:version_detail", args=["vision", "resnet", 0]) + "?tab=files")
    assert_status(response, persona, status)
    if status == 200:
        assert "model.bin" in response.content.decode()


@pytest.mark.parametrize(("persona", "status"), matrix(admins=200, members=403))
def test_settings_page_permissions(login, world, persona, status):
    assert_status(login(persona).get(reverse("legacy:registry_settings", args=["vision"])), persona, status)


@pytest.mark.parametrize(("persona", "status"), matrix(302))
def test_alias_post_permissions(login, world, link, persona, status):
    url = reverse("legacy:version_aliases", args=["vision", "resnet", 0])
    assert_status(login(persona).post(url, {"alias": "prod"}), persona, status)
    assert ModelAlias.objects.filter(alias="prod").exists() == (status == 302 and persona != "anonymous")


def test_model_list_searches_and_pages_with_constant_queries(login, world, django_assert_num_queries):
    client = login("member")
    url = reverse("legacy:model_list", args=["vision"])
    _link(world, name="alpha", content=b"1")
    client.get(url)  # warm up (session, content types)
    with django_assert_num_queries(9) as small:
        client.get(url)
    for i in range(12):
        services.create_registered_model(actor=world["member"], team=world.team, name=f"m{i:02}", tags=["cv"])
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url + "?q=m0")
    html = response.content.decode()
    assert "m09" in html and "alpha" not in html
    assert_fragment(client.get(url + "?q=cv", HTTP_HX_REQUEST="true"), "model-list")


def test_model_list_pages_with_keyset_cursor(login, world, monkeypatch):
    monkeypatch.setattr("apps.legacy.views.PAGE_SIZE", 2)
    for name in ["a", "b", "c"]:
        services.create_registered_model(actor=world["member"], team=world.team, name=name)
    client = login("member")
    first = client.get(reverse("legacy:model_list", args=["vision"]))
    assert first.context["page"].has_next and [m.name for m in first.context["models"]] == ["a", "b"]
    second = client.get(reverse("legacy:model_list", args=["vision"]), {"after": first.context["page"].next_cursor})
    assert [m.name for m in second.context["models"]] == ["c"]


def test_model_page_versions_cost_the_same_at_two_sizes(login, world):
    client = login("member")
    _link(world, content=b"0")
    url = reverse("legacy:model_detail", args=["vision", "resnet"])
    client.get(url)  # warm up
    small = len(_queries(client, url))
    for i in range(6):
        _link(world, content=bytes([i + 1]), aliases=[f"a{i}"])
    assert len(_queries(client, url)) == small


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return captured.captured_queries


@pytest.mark.parametrize(
    ("query", "target"),
    [
        (
            "?selectionPath=vision%2Fmodel-registry%2Fresnet&view=membership&version=v0",
            "/vision/registry/model/resnet/v0/",
        ),
        ("?selectionPath=vision%2Fmodel-registry%2Fresnet&view=versions", "/vision/registry/model/resnet/"),
    ],
)
def test_wandb_deep_links(login, world, link, query, target):
    response = login("member").get(reverse("legacy:model_list", args=["vision"]) + query)
    assert response.status_code == 302 and response["Location"] == target
    assert login("member").get(reverse("legacy:model_list", args=["vision"]) + "?view=all-models").status_code == 200


def test_writes_through_the_pages(login, world, link):
    client = login("member")
    model = reverse("legacy:model_detail", args=["vision", "resnet"])
    client.post(model + "tags/", {"tag": "vision"})
    client.post(model + "description/", {"description": "# Card"})
    response = client.post(model + "tags/", {"tag": "bad!"})
    assert response.status_code == 302
    row = RegisteredModel.objects.get(name="resnet")
    assert row.description == "# Card" and list(row.tags.values_list("name", flat=True)) == ["vision"]
    client.post(reverse("legacy:version_unlink", args=["vision", "resnet", 0]))
    assert not row.links.exists()


def test_unknown_model_and_version_are_404(login, world, link):
    client = login("member")
    assert client.get(reverse("legacy:model_detail", args=["vision", "nope"])).status_code == 404
    assert client.get(reverse("legacy:version_detail", args=["vision", "resnet", 9])).status_code == 404
    assert client.get(reverse("legacy:model_list", args=["nosuchteam"])).status_code == 404
