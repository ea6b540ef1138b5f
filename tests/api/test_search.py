"""W&B's filter language compiled to SQL, keyset pagination, and query counts."""

import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.collections import api as collections_api
from apps.collections import services
from apps.collections.api import COLLECTION_FIELDS, LINK_ROW, VERSION_FIELDS, search_links, version_page
from apps.collections.models import Link
from apps.registries.api import REGISTRY_FIELDS
from apps.registries.models import Registry
from lib.filters import SEARCH_STATEMENT_TIMEOUT_MS, TOO_SLOW, apply_filter, bounded_regexp, can_be_slow


def versions(client, **params):
    params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    response = client.get("versions", params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def catalog(world):
    """Three versions in classifier (v0..v2) with metadata, tags and aliases; one in detector."""
    from apps.collections import services

    admin = world["org_admin"]
    links = []
    for i, acc in enumerate([0.5, 0.8, 0.95]):
        version = world.version(content=f"w{i}".encode(), metadata={"accuracy": acc, "arch": f"resnet{i}", "gt": i})
        links.append(world.link(version, aliases=["production"] if acc > 0.9 else None))
    services.add_version_tag(actor=admin, link=links[1], tag="reviewed")
    services.add_collection_tag(actor=admin, collection=links[0].collection, tag="vision")
    world.link(world.version(name="det", content=b"d"), collection="detector")
    return links


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"metadata.accuracy": {"$gt": 0.7}}, ["v1", "v2"]),
        ({"metadata.accuracy": {"$gte": 0.8, "$lt": 0.9}}, ["v1"]),
        ({"metadata.arch": {"$regex": "^resnet[02]$"}}, ["v0", "v2"]),
        ({"metadata.arch": {"$in": ["resnet1"]}}, ["v1"]),
        ({"metadata.gt": 2}, ["v2"]),  # a key named like a lookup stays a key
        ({"metadata.accuracy": {"$exists": True}}, ["v0", "v1", "v2"]),
        ({"metadata.missing": {"$exists": False}}, ["v0", "v1", "v2"]),
        ({"alias": "production"}, ["v2"]),
        ({"alias": {"$ne": "production"}}, ["v0", "v1"]),
        ({"alias": {"$in": ["latest", "production"]}}, ["v2"]),
        ({"tag": "reviewed"}, ["v1"]),
        ({"tag": {"$exists": False}}, ["v0", "v2"]),
        ({"version": "v1"}, ["v1"]),
        ({"version": {"$gte": 1}}, ["v1", "v2"]),
        ({"$or": [{"version": 0}, {"alias": "production"}]}, ["v0", "v2"]),
        ({"$nor": [{"version": 0}, {"alias": "production"}]}, ["v1"]),
        ({"$and": [{"version": {"$gt": 0}}, {"$not": {"alias": "production"}}]}, ["v1"]),
        ({"version": {"$not": {"$eq": 1}}}, ["v0", "v2"]),
        ({"created_at": {"$gt": "2000-01-01"}}, ["v0", "v1", "v2"]),
        ({"created_at": {"$lt": "2000-01-01 00:00:00"}}, []),
    ],
)
def test_version_filters(api, catalog, spec, expected):
    body = versions(api("viewer"), filter=spec, collection_filter={"name": "classifier"})
    assert sorted(v["version"] for v in body["items"]) == expected


def test_collection_and_registry_filters(api, catalog):
    client = api("viewer")
    names = lambda r: sorted(c["name"] for c in r.json()["items"])  # noqa: E731
    assert names(client.get("collections", {"filter": json.dumps({"tag": "vision"})})) == ["classifier"]
    assert names(client.get("collections", {"filter": json.dumps({"name": {"$contains": "tect"}})})) == ["detector"]
    golden = json.dumps({"name": "wandb-registry-Golden Models"})  # the prefix is accepted
    assert names(client.get("collections", {"registry_filter": golden})) == ["classifier", "detector"]
    nothing = json.dumps({"name": "Model"})
    assert names(client.get("collections", {"registry_filter": nothing})) == []
    # As in W&B, $regex on a registry name sees the full name with its prefix.
    for pattern in ["^wandb-registry-Gold", "Golden"]:
        registries = client.get("registries", {"filter": json.dumps({"name": {"$regex": pattern}})}).json()["items"]
        assert [r["name"] for r in registries] == ["Golden Models"]
    assert client.get("registries", {"filter": json.dumps({"name": {"$regex": "^Gold"}})}).json()["items"] == []
    by_name_desc = client.get("registries", {"order": "-name"}).json()["items"]
    assert [r["name"] for r in by_name_desc] == ["Model", "Golden Models", "Dataset"]


