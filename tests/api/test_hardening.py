"""Issue 12, items 4–8: every bad input is a clear 4xx with nothing written, on SQLite and PostgreSQL.

NUL bytes and other control characters, integers past 64 bits, regexes only Python understands,
look-alike names, loosely typed JSON, and anonymous writes.
"""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client

from apps.artifacts.models import ArtifactVersion, validate_artifact_name, validate_artifact_type, validate_tag
from apps.collections import services as collections
from apps.orgs import services as orgs
from apps.registries import services as registries
from apps.registries.models import Registry, validate_registry_name
from apps.registries.services import validate_alias
from tests.api.conftest import sha
from tests.api.rows import row_counts

PROJECT = "vision/detector"
REGISTRY = "acme/wandb-registry-Golden Models"


def artifact(name="weights", type="model", **extra) -> dict:
    data = b"bytes"
    return {
        "project": PROJECT,
        "name": name,
        "type": type,
        "files": [{"path": "model.bin", "sha256": sha(data), "size": len(data)}],
        **extra,
    }


@pytest.fixture
def linked(world):
    """v0 of `acme/wandb-registry-Golden Models/classifier`, with alias `candidate`."""
    return world.link(aliases=["candidate"])


def refused(response, *words: str) -> None:
    """A 400 whose detail a person can read (and that names `words`)."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    detail = response.json()["detail"]
    for word in words:
        assert word.lower() in detail.lower(), detail


# --- Item 4: NUL bytes and control characters -------------------------------------------------

NUL = "bad\x00name"


def _nul_requests(linked):
    path = f"{REGISTRY}/classifier:v0"
    return {
        "artifact name": ("post", "artifacts", artifact(name=NUL)),
        "artifact type": ("post", "artifacts", artifact(type=NUL)),
        "metadata key": ("post", "artifacts", artifact(metadata={NUL: 1})),
        "metadata value": ("post", "artifacts", artifact(metadata={"nested": [{"k": NUL}]})),
        "description": ("post", "artifacts", artifact(description=NUL)),
        "run project": ("post", "runs", {"project": f"vision/{NUL}"}),
        "alias": ("post", "aliases", {"path": path, "alias": NUL}),
        "collection": ("post", "collections", {"registry": "acme/Golden Models", "name": NUL, "type": "model"}),
        "registry": ("post", "registries", {"org": "acme", "name": NUL}),
        "link target": ("post", "links", {"version_id": linked.version_id, "target_path": f"{REGISTRY}/{NUL}"}),
        "filter": ("get", "collections", {"filter": json.dumps({"name": NUL})}),
        "resolve path": ("get", "artifacts/resolve", {"path": f"{REGISTRY}/{NUL}:v0"}),
        "path parameter": ("get", "registries/acme/Golden%00Models", None),
    }


@pytest.mark.parametrize(
    "case",
    [
        "artifact name",
        "artifact type",
        "metadata key",
        "metadata value",
        "description",
        "run project",
        "alias",
        "collection",
        "registry",
        "link target",
        "filter",
        "resolve path",
        "path parameter",
    ],
)
def test_nul_bytes_in_api_inputs_are_400_and_nothing_is_written(api, linked, case):
    method, url, data = _nul_requests(linked)[case]
    client = api("org_admin")
    before = row_counts()
    response = client.post(url, data) if method == "post" else client.get(url, data)
    refused(response)
    assert "NUL" in response.json()["detail"] or "control character" in response.json()["detail"]
    assert row_counts() == before


def test_nul_in_the_html_search_is_400(world):
    client = Client()
    client.force_login(world["member"])
    response = client.get("/orgs/acme/registry/search/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert b"NUL" in response.content


@pytest.mark.parametrize(
    "validate",
    [validate_artifact_name, validate_artifact_type, validate_registry_name, validate_alias, validate_tag],
)
@pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "a\tb", "a\x7fb", "a\u202eb", "a\u200bb", "a\u2066b", "\ud800"])
def test_every_name_validator_refuses_control_characters(validate, bad):
    with pytest.raises(ValidationError, match="control|invisible|surrogate"):
        validate(bad)


def test_services_refuse_nul_in_text_whatever_the_client(world, linked):
    admin = world["org_admin"]
    with pytest.raises(ValidationError, match="NUL"):
        collections.update_version_description(actor=admin, link=linked, description="ok\x00")
    with pytest.raises(ValidationError, match="NUL"):
        registries.update_registry_description(actor=admin, registry=world.registry, description="\x00")
    with pytest.raises(ValidationError, match="control"):
        orgs.create_team(actor=admin, org=world.org, name="te\x00am")
    linked.version.refresh_from_db()
    assert "\x00" not in linked.version.description


# --- Item 5: integers past 64 bits -------------------------------------------------------------

BIG = 2**63


@pytest.mark.parametrize(
    "files",
    [
        [{"path": "a", "sha256": "a" * 64, "size": BIG}],
        [{"path": "a", "sha256": "a" * 64, "size": BIG - 1}, {"path": "b", "sha256": "b" * 64, "size": BIG - 1}],
        [{"path": "a", "sha256": "a" * 64, "size": -1}],
    ],
    ids=["size 2^63", "sum overflows", "negative"],
)
def test_manifest_sizes_past_64_bits_are_400(api, world, files):
    client = api("org_admin")
    before = row_counts()
    refused(client.post("artifacts", {**artifact(), "files": files}), "size")
    assert row_counts() == before


def test_huge_ids_are_400_not_500(api, linked):
    client = api("org_admin")
    before = row_counts()
    refused(client.post("links", {"version_id": 2**70, "target_path": f"{REGISTRY}/other"}), "version_id")
    refused(client.get("collections", {"filter": json.dumps({"id": 2**70})}), "id")
    refused(client.get("versions", {"filter": json.dumps({"metadata.x": {"$gt": -(2**70)}})}), "metadata.x")
    assert client.post(f"artifacts/{2**70}/commit").status_code in (400, 404)
    assert row_counts() == before


# --- Item 6: regexes PostgreSQL does not understand ----------------------------------------------


def test_a_regex_the_database_rejects_is_400(api, linked):
    response = api("org_admin").get("collections", {"filter": json.dumps({"name": {"$regex": "(?P<n>cl)assifier"}})})
    if connection.vendor == "postgresql":
        refused(response, "regular expression")
    else:  # SQLite evaluates REGEXP with Python's `regex`, which understands named groups.
        assert response.status_code == 200
        assert [c["name"] for c in response.json()["items"]] == ["classifier"]


# --- Item 7: names that look like other names, loose JSON types --------------------------------


@pytest.mark.parametrize("name", [".", "..", "a\u202egpj.exe", "\u200emodel"])
def test_dot_names_and_bidi_controls_are_refused(api, world, name):
    client = api("org_admin")
    before = row_counts()
    refused(client.post("artifacts", artifact(name=name)), "name")
    refused(client.post("collections", {"registry": "acme/Golden Models", "name": name, "type": "model"}), "name")
    refused(client.post("registries", {"org": "acme", "name": name}), "name")
    assert row_counts() == before


def test_fullwidth_lookalikes_of_existing_names_are_refused(api, world, linked):
    client = api("org_admin")
    before = row_counts()
    # "ｃlassifier" (fullwidth c) beside "classifier"; "ＧＯＬＤＥＮ Models" beside "Golden Models".
    refused(
        client.post("collections", {"registry": "acme/Golden Models", "name": "ｃlassifier", "type": "model"}),
        "classifier",
    )
    refused(client.post("registries", {"org": "acme", "name": "ＧＯＬＤＥＮ Models"}), "Golden Models")
    refused(client.post("artifacts", artifact(name="ｍodel-a")), "model-a")
    refused(client.post("aliases", {"path": f"{REGISTRY}/classifier:v0", "alias": "ｐroduction"}), "production")
    refused(client.post("aliases", {"path": f"{REGISTRY}/classifier:v0", "alias": "CANDIDATE"}), "candidate")
    assert row_counts() == before
    # A different name in another scope is fine.
    created = client.post("collections", {"registry": "acme/Model", "name": "ｃlassifier", "type": "model"})
    assert created.status_code == 201, created.content


def test_lookalike_rename_is_refused(world, linked):
    other = world.link(world.version(name="other", content=b"o"), collection="detector")
    with pytest.raises(ValidationError, match="classifier"):
        collections.rename_collection(actor=world["org_admin"], collection=other.collection, name="Cl\uff41ssifier")


@pytest.mark.parametrize("size", ["5", True, 5.0, None, [5]])
def test_manifest_size_must_be_a_json_integer(api, world, size):
    files = [{"path": "model.bin", "sha256": sha(b"bytes"), "size": size}]
    client = api("org_admin")
    before = row_counts()
    refused(client.post("artifacts", {**artifact(), "files": files}), "size")
    assert row_counts() == before


@pytest.mark.parametrize("body", ["[]", "null", '{"description": 1e400}', '{"description": NaN}', "1", '"x"'])
def test_patch_bodies_that_are_not_objects_are_400(world, body):
    from apps.orgs.services import create_api_key

    _, raw = create_api_key(actor=world["org_admin"], user=world["org_admin"], name="t")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    response = client.patch("/api/v1/registries/acme/Golden Models", body, content_type="application/json")
    refused(response)
    world.registry.refresh_from_db()
    assert world.registry.description == ""


def test_names_and_numbers_in_strict_json(api, world):
    client = api("org_admin")
    refused(client.post("registries", {"org": "acme", "name": 5}), "name")
    refused(client.post("runs", {"project": PROJECT, "config": {"x": 1}, "name": ["a"]}), "name")


# --- Item 8: anonymous writes are 401, like anonymous reads --------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/collections"),
        ("post", "/api/v1/artifacts"),
        ("patch", "/api/v1/registries/acme/Model"),
        ("delete", "/api/v1/links?path=x"),
        ("put", "/api/v1/registries/acme/Model/star"),
    ],
)
def test_anonymous_writes_are_401(world, method, url):
    response = getattr(Client(enforce_csrf_checks=True), method)(url, "{}", content_type="application/json")
    assert response.status_code == 401, response.content
    assert "API key" in response.json()["detail"]


def test_a_logged_in_browser_still_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["member"])
    response = client.post("/api/v1/collections", "{}", content_type="application/json")
    assert response.status_code == 403
    assert not ArtifactVersion.objects.exists()


def test_nul_in_a_form_or_a_json_body_is_refused_before_any_view(world):
    client = Client()
    client.force_login(world["org_admin"])
    form = client.post("/orgs/acme/registry/new/", "name=a%00b", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 400 and b"NUL" in form.content
    body = client.post("/orgs/acme/registry/new/", '{"name": "a\\u0000b"}', content_type="application/json")
    assert body.status_code == 400 and "NUL" in body.json()["detail"]
    # Text that merely looks like an escape is fine: "\\u0000" is a backslash and five characters.
    escaped = client.post(
        "/api/v1/registries", '{"org": "acme", "name": "a\\\\u0000b"}', content_type="application/json"
    )
    assert escaped.status_code != 400 or "NUL" not in escaped.json()["detail"]
    assert not Registry.objects.filter(name__startswith="a").exists()


def test_team_names_refuse_lookalikes_and_bidi_controls(world):
    admin = world["org_admin"]
    with pytest.raises(ValidationError, match="taken"):
        orgs.create_team(actor=admin, org=world.org, name="ｖision")
    with pytest.raises(ValidationError, match="invisible formatting"):
        orgs.create_team(actor=admin, org=world.org, name="vi\u202esion")
