"""Curation (issue 16): lineage in the API and the client — logged_by, used_by, a run's inputs and
outputs — redacted as the Lineage tab is: runs and versions in projects the caller is not in are private."""

from dataclasses import dataclass

import pytest

from apps.artifacts import services as artifacts
from apps.collections import services as collections
from apps.orgs import services as orgs
from registry_client import NotFound, PrivateArtifact
from tests.conftest import ALL

PATH = "acme/wandb-registry-Golden Models/classifier:v0"
TEAM = {"org_admin", "member", "team_member"}  # in team `vision` (org admins see every project)


@dataclass
class Graph:
    trainer: object  # vision/detector: logged model-a
    evaluator: object  # vision/detector: used model-a, nlp's `other` (unlinked) and `shared` (linked)
    outsider_run: object  # nlp/texts: used model-a through the registry


@pytest.fixture
def graph(world) -> Graph:
    admin = world["org_admin"]
    trainer = artifacts.create_run(actor=admin, project=world.project, run_id="trainer", name="train")
    model = world.version(run=trainer)
    link = world.link(model)
    nlp = orgs.create_team(actor=admin, org=world.org, name="nlp")
    texts = artifacts.create_project(actor=admin, team=nlp, name="texts")
    outsider_run = artifacts.create_run(actor=admin, project=texts, run_id="nlp-run")
    other = artifacts.log_artifact(actor=admin, project=texts, name="other", type="model", files={"a": b"1"})
    shared = artifacts.log_artifact(actor=admin, project=texts, name="shared", type="model", files={"b": b"2"})
    world.link(shared, collection="shared")
    evaluator = artifacts.create_run(actor=admin, project=world.project, run_id="evaluator")
    for version in (model, other, shared):
        collections.use_artifact(actor=admin, run=evaluator, version=version)
    collections.use_artifact(actor=admin, run=outsider_run, version=model, link=link)
    return Graph(trainer, evaluator, outsider_run)


def private_run():
    return {"private": True, "run_id": None, "name": None, "state": None, "path": None, "created_at": None}


# --- logged_by / used_by: anyone who sees the version; runs redacted by project ---

LINEAGE = dict.fromkeys(ALL, 200) | {"outsider": 404, "anonymous": 401}


@pytest.mark.parametrize(("persona", "status"), LINEAGE.items())
def test_logged_by_and_used_by_permissions_and_redaction(api, graph, persona, status):
    logged = api(persona).get("artifacts/logged-by", {"path": PATH})
    used = api(persona).get("artifacts/used-by", {"path": PATH})
    assert (logged.status_code, used.status_code) == (status, status)
    if status != 200:
        return
    run, items = logged.json()["run"], used.json()["items"]
    assert len(items) == 2
    if persona in TEAM:
        assert (run["private"], run["run_id"], run["name"], run["path"]) == (
            False,
            "trainer",
            "train",
            "vision/detector/trainer",
        )
    else:  # registry roles without the team: the runs exist, but they are private
        assert run == private_run()
        assert items == [private_run(), private_run()]
    if persona == "org_admin":
        assert [r["run_id"] for r in items] == ["evaluator", "nlp-run"]
    elif persona in TEAM:
        assert items[0]["path"] == "vision/detector/evaluator"
        assert items[1] == private_run()


def test_used_by_pages_follow_the_cursor(api, graph):
    first = api("org_admin").get("artifacts/used-by", {"path": PATH, "per_page": 1}).json()
    second = (
        api("org_admin").get("artifacts/used-by", {"path": PATH, "per_page": 1, "cursor": first["next_cursor"]}).json()
    )
    assert [r["run_id"] for r in first["items"] + second["items"]] == ["evaluator", "nlp-run"]
    assert second["next_cursor"] is None


def test_a_version_no_run_logged_has_no_logged_by(api, world):
    world.link()
    assert api("viewer").get("artifacts/logged-by", {"path": PATH}).json() == {"run": None}
    assert api("viewer").get("artifacts/used-by", {"path": PATH}).json()["items"] == []


# --- A run, its inputs and outputs: only for those in its project ---

RUNS = {p: (200 if p in TEAM else 404) for p in ALL} | {"anonymous": 401}


@pytest.mark.parametrize(("persona", "status"), RUNS.items())
def test_run_detail_inputs_and_outputs_permissions_and_redaction(api, graph, persona, status):
    inputs = api(persona).get("runs/vision/detector/evaluator/inputs")
    detail = api(persona).get("runs/vision/detector/trainer")
    outputs = api(persona).get("runs/vision/detector/trainer/outputs")
    assert (inputs.status_code, detail.status_code, outputs.status_code) == (status, status, status)
    if status != 200:
        return
    assert detail.json()["state"] == "finished" and detail.json()["config"] == {}
    assert [item["version"]["path"] for item in outputs.json()["items"]] == ["vision/detector/model-a:v0"]
    items = inputs.json()["items"]
    paths = [item["version"]["path"] if item["version"] else None for item in items]
    if persona == "org_admin":  # sees every project: all three at their source
        assert paths == ["vision/detector/model-a:v0", "nlp/texts/other:v0", "nlp/texts/shared:v0"]
    else:  # `other` is private; `shared` is reached through the registry they see
        assert paths == ["vision/detector/model-a:v0", None, "acme/wandb-registry-Golden Models/shared:v0"]
        assert items[1] == {"private": True, "version": None}
        assert items[2]["version"]["aliases"] == ["latest"]


def test_lineage_list_query_counts_stay_flat(api, world, graph, django_assert_max_num_queries):
    client = api("member")
    client.get("runs/vision/detector/evaluator/inputs")  # warm the key and permission caches
    with django_assert_max_num_queries(14) as few:
        client.get("runs/vision/detector/evaluator/inputs")
    admin = world["org_admin"]
    for n in range(5):
        version = world.version(name=f"extra-{n}")
        collections.use_artifact(actor=admin, run=graph.evaluator, version=version)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("runs/vision/detector/evaluator/inputs")
    assert len(response.json()["items"]) == 8


# --- The client ---


def test_client_lineage_for_a_team_member(in_process, graph):
    client = in_process("member")
    version = client.artifact(PATH)
    trainer = version.logged_by()
    assert (trainer.private, trainer.path, trainer.state) == (False, "vision/detector/trainer", "finished")
    users = version.used_by()
    assert [run.private for run in users] == [False, True]
    inputs = users[0].used_artifacts()
    assert inputs[0].path == "vision/detector/model-a:v0"
    assert inputs[1] == PrivateArtifact()
    assert inputs[2].path == "acme/wandb-registry-Golden Models/shared:v0"
    assert [v.path for v in client.run("vision/detector/trainer").logged_artifacts()] == ["vision/detector/model-a:v0"]


def test_client_lineage_for_a_registry_viewer(in_process, graph):
    client = in_process("restricted_viewer")
    assert client.logged_by(PATH).private
    assert [run.private for run in client.used_by(PATH)] == [True, True]
    with pytest.raises(NotFound):
        client.run("vision/detector/trainer")
    with pytest.raises(NotFound):
        in_process("outsider").logged_by(PATH)