@pytest.mark.parametrize(
    ("param", "spec", "message"),
    [
        ("filter", {"name": {"$where": "1"}}, "$where"),
        ("filter", {"$expr": {}}, "$expr"),
        ("filter", {"colour": "red"}, "colour"),
        ("filter", {"metadata.a__b": 1}, "metadata"),
        ("filter", {"version": "latest"}, "version"),
        ("filter", {"created_at": {"$gt": "yesterday"}}, "created_at"),
        ("filter", {"metadata.x": {"$regex": "("}}, "regular expression"),
        ("filter", {"name": {"$regex": "^(a+)+$"}}, "nested repetition"),
        ("filter", {"$or": []}, "$or"),
        ("filter", {"alias": {"$gt": "a"}}, "$gt"),
        ("registry_filter", {"owner": "x"}, "owner"),
        ("collection_filter", {"name": {"$size": 1}}, "$size"),
    ],
)
def test_bad_filters_are_400_naming_the_problem(api, catalog, param, spec, message):
    response = api("viewer").get("versions", {param: json.dumps(spec)})
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_not_json_and_bad_cursor_are_400(api, catalog):
    client = api("viewer")
    assert client.get("versions", {"filter": "{nope"}).status_code == 400
    assert client.get("versions", {"cursor": "garbage!"}).status_code == 400
    assert client.get("versions", {"per_page": 101}).status_code == 400
    assert client.get("registries", {"order": "size"}).status_code == 400


def test_compile_builds_sql_not_python(world):
    """The whole filter is one WHERE clause (EXISTS subqueries for tags and aliases)."""
    links = apply_filter(
        Link.objects.all(), {"alias": "production", "metadata.accuracy": {"$gt": 0.9}}, VERSION_FIELDS, "version"
    )
    sql = str(links.query)
    assert "EXISTS" in sql and "accuracy" in sql
    with pytest.raises(ValidationError):
        apply_filter(Registry.objects.all(), {"tag": "x"}, REGISTRY_FIELDS, "registry")
    assert "tag" in COLLECTION_FIELDS


