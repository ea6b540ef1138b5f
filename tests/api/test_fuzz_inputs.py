"""Every input field of every API operation, sent bad values: never a 5xx, and a refusal writes nothing.

The operations and their fields come from the OpenAPI schema (/api/v1/openapi.json); the table
`baselines()` holds one valid request per operation (a new operation without one fails the test).
Each case changes one field of a valid request to a string with NUL, a surrogate, a bidi control or
20,000 characters, an integer past 2^63, a value of the wrong JSON type, or the whole body to `[]`,
`null`, `NaN` or `1e400`. Each request runs in a savepoint that is rolled back, so every case starts
from the same rows; the rows of every table are counted after each refused write.

Expectations: no answer is a 5xx; NUL, surrogates, out-of-range integers and wrong types are 4xx
(bidi controls too, in any name a write takes); a refused write left every table's row count unchanged.
On PostgreSQL a statement that failed inside the request would abort the test's transaction, so the
next request's queries would fail: errors swallowed on the way to a 4xx show up too.
"""

import copy
import json
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import Client

from apps.artifacts import services as artifacts
from apps.artifacts.storage import get_store
from apps.automations import services as automations
from apps.collections import services as collections
from apps.orgs import services as orgs
from apps.orgs.services import create_api_key
from tests.api.conftest import sha
from tests.api.rows import row_counts

VERSION = "acme/wandb-registry-Golden Models/classifier:v0"
COLLECTION = "acme/wandb-registry-Golden Models/classifier"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FREE_TEXT = {"description"}  # fields where bidi controls are ordinary text (Arabic, Hebrew)

MUST = "must be refused"
ANY = "may be accepted"


@dataclass
class Call:
    """One API request: the operation's path template, its path and query parameters, and a body."""

    method: str
    path: str
    params: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    body: object = None  # JSON-able, or bytes sent as they are (None: no body)
    content_type: str = "application/json"

    def url(self) -> str:
        path = self.path
        for name, value in self.params.items():
            path = path.replace("{" + name + "}", _quote(value))
        query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in self.query.items())
        return path + ("?" + query if query else "")

    def send(self, client: Client):
        if self.body is None:
            data = b""
        elif isinstance(self.body, bytes):
            data = self.body
        else:
            data = json.dumps(self.body).encode()
        return client.generic(self.method, self.url(), data, content_type=self.content_type)


def _quote(value) -> str:
    return quote(str(value).encode("utf-8", "surrogatepass"), safe="")


