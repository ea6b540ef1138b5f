"""MLflow's search grammar, ordering and page tokens, compiled by the shared filter compiler and pager."""

import mlflow
import pytest
from django.db import transaction
from mlflow.exceptions import MlflowException

from apps.collections import services

pytestmark = pytest.mark.django_db(transaction=True)


def names(models) -> list[str]:
    return [m.name for m in models]


def test_search_registered_and_versions(world, mlflow_as):
    client = mlflow_as("member")
    for name, tags in [
        ("fraud-detector", {"team": "risk"}),
        ("fraud-scorer", {"team": "risk"}),
        ("Churn", {"team": "growth"}),
        ("prompt-template", {}),
        ("untagged", {}),
    ]:
        client.create_registered_model(name, tags=tags)
    # MLflow's client refuses to tag a model as a prompt itself; a prompt registry would.
    prompt = world.registry.collections.get(name="prompt-template")
    services.set_collection_tag(actor=world["member"], collection=prompt, key="mlflow.prompt.is_prompt", value="true")
    scorer = world.registry.collections.get(name="fraud-scorer")
    services.set_collection_tag(actor=world["member"], collection=scorer, key="mlflow.prompt.is_prompt", value="false")
    for i in range(3):
        client.create_model_version("fraud-detector", f"s3://b/fd/{i}", run_id=f"run-{i}", tags={"i": str(i)})
    client.create_model_version("Churn", "s3://b/churn/0", run_id="run-0", tags={"i": "0"})

    # The client adds `tag.mlflow.prompt.is_prompt != 'true'` to every filter: a missing tag matches `!=`.
    assert names(client.search_registered_models()) == ["Churn", "fraud-detector", "fraud-scorer", "untagged"]
    assert names(client.search_registered_models("name LIKE 'fraud%'")) == ["fraud-detector", "fraud-scorer"]
    assert names(client.search_registered_models("name ILIKE 'CHURN'")) == ["Churn"]
    assert names(client.search_registered_models("name LIKE 'churn'")) == []
    assert names(client.search_registered_models("tags.team = 'risk' AND name != 'fraud-scorer'")) == ["fraud-detector"]
    assert names(client.search_registered_models("tags.`team` LIKE 'gr%'")) == ["Churn"]
    assert names(client.search_registered_models(order_by=["name DESC"])) == [
        "untagged",
        "fraud-scorer",
        "fraud-detector",
        "Churn",
    ]
    # Page tokens: two at a time, following next_page_token.
    seen, token = [], None
    while True:
        page = client.search_registered_models(max_results=2, order_by=["creation_timestamp ASC"], page_token=token)
        seen += names(page)
        token = page.token
        if not token:
            break
    assert seen == ["fraud-detector", "fraud-scorer", "Churn", "untagged"]

    def versions(filter_string, **kwargs):
        return [(v.name, v.version) for v in client.search_model_versions(filter_string, **kwargs)]

    assert versions("name = 'fraud-detector'") == [
        ("fraud-detector", "3"),
        ("fraud-detector", "2"),
        ("fraud-detector", "1"),
    ]
    assert versions("name='fraud-detector' and version_number >= 2", order_by=["version_number ASC"]) == [
        ("fraud-detector", "2"),
        ("fraud-detector", "3"),
    ]
    # Ties fall back to creation order, in the direction of the first clause.
    assert versions("run_id IN ('run-0', 'run-2')", order_by=["name ASC"]) == [
        ("Churn", "1"),
        ("fraud-detector", "1"),
        ("fraud-detector", "3"),
    ]
    assert versions("tags.i = '1'") == [("fraud-detector", "2")]
    assert versions("tags.i != '1' AND name NOT IN ('Churn')") == [("fraud-detector", "3"), ("fraud-detector", "1")]
    assert versions("source_path LIKE 's3://b/churn/%'") == [("Churn", "1")]
    page = client.search_model_versions("name = 'fraud-detector'", max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_model_versions("name = 'fraud-detector'", max_results=2, page_token=page.token)
    assert [v.version for v in rest] == ["1"] and not rest.token

    by_name = client.search_model_versions("", max_results=1, order_by=["name ASC"]).token
    with pytest.raises(MlflowException) as excinfo:  # a token from another order
        client.search_model_versions("", max_results=1, order_by=["version_number ASC"], page_token=by_name)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    for bad in ["name = 'a' OR name = 'b'", "name = ", "color = 'red'", "version_number > 'x'", "name LIKE 3"]:
        with pytest.raises(MlflowException) as excinfo:
            client.search_model_versions(bad)
        assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE", bad
    with pytest.raises(MlflowException) as excinfo:
        client.search_registered_models(order_by=["color ASC"])
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as excinfo:
        client.search_registered_models(page_token="not-ours")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_fluent_search_follows_page_tokens(world, mlflow_as):
    mlflow_as("member").create_registered_model("bulk")
    collection = world.registry.collections.get(name="bulk")
    with transaction.atomic():  # one commit: the versions are made through the service, just not one by one
        for i in range(105):  # more than one page of the shared pager (100)
            services.register_reference(
                actor=world["member"], registry=world.registry, collection_name=collection.name, uri=f"s3://b/{i}"
            )
    found = mlflow.search_model_versions(filter_string="name = 'bulk'")
    assert sorted(int(v.version) for v in found) == list(range(1, 106))
    assert len(mlflow.search_registered_models(filter_string="name = 'bulk'")) == 1
