"""Every endpoint × every persona: 401 without a key, 404 when invisible, 403 when visible but forbidden."""

import pytest
from django.db import transaction

from apps.collections import services as collections
from tests.conftest import PERSONAS

REG = "acme/wandb-registry-Golden Models"
V0 = f"{REG}/classifier:v0"


@pytest.fixture
def linked(world):
    """v0 of acme/Golden Models/classifier, aliased `candidate`, with one file."""
    return world.link(aliases=["candidate"])


def expect(default, **overrides):
    """Expected status per persona: `default` for everyone in acme, then overrides."""
    table = dict.fromkeys(PERSONAS, default)
    table.update({"outsider": 404, "anonymous": 401})
    table.update(overrides)
    return table


ADMINS_ONLY = {"member": 403, "team_member": 403, "viewer": 403, "restricted_viewer": 403}
NO_READERS = {"viewer": 403, "restricted_viewer": 403}

# (name, method, url, body or query, expected statuses)
CASES = [
    ("viewer", "get", "viewer", None, expect(200, outsider=200)),
    ("registry_list", "get", "registries", None, expect(200, outsider=200)),
    ("registry_detail", "get", "registries/acme/Golden Models", None, expect(200)),
    ("registry_update", "patch", "registries/acme/Golden Models", {"description": "new"}, expect(200, **ADMINS_ONLY)),
    ("registry_delete", "delete", "registries/acme/Golden Models", None, expect(204, **ADMINS_ONLY)),
    ("registry_create", "post", "registries", {"org": "acme", "name": "Scratch"}, expect(201, **NO_READERS)),
    ("member_list", "get", "registries/acme/Golden Models/members", None, expect(200)),
    (
        "member_set",
        "put",
        "registries/acme/Golden Models/members",
        {"user": "viewer", "role": "member"},
        expect(200, **ADMINS_ONLY),
    ),
    ("star", "put", "registries/acme/Golden Models/star", None, expect(204)),
    ("protected_alias_list", "get", "registries/acme/Golden Models/protected-aliases", None, expect(200)),
    (
        "protected_alias_add",
        "post",
        "registries/acme/Golden Models/protected-aliases",
        {"alias": "staging"},
        expect(201, **ADMINS_ONLY),
    ),
    (
        "protected_alias_remove",
        "delete",
        "registries/acme/Golden Models/protected-aliases",
        {"alias": "production"},
        expect(200, **ADMINS_ONLY),
    ),
    ("collection_list", "get", "collections", None, expect(200, outsider=200)),
    (
        "collection_create",
        "post",
        "collections",
        {"registry": "acme/Golden Models", "name": "detector", "type": "model"},
        expect(201, **NO_READERS),
    ),
    (
        "collection_update",
        "patch",
        f"collections?path={REG}/classifier",
        {"description": "x"},
        expect(200, **NO_READERS),
    ),
    ("collection_delete", "delete", f"collections?path={REG}/classifier", None, expect(204, **NO_READERS)),
    ("version_list", "get", "versions", None, expect(200, outsider=200)),
    ("version_update", "patch", f"versions?path={V0}", {"description": "x"}, expect(200, **NO_READERS)),
    # Source projects: the team that owns them (vision: member, team_member) and org admins.
    ("project_list", "get", "projects", None, expect(200, outsider=200)),
    (
        "project_versions",
        "get",
        "projects/vision/detector/versions",
        None,
        expect(200, registry_admin=404, viewer=404, restricted_viewer=404),
    ),
    ("resolve", "get", "artifacts/resolve", {"path": V0}, expect(200)),
    ("file", "get", "artifacts/file", {"path": V0, "name": "model.bin"}, expect(302, restricted_viewer=403)),
    ("alias_add", "post", "aliases", {"path": V0, "alias": "staging"}, expect(200, **NO_READERS)),
    ("alias_remove", "delete", "aliases", {"path": V0, "alias": "candidate"}, expect(200, **NO_READERS)),
    ("tag_add", "post", "tags", {"path": V0, "tag": "good"}, expect(200, **NO_READERS)),
    ("collection_tag_add", "post", "tags", {"path": f"{REG}/classifier", "tag": "good"}, expect(200, **NO_READERS)),
    ("unlink", "delete", "links", {"path": V0}, expect(204, **NO_READERS)),
    # The linked version, into a second collection: registry_admin is not in the team that
    # logged it (may not use its source), the others lack the role. Outsiders can't see it.
    (
        "link",
        "post",
        "links",
        "LINK",
        expect(201, registry_admin=403, **NO_READERS),
    ),
    # Logging needs membership of the team that owns the project (org admins may too).
    (
        "log",
        "post",
        "artifacts",
        {"project": "vision/detector", "name": "m", "type": "model", "files": []},
        expect(201, registry_admin=403, viewer=403, restricted_viewer=403),
    ),
    (
        "run_create",
        "post",
        "runs",
        {"project": "vision/detector"},
        expect(201, registry_admin=403, viewer=403, restricted_viewer=403),
    ),
]


