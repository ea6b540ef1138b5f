"""Version descriptions, protected aliases and source projects through the API."""

import pytest

from apps.artifacts.models import ArtifactVersion
from apps.audit.models import Action, AuditEvent

REG = "acme/wandb-registry-Golden Models"
V0 = f"{REG}/classifier:v0"
PROTECTED = "registries/acme/Golden Models/protected-aliases"


# --- version descriptions ---


def test_version_description_is_set_on_the_source_and_audited_with_the_key(api, world):
    link = world.link()
    response = api("member").patch("versions", {"description": "Trained on **v2** data"}, {"path": V0})
    assert response.status_code == 200, response.content
    assert response.json()["description"] == "Trained on **v2** data"
    assert ArtifactVersion.objects.get(pk=link.version_id).description == "Trained on **v2** data"
    event = AuditEvent.objects.get(action=Action.VERSION_UPDATE)
    assert event.actor_username == "member" and event.actor_detail == "api-key:tests"
    assert event.data["description"] == {"from": "", "to": "Trained on **v2** data"}


@pytest.mark.parametrize(
    ("params", "body", "status"),
    [
        ({"path": V0}, {"description": "x" * 100_001}, 400),
        ({"path": "vision/detector/model-a:v0"}, {"description": "x"}, 400),  # a source path
        ({"path": f"{REG}/classifier:v9"}, {"description": "x"}, 404),
        ({"path": "globex/wandb-registry-Models/classifier:v0"}, {"description": "x"}, 404),
        ({"path": V0}, {}, 400),
    ],
)
def test_bad_version_description_writes_nothing(api, world, params, body, status):
    link, client = world.link(), api("member")  # making the key is audited too
    before = AuditEvent.objects.count()
    response = client.patch("versions", body, params)
    assert response.status_code == status, response.content
    assert "detail" in response.json()
    assert ArtifactVersion.objects.get(pk=link.version_id).description == ""
    assert AuditEvent.objects.count() == before


# --- protected aliases ---


def test_protected_aliases_are_listed_added_and_removed_by_admins(api, world):
    link = world.link()
    admin, member = api("registry_admin"), api("member")
    assert admin.get(PROTECTED).json() == ["production"]
    response = admin.post(PROTECTED, {"alias": "staging"})
    assert response.status_code == 201 and response.json() == ["production", "staging"]
    assert member.post("aliases", {"path": V0, "alias": "staging"}).status_code == 403
    assert admin.post(PROTECTED, {"alias": "staging"}).status_code == 400  # already protected
    response = admin.delete(PROTECTED, {"alias": "staging"})
    assert response.status_code == 200 and response.json() == ["production"]
    assert member.post("aliases", {"path": V0, "alias": "staging"}).status_code == 200
    assert set(link.aliases.values_list("alias", flat=True)) == {"latest", "staging"}
    actions = list(AuditEvent.objects.filter(registry_pk=world.registry.pk).values_list("action", flat=True))
    assert Action.PROTECTED_ALIAS_CREATE in actions and Action.PROTECTED_ALIAS_DELETE in actions


@pytest.mark.parametrize("alias", ["", "latest", "v3", "a/b", "x" * 200])
def test_bad_protected_alias_is_refused(api, world, alias):
    response = api("registry_admin").post(PROTECTED, {"alias": alias})
    assert response.status_code == 400, response.content
    assert api("registry_admin").get(PROTECTED).json() == ["production"]


def test_removing_an_alias_that_is_not_protected_is_a_400(api, world):
    response = api("registry_admin").delete(PROTECTED, {"alias": "candidate"})
    assert response.status_code == 400 and "not a protected alias" in response.json()["detail"]


# --- source projects ---


def test_projects_lists_the_callers_projects(api, world):
    from apps.artifacts.services import create_project
    from apps.orgs import services as orgs

    other_team = orgs.create_team(actor=world["org_admin"], org=world.org, name="nlp")
    create_project(actor=world["org_admin"], team=other_team, name="summarizer")
    paths = lambda persona, **params: [p["path"] for p in api(persona).get("projects", params).json()["items"]]  # noqa: E731
    assert paths("org_admin") == ["vision/detector", "nlp/summarizer"]  # by name
    assert paths("member") == ["vision/detector"]
    assert paths("viewer") == [] and paths("outsider") == []
    assert paths("org_admin", team="nlp") == ["nlp/summarizer"]


def test_project_versions_newest_first_with_latest_and_a_cursor(api, world):
    for i in range(3):
        world.version(content=f"w{i}".encode())
    world.version(name="tokenizer", type="dataset", content=b"t")
    client = api("member")
    seen, cursor = [], None
    while True:
        params = {"per_page": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("projects/vision/detector/versions", params).json()
        seen += [(v["path"], v["aliases"]) for v in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [
        ("vision/detector/tokenizer:v0", ["latest"]),
        ("vision/detector/model-a:v2", ["latest"]),
        ("vision/detector/model-a:v1", []),
        ("vision/detector/model-a:v0", []),
    ]
    only = client.get("projects/vision/detector/versions", {"name": "tokenizer"}).json()["items"]
    assert [v["type"] for v in only] == ["dataset"]
    assert client.get("projects/vision/nope/versions").status_code == 404


@pytest.mark.parametrize("count", [1, 10])
def test_project_lists_query_count_is_constant(api, world, django_assert_num_queries, count):
    for i in range(count):
        world.version(content=f"w{i}".encode())
    client = api("member")
    client.get("viewer")  # the key's last_used_at is written once a minute; keep it out of the count
    with django_assert_num_queries(2):  # key, projects page
        assert len(client.get("projects").json()["items"]) == 1
    # key, project, versions page, tags
    with django_assert_num_queries(4):
        assert len(client.get("projects/vision/detector/versions").json()["items"]) == count