def baselines(world, link, run) -> dict[tuple[str, str], list[Call]]:
    """A valid request (or two) for every operation, each answering 2xx/3xx as org_admin."""
    admin = world["org_admin"]
    webhook = automations.create_webhook(actor=admin, org=world.org, name="fuzz-hook", url="http://127.0.0.1:9/h")
    automation = automations.create_automation(
        actor=admin, registry=world.registry, name="fuzz", event_type="LINK_ARTIFACT", webhook=webhook
    )
    store = get_store()
    weights = sha(b"weights")
    upload = store.upload_target(sha(b"data"), 4)["url"].rsplit("/", 1)[-1]
    download = store.download_url(weights, "model.bin").rsplit("/", 1)[-1]
    registry = {"org": "acme", "name": "Golden Models"}
    gone = world.version(name="gone", content=b"gone")
    artifacts.delete_version(actor=world["org_admin"], version=gone)
    bot = orgs.create_service_account(actor=world["org_admin"], org=world.org, name="fuzz-bot")
    bot_key, _ = create_api_key(actor=world["org_admin"], user=bot.user, name="k")
    account = {"org": "acme", "name": "fuzz-bot"}
    calls = [
        Call("GET", "/api/v1/orgs/{org}/service-accounts", {"org": "acme"}),
        Call(
            "POST",
            "/api/v1/orgs/{org}/service-accounts",
            {"org": "acme"},
            body={"name": "other-bot", "team": "vision", "description": "CI"},
        ),
        Call("GET", "/api/v1/orgs/{org}/service-accounts/{name}", account),
        Call("DELETE", "/api/v1/orgs/{org}/service-accounts/{name}", account),
        Call("GET", "/api/v1/orgs/{org}/service-accounts/{name}/keys", account),
        Call("POST", "/api/v1/orgs/{org}/service-accounts/{name}/keys", account, body={"name": "k2"}),
        Call("DELETE", "/api/v1/orgs/{org}/service-accounts/{name}/keys/{key_id}", {**account, "key_id": bot_key.pk}),
        Call("GET", "/api/v1/orgs/{org}/members", {"org": "acme"}, {"cursor": "", "per_page": 10}),
        Call(
            "POST", "/api/v1/orgs/{org}/members", {"org": "acme"}, body={"user": "fuzz@example.com", "role": "viewer"}
        ),
        Call(
            "PATCH",
            "/api/v1/orgs/{org}/members/{username}",
            {"org": "acme", "username": "viewer"},
            body={"role": "member"},
        ),
        Call("DELETE", "/api/v1/orgs/{org}/members/{username}", {"org": "acme", "username": "viewer"}),
        Call("GET", "/api/v1/orgs/{org}/teams", {"org": "acme"}),
        Call("POST", "/api/v1/orgs/{org}/teams", {"org": "acme"}, body={"name": "fuzz-team"}),
        Call("GET", "/api/v1/orgs/{org}/teams/{name}", {"org": "acme", "name": "vision"}),
        Call(
            "PUT",
            "/api/v1/orgs/{org}/teams/{name}/members",
            {"org": "acme", "name": "vision"},
            body={"user": "viewer", "role": "admin"},
        ),
        Call(
            "DELETE", "/api/v1/orgs/{org}/teams/{name}/members", {"org": "acme", "name": "vision"}, {"user": "member"}
        ),
        Call("GET", "/api/v1/viewer"),
        Call("GET", "/api/v1/projects", query={"team": "vision", "cursor": "", "per_page": 10}),
        Call(
            "GET",
            "/api/v1/projects/{team}/{project}/versions",
            {"team": "vision", "project": "detector"},
            {"name": "model-a", "cursor": "", "per_page": 10},
        ),
        Call(
            "POST",
            "/api/v1/runs",
            body={"project": "vision/detector", "run_id": "fuzz-run", "name": "fuzz", "config": {"lr": 0.1}},
        ),
        Call(
            "POST",
            "/api/v1/artifacts",
            body={
                "project": "vision/detector",
                "name": "fuzzed",
                "type": "model",
                "files": [{"path": "dir/a.bin", "sha256": sha(b"x"), "size": 1}],
                "metadata": {"accuracy": 0.9, "nested": {"k": [1, "v"]}},
                "description": "A description.",
                "run_id": run.run_id,
            },
        ),
        Call("POST", "/api/v1/artifacts/{version_id}/commit", {"version_id": link.version_id}),
        Call(
            "PUT",
            "/api/v1/blobs/upload/{token}",
            {"token": upload},
            body=b"data",
            content_type="application/octet-stream",
        ),
        Call("GET", "/api/v1/blobs/download/{token}", {"token": download}),
        Call("HEAD", "/api/v1/blobs/download/{token}", {"token": download}),
        Call(
            "GET",
            "/api/v1/registries",
            query={
                "org": "acme",
                "filter": '{"name": "Golden Models"}',
                "order": "-name",
                "cursor": "",
                "per_page": 10,
            },
        ),
        Call(
            "POST",
            "/api/v1/registries",
            body={
                "org": "acme",
                "name": "Fuzzed",
                "description": "d",
                "visibility": "restricted",
                "artifact_types": ["model"],
            },
        ),
        Call("GET", "/api/v1/registries/{org}/{name}", registry),
        Call(
            "PATCH",
            "/api/v1/registries/{org}/{name}",
            registry,
            body={
                "name": "Golden Models 2",
                "description": "d",
                "visibility": "restricted",
                "artifact_types": ["dataset"],
                "owner": "registry_admin",
            },
        ),
        Call("DELETE", "/api/v1/registries/{org}/{name}", registry),
        Call("GET", "/api/v1/registries/{org}/{name}/members", registry),
        Call(
            "PUT", "/api/v1/registries/{org}/{name}/members", registry, body={"user": "team_member", "role": "viewer"}
        ),
        Call("PUT", "/api/v1/registries/{org}/{name}/members", registry, body={"team": "vision", "role": "viewer"}),
        Call("DELETE", "/api/v1/registries/{org}/{name}/members", registry, {"user": "viewer"}),
        Call("DELETE", "/api/v1/registries/{org}/{name}/members", registry, {"team": "vision"}),
        Call("GET", "/api/v1/registries/{org}/{name}/protected-aliases", registry),
        Call("POST", "/api/v1/registries/{org}/{name}/protected-aliases", registry, body={"alias": "staging"}),
        Call("DELETE", "/api/v1/registries/{org}/{name}/protected-aliases", registry, {"alias": "production"}),
        Call("PUT", "/api/v1/registries/{org}/{name}/star", registry),
        Call("DELETE", "/api/v1/registries/{org}/{name}/star", registry),
        Call(
            "GET",
            "/api/v1/collections",
            query={
                "registry_filter": '{"name": "Golden Models"}',
                "filter": '{"name": {"$regex": "^class"}}',
                "order": "name",
                "cursor": "",
                "per_page": 10,
                "org": "acme",
            },
        ),
        Call(
            "POST",
            "/api/v1/collections",
            body={
                "registry": "acme/Golden Models",
                "name": "fuzzed",
                "type": "model",
                "description": "d",
                "tags": ["t"],
            },
        ),
        Call("PATCH", "/api/v1/collections", query={"path": COLLECTION}, body={"name": "renamed", "description": "d"}),
        Call("DELETE", "/api/v1/collections", query={"path": COLLECTION}),
        Call(
            "GET",
            "/api/v1/versions",
            query={
                "registry_filter": '{"name": "Golden Models"}',
                "collection_filter": '{"name": "classifier"}',
                "filter": '{"version": 0, "metadata.accuracy": {"$lt": 1}}',
                "cursor": "",
                "per_page": 10,
                "org": "acme",
            },
        ),
        Call("PATCH", "/api/v1/versions", query={"path": VERSION}, body={"description": "d", "metadata": {"a": 1}}),
        Call(
            "PATCH",
            "/api/v1/versions",
            query={"path": "vision/detector/model-a:v0"},
            body={"metadata": {"a": 1}, "ttl_seconds": 3600},
        ),
        Call("DELETE", "/api/v1/versions", query={"path": "vision/detector/model-a:v0"}),
        Call("POST", "/api/v1/artifacts/{version_id}/restore", {"version_id": gone.pk}),
        Call("GET", "/api/v1/artifacts/logged-by", query={"path": VERSION}),
        Call("GET", "/api/v1/artifacts/used-by", query={"path": VERSION, "cursor": "", "per_page": 10}),
        Call(
            "GET",
            "/api/v1/runs/{team}/{project}/{run_id}",
            {"team": "vision", "project": "detector", "run_id": run.run_id},
        ),
        Call(
            "GET",
            "/api/v1/runs/{team}/{project}/{run_id}/inputs",
            {"team": "vision", "project": "detector", "run_id": run.run_id},
            {"cursor": "", "per_page": 10},
        ),
        Call(
            "GET",
            "/api/v1/runs/{team}/{project}/{run_id}/outputs",
            {"team": "vision", "project": "detector", "run_id": run.run_id},
            {"cursor": "", "per_page": 10},
        ),
        Call(
            "POST",
            "/api/v1/links",
            body={"source": "vision/detector/model-a:v0", "target_path": f"{COLLECTION}-2", "aliases": ["a1"]},
        ),
        Call("POST", "/api/v1/links", body={"version_id": link.version_id, "target_path": f"{COLLECTION}-2"}),
        Call("DELETE", "/api/v1/links", query={"path": VERSION}),
        Call("POST", "/api/v1/aliases", body={"path": VERSION, "alias": "fuzz"}),
        Call("DELETE", "/api/v1/aliases", query={"path": VERSION, "alias": "candidate"}),
        Call("POST", "/api/v1/tags", body={"path": VERSION, "tag": "fuzz"}),
        Call("POST", "/api/v1/tags", body={"path": COLLECTION, "tag": "fuzz"}),
        Call("DELETE", "/api/v1/tags", query={"path": VERSION, "tag": "reviewed"}),
        Call("GET", "/api/v1/artifacts/resolve", query={"path": VERSION}),
        Call("GET", "/api/v1/artifacts/file", query={"path": VERSION, "name": "model.bin"}),
        Call(
            "POST",
            "/api/v1/runs/{team}/{project}/{run_id}/use",
            {"team": "vision", "project": "detector", "run_id": run.run_id},
            body={"path": VERSION},
        ),
        Call("GET", "/api/v1/automations", query={"org": "acme", "scope": "collection", "cursor": "", "per_page": 10}),
        Call(
            "POST",
            "/api/v1/automations",
            body={
                "scope": "collection",
                "collection": COLLECTION,
                "event_type": "ADD_ARTIFACT_ALIAS",
                "action": "fuzz-hook",
                "name": "fuzzed",
                "description": "d",
                "alias_regex": "^prod",
                "payload_template": '{"v": "${artifact_version_string}"}',
                "rate_limit_per_minute": 5,
                "cooldown_seconds": 10,
                "enabled": True,
            },
        ),
        Call(
            "POST",
            "/api/v1/automations",
            body={
                "scope": "organization",
                "org": "acme",
                "event_type": "LINK_ARTIFACT",
                "action": "fuzz-hook",
                "name": "o",
            },
        ),
        Call("DELETE", "/api/v1/automations/{automation_id}", {"automation_id": automation.pk}),
        Call(
            "PUT",
            "/api/v1/collections/notify",
            query={"path": COLLECTION},
            body={"enabled": True, "action": "fuzz-hook"},
        ),
    ]
    table: dict[tuple[str, str], list[Call]] = {}
    for call in calls:
        table.setdefault((call.method, call.path), []).append(call)
    return table