def call(client, method, url, data):
    if method in ("get", "delete") and isinstance(data, dict):
        return client.get(url, data) if method == "get" else client.delete(url, data)
    if method == "get":
        return client.get(url)
    if method == "delete":
        return client.delete(url)
    return getattr(client, method)(url, data)


@pytest.mark.parametrize(("name", "method", "url", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_permission_matrix(api, world, linked, name, method, url, data, expected):
    """Each persona's call runs in a savepoint that is rolled back, so all start from the same world."""
    if data == "LINK":
        data = {"version_id": linked.version_id, "target_path": f"{REG}/other"}
    clients = {persona: api(persona) for persona in expected}
    got = {}
    for persona, client in clients.items():
        with transaction.atomic():
            response = call(client, method, url, data)
            got[persona] = response.status_code
            if response.status_code >= 400:
                assert "detail" in response.json()
            transaction.set_rollback(True)
    assert got == expected


def test_outsider_lists_see_nothing_of_acme(api, linked):
    outsider = api("outsider")
    assert "Golden Models" not in {r["name"] for r in outsider.get("registries").json()["items"]}
    assert outsider.get("versions").json()["items"] == []
    assert all(c["org"] == "globex" for c in outsider.get("collections").json()["items"])


def test_someone_elses_registry_is_404(api, world):
    member = api("member")
    assert member.get("registries/globex/Models").status_code == 404
    response = member.post("collections", {"registry": "globex/Models", "name": "x", "type": "model"})
    assert response.status_code == 404


def test_restricted_viewer_gets_no_download_urls(api, linked):
    body = api("restricted_viewer").get("artifacts/resolve", {"path": V0}).json()
    assert body["files"] and all(f["url"] is None for f in body["files"])
    body = api("viewer").get("artifacts/resolve", {"path": V0}).json()
    assert all(f["url"] for f in body["files"])


def test_restricted_viewer_cannot_download_through_a_registry_path_when_also_linked_elsewhere(api, world, linked):
    """Access is decided by the path the request names (issue 12 #1): the same version linked into an
    Organization-visible registry, where the Restricted Viewer is a Viewer, does not open the restricted path."""
    model = world.org.registries.get(slug="model")
    collections.link_version(actor=world["org_admin"], version=linked.version, registry=model, collection_name="copy")
    rviewer = api("restricted_viewer")
    assert rviewer.get("artifacts/file", {"path": V0, "name": "model.bin"}).status_code == 403
    resolved = rviewer.get("artifacts/resolve", {"path": V0}).json()
    assert resolved["files"] and all(f["url"] is None for f in resolved["files"])
    other = "acme/wandb-registry-Model/copy:v0"
    assert rviewer.get("artifacts/file", {"path": other, "name": "model.bin"}).status_code == 302
    assert all(f["url"] for f in rviewer.get("artifacts/resolve", {"path": other}).json()["files"])


def test_role_in_registry_objects(api, linked):
    roles = {
        persona: api(persona).get("registries/acme/Golden Models").json()["role"]
        for persona in ["org_admin", "registry_admin", "member", "team_member", "viewer", "restricted_viewer"]
    }
    assert roles == {
        "org_admin": "admin",
        "registry_admin": "admin",
        "member": "member",
        "team_member": "member",
        "viewer": "viewer",
        "restricted_viewer": "restricted_viewer",
    }
