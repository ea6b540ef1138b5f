"""Query budgets of the API's hot calls (issue 13), the same on SQLite and PostgreSQL.

Each budget counts the SQL statements a request sends, as production sends them: the test's own
transaction turns the request's outermost `atomic` (BEGIN/COMMIT in production, which Django does not
log) into one SAVEPOINT/RELEASE pair, which is left out; any nested savepoint is counted.
"""

import contextlib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.collections.models import Link

REGISTRY = "acme/wandb-registry-Golden Models"
SAVEPOINT = re.compile(r'^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT) "?([\w]+)"?')


def statements(captured) -> list[str]:
    """The SQL sent, without the outermost savepoint pair (the request's transaction in production)."""
    sqls = [query["sql"] for query in captured.captured_queries]
    first = next((m.group(2) for sql in sqls if (m := SAVEPOINT.match(sql)) and m.group(1) == "SAVEPOINT"), None)
    return [sql for sql in sqls if not ((m := SAVEPOINT.match(sql)) and m.group(2) == first)]


@contextlib.contextmanager
def at_most(limit: int):
    with CaptureQueriesContext(connection) as captured:
        yield captured
    sent = statements(captured)
    assert len(sent) <= limit, f"{len(sent)} statements (budget {limit}):\n" + "\n".join(s[:200] for s in sent)


@pytest.fixture
def member(api, world):
    """The member's client, warmed up (its key's last use is written once a minute), and one linked
    version: the collection and the source artifact exist, as in steady use."""
    world.link(version=world.version(name="m"), aliases=["candidate"])
    client = api("member")
    assert client.get("viewer").status_code == 200
    return client


def test_authenticated_request_costs_one_query(member):
    # The key with its user (one narrow query; last_used is written at most once a minute);
    # /viewer's own read is the second.
    with at_most(2) as captured:
        assert member.get("viewer").status_code == 200
    assert len(statements(captured)) == 2


def test_create_and_link_in_one_call(member, world):
    # key+user; project with the writer check; sequence counter; version; registry; registry permissions;
    # collection counter; link; `latest`; the three audit events (create, commit, link) in one INSERT: 9.
    body = {
        "project": "vision/detector",
        "name": "m",
        "type": "model",
        "files": [],
        "metadata": {"accuracy": 0.9},
        "commit": True,
        "target_path": f"{REGISTRY}/classifier",
    }
    events = AuditEvent.objects.count()
    with at_most(12):
        response = member.post("artifacts", body)
    assert response.status_code == 201, response.content
    linked = response.json()["linked"]
    assert (linked["version"], linked["aliases"], linked["state"]) == ("v1", ["latest"], "committed")
    assert AuditEvent.objects.count() == events + 3


def test_set_alias(member):
    # key+user; the link with the registry permissions; the collection's and registry's aliases and
    # the version's tags; the alias row; the audit event.
    with at_most(6):
        response = member.post("aliases", {"path": f"{REGISTRY}/classifier:v0", "alias": "staging"})
    assert response.status_code == 200, response.content
    assert response.json()["aliases"] == ["candidate", "latest", "staging"]


def test_move_alias(member, world):
    world.link(version=world.version(name="m"))
    with at_most(6):
        response = member.post("aliases", {"path": f"{REGISTRY}/classifier:v1", "alias": "candidate"})
    assert response.status_code == 200, response.content
    assert response.json()["aliases"] == ["candidate", "latest"]
    assert Link.objects.get(collection__name="classifier", index=0).aliases.count() == 0


def test_resolve_by_alias(member):
    # key+user; the link with the registry permissions; its aliases, tags and files.
    with at_most(3):
        response = member.get("artifacts/resolve", {"path": f"{REGISTRY}/classifier:candidate"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["aliases"], [f["path"] for f in body["files"]]) == (
        "v0",
        ["candidate", "latest"],
        ["model.bin"],
    )
    assert body["files"][0]["md5"] and body["files"][0]["url"]