# --- What each kind of field is sent ------------------------------------------------------------

BIG = 2**63


def string_values(write: bool, name: str) -> list[tuple[str, object, str]]:
    bidi = MUST if write and name not in FREE_TEXT else ANY
    return [
        ("NUL", "a\x00b", MUST),
        ("surrogate", "\ud800", MUST),
        ("bidi", "a\u202eb", bidi),
        ("20,000 characters", "x" * 20_000, ANY),
    ]


WRONG_TYPES_FOR_TEXT = [("number", 5, MUST), ("list", ["a"], MUST), ("object", {"a": 1}, MUST)]
INTEGERS = [
    ("2^63", BIG, MUST),
    ("2^70", 2**70, MUST),
    ("-2^70", -(2**70), MUST),
    ("text", "5", MUST),
    ("true", True, MUST),
    ("fraction", 5.5, MUST),
]
BOOLEANS = [("text", "true", MUST), ("number", 1, MUST), ("list", [True], MUST)]
URL_INTEGERS = [("2^63", BIG, MUST), ("2^70", 2**70, MUST), ("-2^70", -(2**70), MUST), ("text", "x", MUST)]
OBJECTS = [
    ("NUL key", {"a\x00": 1}, MUST),
    ("NUL value", {"a": [{"b": "\x00"}]}, MUST),
    ("surrogate key", {"\ud800": 1}, MUST),
    ("2^70 value", {"a": 2**70}, MUST),
    ("list", [1], MUST),
    ("text", "x", MUST),
]
BODIES = [("[]", b"[]"), ("null", b"null"), ("text", b'"x"'), ("NaN", b'{"x": NaN}'), ("1e400", b'{"x": 1e400}')]


