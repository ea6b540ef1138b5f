"""Registry search through /graphql without the SDK: bad filters are GraphQL errors (never a 5xx), an
outsider sees no organization, and a page of versions costs the same queries for 1 row as for 6."""

import json

import pytest
from django.db import connection

REGISTRIES = """query R($org: String!, $filters: JSONString, $cursor: String, $perPage: Int, $order: String) {
  organization(name: $org) { orgEntity { projects(filters: $filters, after: $cursor, first: $perPage, order: $order) {
    pageInfo { endCursor hasNextPage } edges { node { name internalId access } } } } } }"""
COLLECTIONS = """query C($org: String!, $registryFilter: JSONString, $collectionFilter: JSONString) {
  organization(name: $org) { orgEntity { artifactCollections(projectFilters: $registryFilter,
    filters: $collectionFilter, collectionTypes: [PORTFOLIO], first: 10) {
    totalCount pageInfo { endCursor hasNextPage } edges { node { name tags { edges { node { name } } } } } } } } }"""
VERSIONS = """query V($org: String!, $registryFilter: JSONString, $collectionFilter: JSONString,
  $artifactFilter: JSONString, $perPage: Int, $order: String) {
  organization(name: $org) { orgEntity { artifactMemberships(projectFilters: $registryFilter,
    collectionFilters: $collectionFilter, filters: $artifactFilter, first: $perPage, order: $order) {
    pageInfo { endCursor hasNextPage }
    edges { node { versionIndex aliases { alias } artifactCollection { name project { name entity { name } } }
      artifact { id versionIndex tags { name } size digest } } } } } } }"""


def error_of(answer) -> str:
    assert answer.get("errors"), answer
    return answer["errors"][0]["message"]


@pytest.mark.parametrize(
    ("query", "variable", "spec", "expected"),
    [
        (REGISTRIES, "filters", "{name", "is not valid JSON"),
        (REGISTRIES, "filters", json.dumps({"colour": "red"}), "Unknown field “colour” in the registry filter"),
        (REGISTRIES, "filters", json.dumps({"name": {"$like": "x"}}), "Unknown operator “$like”"),
        (REGISTRIES, "filters", json.dumps(["name"]), "must be a JSON object"),
        (REGISTRIES, "order", "-colour", "Order by name, created_at or updated_at"),
        (REGISTRIES, "cursor", "not-a-cursor", "not one this server handed out"),
        (COLLECTIONS, "registryFilter", "nope", "is not valid JSON"),
        (COLLECTIONS, "collectionFilter", json.dumps({"tag": {"$gt": "a"}}), "does not apply to “tag”"),
        (COLLECTIONS, "collectionFilter", json.dumps({"$where": "1"}), "Unknown operator “$where”"),
        (VERSIONS, "artifactFilter", "[", "is not valid JSON"),
        (VERSIONS, "artifactFilter", json.dumps({"alias": {"$regex": "(a+)+"}}), "nested repetition"),
        (VERSIONS, "collectionFilter", json.dumps({"owner": "x"}), "Unknown field “owner” in the collection filter"),
        (VERSIONS, "order", "-artifact_size", "does not sort them otherwise"),
    ],
)
def test_bad_search_input_is_a_graphql_error(gql, world, query, variable, spec, expected):
    answer = gql(query, {"org": "acme", variable: spec})
    assert expected in error_of(answer)
    assert answer["data"]["organization"]["orgEntity"] is not None  # the error is on the search field alone


def test_an_outsider_sees_no_organization_and_no_registries(gql, world):
    world.link(collection="classifier", aliases=["production"])
    for query in (REGISTRIES, COLLECTIONS, VERSIONS):
        answer = gql(query, {"org": "acme"}, persona="outsider")
        assert "errors" not in answer and answer["data"]["organization"] is None
    # By display name the organization is found for a member, with its registries in name order.
    answer = gql(REGISTRIES, {"org": "Acme ML", "perPage": 2})
    page = answer["data"]["organization"]["orgEntity"]["projects"]
    assert [e["node"]["name"] for e in page["edges"]] == ["wandb-registry-Dataset", "wandb-registry-Golden Models"]
    assert page["pageInfo"]["hasNextPage"] and page["edges"][1]["node"]["access"] == "RESTRICTED"
    rest = gql(REGISTRIES, {"org": "acme", "perPage": 2, "cursor": page["pageInfo"]["endCursor"]})
    rest = rest["data"]["organization"]["orgEntity"]["projects"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["wandb-registry-Model"]
    assert rest["pageInfo"] == {"endCursor": None, "hasNextPage": False}


def test_a_page_of_versions_costs_the_same_queries_for_one_row_and_for_six(gql, world, django_assert_max_num_queries):
    world.link(collection="classifier", aliases=["production"])
    variables = {"org": "acme", "registryFilter": json.dumps({"name": "Golden Models"})}
    gql(VERSIONS, variables)  # the API key is made and touched once, outside the count

    def count() -> tuple[int, list]:
        with django_assert_max_num_queries(50) as captured:
            answer = gql(VERSIONS, variables)
        assert "errors" not in answer, answer
        return len(captured), answer["data"]["organization"]["orgEntity"]["artifactMemberships"]["edges"]

    one, edges = count()
    assert len(edges) == 1
    for n in range(5):
        world.link(version=world.version(content=f"weights {n}".encode()), collection=f"net-{n % 2}")
    six, edges = count()
    assert len(edges) == 6 and six == one, (one, six, connection.vendor)
    # Newest collection first, newest version first in each.
    seen = [(e["node"]["artifactCollection"]["name"], e["node"]["versionIndex"]) for e in edges]
    assert seen == [("net-1", 1), ("net-1", 0), ("net-0", 2), ("net-0", 1), ("net-0", 0), ("classifier", 0)]
    assert sorted(a["alias"] for a in edges[-1]["node"]["aliases"]) == ["latest", "production"]