def test_cursor_walks_every_version_once(api, world):
    from apps.collections import services

    versions_ = [world.version(content=f"v{i}".encode()) for i in range(3)]
    for name in ["c0", "c1", "c2"]:
        for version in versions_:
            services.link_version(
                actor=world["org_admin"], version=version, registry=world.registry, collection_name=name
            )
    seen, cursor = [], None
    while True:
        body = versions(api("viewer"), per_page=2, **({"cursor": cursor} if cursor else {}))
        seen += [(v["name"], v["version"]) for v in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [(c, f"v{i}") for c in ["c2", "c1", "c0"] for i in (2, 1, 0)]


def test_collection_cursor_with_order(api, world):
    version = world.version()
    from apps.collections import services

    for name in ["b", "a", "d", "c", "e"]:
        services.link_version(actor=world["org_admin"], version=version, registry=world.registry, collection_name=name)
    names, cursor = [], None
    for _ in range(5):
        params = {"per_page": 2, "order": "-name", **({"cursor": cursor} if cursor else {})}
        body = api("viewer").get("collections", params).json()
        names += [c["name"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert names == ["e", "d", "c", "b", "a"]


@pytest.mark.parametrize("count", [1, 10])
def test_version_list_query_count_is_constant(api, world, django_assert_max_num_queries, count):
    version = world.version()
    for i in range(count):
        services.link_version(
            actor=world["org_admin"], version=version, registry=world.registry, collection_name=f"c{i}"
        )
    client = api("viewer")
    client.get("viewer")  # the key's last_used_at is written once a minute; keep it out of the count
    # key lookup, links page (visibility as subqueries), then the page's versions, collections and labels (three
    # statements, one round trip on PostgreSQL: sql.page_details): no filter, so no time limit (on PostgreSQL its
    # SET LOCAL in a savepoint would add three).
    with django_assert_max_num_queries(5):
        assert len(versions(client)["items"]) == count


@pytest.mark.parametrize(
    ("filters", "slow"),
    [
        ((None, "", None), False),
        (('{"name": "big"}', None), False),
        (('{"$or": [{"name": "a"}, {"tag": {"$in": ["x", "y"]}}]}', '{"metadata.step": {"$gt": 3}}'), False),
        (('{"name": {"$regex": "^gold"}}',), True),
        ((None, '{"$and": [{"tag": "x"}, {"$or": [{"description": {"$regex": "a"}}]}]}'), True),
        (('{"name": {"\\u0024regex": "^gold"}}',), True),  # the same key, escaped in JSON
        (("{" + ", ".join(f'"metadata.k{i}": {i}' for i in range(20)) + "}",), True),  # long: many clauses
        (("{not json",), True),
    ],
)
def test_only_a_search_that_can_be_slow_gets_a_time_limit(filters, slow):
    assert can_be_slow(*filters) is slow


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement timeout")
def test_on_postgresql_a_regex_search_runs_under_a_statement_timeout_and_a_plain_one_does_not(api, world):
    world.link()
    client = api("viewer")
    client.get("viewer")
    with CaptureQueriesContext(connection) as plain:
        assert client.get("versions", {"collection_filter": json.dumps({"name": "classifier"})}).status_code == 200
    with CaptureQueriesContext(connection) as regex:
        params = {"collection_filter": json.dumps({"name": {"$regex": "^class"}})}
        assert len(client.get("versions", params).json()["items"]) == 1
    assert not any("statement_timeout" in q["sql"] for q in plain.captured_queries)
    assert any(
        q["sql"] == f"SET LOCAL statement_timeout = {SEARCH_STATEMENT_TIMEOUT_MS}" for q in regex.captured_queries
    )


def test_version_list_items_match_the_version_objects_of_resolve(api, catalog):
    """The search page builds its items from plain rows; they must equal what resolve answers."""
    client = api("viewer")
    items = versions(client, collection_filter={"name": "classifier"})["items"]
    assert [item["version"] for item in items] == ["v2", "v1", "v0"]
    assert items[0]["aliases"] == ["latest", "production"] and items[1]["tags"] == ["reviewed"]
    for item in items:
        resolved = client.get("artifacts/resolve", {"path": item["path"]}).json()
        resolved.pop("files")
        assert item == resolved


@pytest.mark.parametrize("pattern", ["^(a|a)+$", "^(?:a|a)*$", "^((a+))+$"])
def test_catastrophic_regex_is_cut_off_not_run_for_minutes(api, world, pattern):
    """Python's backtracking engine evaluates REGEXP on SQLite: each call has a hard time limit (and
    PostgreSQL a statement timeout), so one request can never stall the server."""
    link = world.link()
    services.update_collection_description(
        actor=world["org_admin"], collection=link.collection, description="a" * 40 + "!"
    )
    started = time.monotonic()
    response = api("viewer").get("collections", {"filter": json.dumps({"description": {"$regex": pattern}})})
    assert time.monotonic() - started < 10
    if response.status_code == 400:
        assert TOO_SLOW in response.json()["detail"]
    else:  # PostgreSQL's regex engine does not backtrack on these: a plain empty answer
        assert response.status_code == 200 and response.json()["items"] == []


def test_bounded_regexp_times_out_and_keeps_sql_null_semantics():
    assert bounded_regexp("^gold", "golden") is True
    assert bounded_regexp("^gold", 7) is False
    assert bounded_regexp(None, "x") is None and bounded_regexp("x", None) is None
    with pytest.raises(TimeoutError):
        bounded_regexp("^(a|a)+$", "a" * 40 + "!")


def test_a_version_page_reads_the_collection_index_in_its_order(world):
    """Issue 13: links are narrowed by one IN on their (collection, index) index, not joined to their collections:
    joined, SQLite sorted every link of the matching collections for each page of a walk."""
    world.link()
    links = search_links(world["viewer"], None, None, json.dumps({"name": "classifier"}), None).values(*LINK_ROW)
    sql, params = links.order_by("-collection_id", "-index")[:101].query.sql_with_params()
    assert "JOIN" not in sql.split(" WHERE ")[0]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "TEMP B-TREE" not in plan, plan
    rows, _ = version_page(links, cursor=None, per_page=100)
    assert [row["index"] for row in rows] == [0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_on_postgresql_pages_are_planned_for_their_cursor_not_prepared(world):
    """A prepared statement switches to a generic plan after five runs; for a page after a cursor that plan read
    every link of a large collection and sorted them. Page queries are never prepared; others still are."""
    for _ in range(12):
        world.link(world.version(content=f"{_}".encode()))
    links = search_links(world["viewer"], None, None, json.dumps({"name": "classifier"}), None).values(*LINK_ROW)
    seen, cursor = [], None
    for _ in range(12):  # twelve pages of one: the same page statement, with a cursor, eleven times
        rows, cursor = version_page(links, cursor=cursor, per_page=1)
        seen += [row["index"] for row in rows]
    assert seen == list(range(11, -1, -1))
    with connection.cursor() as cursor_:
        cursor_.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor_.fetchall()]
    page_statement = 'SELECT "collections_link"."id" AS "pk", "collections_link"."collection_id"'
    assert prepared and not [statement for statement in prepared if statement.startswith(page_statement)]
    assert connection.connection.prepare_threshold == 5


def test_a_collection_filter_naming_many_collections_stays_a_subquery(api, world, monkeypatch):
    """Up to NAMED_COLLECTIONS matching collections go to the version search as ids; more stay a subquery.
    Both answer the same versions."""
    for name in ("classifier", "detector", "segmenter"):
        world.link(world.version(name=f"m-{name}", content=name.encode()), collection=name)
    spec = json.dumps({"name": {"$in": ["classifier", "segmenter"]}})
    named = collections_api.search_links(world["viewer"], None, None, spec, None)
    monkeypatch.setattr(collections_api, "NAMED_COLLECTIONS", 1)
    many = collections_api.search_links(world["viewer"], None, None, spec, None)
    assert "collections_collection" not in str(named.order_by().query)
    assert "collections_collection" in str(many.order_by().query)
    assert sorted(named.values_list("collection__name", flat=True)) == ["classifier", "segmenter"]
    assert sorted(many.values_list("collection__name", flat=True)) == ["classifier", "segmenter"]
    page = versions(api("viewer"), collection_filter={"name": {"$in": ["classifier", "segmenter"]}})
    assert [item["name"] for item in page["items"]] == ["segmenter", "classifier"]