def _type(spec: dict, components: dict) -> dict:
    """The schema of a field, `$ref` resolved and `anyOf [X, null]` reduced to X."""
    if "$ref" in spec:
        return _type(components[spec["$ref"].rsplit("/", 1)[-1]], components)
    if "anyOf" in spec:
        return _type(next(s for s in spec["anyOf"] if s.get("type") != "null"), components)
    return spec


def body_cases(schema: dict, components: dict, write: bool, prefix: str = ""):
    """(field, label, mutate(body), expectation) for every property of a body schema, nested objects too."""
    for name, spec in _type(schema, components).get("properties", {}).items():
        spec = _type(spec, components)
        where = f"{prefix}{name}"
        kind = spec.get("type")
        if kind == "string":
            values = string_values(write, name) + WRONG_TYPES_FOR_TEXT
        elif kind == "integer":
            values = INTEGERS
        elif kind == "object":
            values = OBJECTS
        elif kind == "boolean":
            values = BOOLEANS
        elif kind == "array":
            items = _type(spec["items"], components)
            values = [("text", "a", MUST), ("object", {"a": 1}, MUST)]
            if items.get("type") == "string":
                values += [(f"[{label}]", [value], exp) for label, value, exp in string_values(write, name)[:3]]
                values += [("[2^70]", [2**70], MUST), ("[null]", [None], MUST)]
            else:  # a list of objects: each field of its first item, and items of the wrong type
                values += [("[5]", [5], MUST), ("[[]]", [[]], MUST)]
                for inner, label, mutate, exp in body_cases(items, components, write, f"{where}[0]."):
                    yield inner, label, _in_first_item(name, mutate), exp
        else:
            raise AssertionError(f"No fuzz values for {where}: {spec}")
        for label, value, exp in values:
            yield where, label, _setter(name, value), exp


def _setter(name, value):
    def mutate(body):
        body[name] = copy.deepcopy(value)

    return mutate


def _in_first_item(name, mutate_item):
    def mutate(body):
        mutate_item(body[name][0])

    return mutate


def cases(schema: dict, table: dict):
    """(operation, field, label, Call, expectation) for every input field of every operation; a field
    two baselines of one operation share is sent each value once."""
    seen = set()
    for key, name, label, call, expectation in _all_cases(schema, table):
        if (key, name, label) not in seen:
            seen.add((key, name, label))
            yield key, name, label, call, expectation


def _all_cases(schema: dict, table: dict):
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            key = (method.upper(), path)
            assert key in table, f"No valid request for {key} in baselines(): add one"
            write = key[0] in WRITE_METHODS
            for base in table[key]:
                for param in operation.get("parameters", []):
                    kind = _type(param["schema"], components).get("type")
                    values = URL_INTEGERS if kind == "integer" else string_values(write, param["name"])
                    for label, value, exp in values:
                        if label == "surrogate":
                            exp = ANY  # a URL carries UTF-8 bytes: Django reads an encoded surrogate as U+FFFD
                        call = copy.deepcopy(base)
                        getattr(call, "params" if param["in"] == "path" else "query")[param["name"]] = value
                        yield key, param["name"], label, call, exp
                body = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if body is None:
                    continue
                for where, label, mutate, exp in body_cases(body["schema"], components, write):
                    call = copy.deepcopy(base)
                    mutate(call.body)
                    yield key, where, label, call, exp
                for label, raw in BODIES:
                    call = copy.deepcopy(base)
                    call.body = raw
                    yield key, "body", label, call, MUST


@pytest.fixture
def admin_client(world):
    _, raw = create_api_key(actor=world["org_admin"], user=world["org_admin"], name="fuzz")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_no_input_field_answers_5xx_or_writes_when_refused(world, admin_client, settings):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True  # the baselines' webhook points at a loopback address
    admin = world["org_admin"]
    link = world.link(aliases=["candidate"])
    collections.add_version_tag(actor=admin, link=link, tag="reviewed")
    run = artifacts.create_run(actor=admin, project=world.project, run_id="run1")
    schema = admin_client.get("/api/v1/openapi.json").json()
    table = baselines(world, link, run)
    before = row_counts()

    def attempt(call: Call):
        with transaction.atomic():
            response = call.send(admin_client)
            # A refused write must leave every table as it was (reads write nothing: not counted, for time).
            refused_write = call.method in WRITE_METHODS and response.status_code >= 400
            after = row_counts() if refused_write else before
            transaction.set_rollback(True)
        return response, after

    for key, calls in table.items():
        for call in calls:
            response, _ = attempt(call)
            assert response.status_code < 400, (key, response.status_code, response.content[:300])

    problems, sent = [], 0
    for key, name, label, call, expectation in cases(schema, table):
        response, after = attempt(call)
        sent += 1
        status = response.status_code
        where = f"{key[0]} {key[1]} {name} = {label}: {status} {response.content[:160]!r}"
        if status >= 500:
            problems.append(f"5xx: {where}")
        elif expectation is MUST and not 400 <= status < 500:
            problems.append(f"accepted: {where}")
        elif status >= 400 and after != before:
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
            problems.append(f"refused but wrote {changed}: {where}")
    assert not problems, f"{len(problems)} of {sent} cases:\n" + "\n".join(problems)
    assert sent > 500  # every field of every operation was reached
