"""Registered models and model versions through MLflow's own client, end to end."""

import mlflow
import pytest
from django.test import Client as DjangoClient
from mlflow.exceptions import MlflowException

from apps.artifacts.models import ArtifactVersion
from apps.audit.models import Action, AuditEvent
from apps.collections.models import Collection, Link

pytestmark = pytest.mark.django_db(transaction=True)


def error_code(excinfo) -> str:
    return excinfo.value.error_code


def test_register_alias_tag_rename_delete(world, mlflow_as, registry_uri, mlflow_env):
    client = mlflow_as("member")
    version = mlflow.register_model("s3://bucket/fraud/1", "fraud")
    assert (version.name, version.version, version.status, version.current_stage) == ("fraud", "1", "READY", "None")
    assert version.source == "s3://bucket/fraud/1"
    link = Link.objects.select_related("version", "collection").get(collection__name="fraud")
    assert (link.index, link.version.reference_uri, link.version.size) == (0, "s3://bucket/fraud/1", 0)
    assert not link.version.entries.exists()  # a reference: no bytes copied
    # register_model again: the model exists (tolerated), a second version is made.
    assert mlflow.register_model("s3://bucket/fraud/2", "fraud").version == "2"
    with pytest.raises(MlflowException) as excinfo:
        client.create_registered_model("fraud")
    assert error_code(excinfo) == "RESOURCE_ALREADY_EXISTS"

    model = client.create_registered_model("churn", tags={"team": "risk"}, description="Who leaves")
    assert (model.name, model.description, model.tags) == ("churn", "Who leaves", {"team": "risk"})
    created = client.create_model_version(
        "churn", "runs:/abc123/model", run_id="abc123", tags={"data": "2024-q1"}, description="first cut"
    )
    assert (created.version, created.run_id, created.tags, created.description) == (
        "1",
        "abc123",
        {"data": "2024-q1"},
        "first cut",
    )
    client.create_model_version("churn", "s3://bucket/churn/2")
    assert client.get_model_version_download_uri("churn", "1") == "runs:/abc123/model"

    # Aliases: `latest` is Registry's own and moves with each new version.
    client.set_registered_model_alias("churn", "champion", "1")
    assert client.get_model_version_by_alias("churn", "champion").version == "1"
    assert client.get_registered_model("churn").aliases == {"champion": "1", "latest": "2"}
    assert client.get_model_version("churn", "1").aliases == ["champion"]
    client.set_registered_model_alias("churn", "champion", "2")  # moves
    assert client.get_model_version_by_alias("churn", "champion").version == "2"
    client.delete_registered_model_alias("churn", "champion")
    with pytest.raises(MlflowException) as excinfo:
        client.get_model_version_by_alias("churn", "champion")
    assert error_code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    for reserved in ("latest", "v3"):
        with pytest.raises(MlflowException) as excinfo:
            client.set_registered_model_alias("churn", reserved, "1")
        assert error_code(excinfo) == "INVALID_PARAMETER_VALUE"

    # Tags with values, on models and versions.
    client.set_registered_model_tag("churn", "mlflow.owner", "risk team")
    client.delete_registered_model_tag("churn", "team")
    assert client.get_registered_model("churn").tags == {"mlflow.owner": "risk team"}
    client.set_model_version_tag("churn", "1", "validated", "yes")
    client.delete_model_version_tag("churn", "1", "data")
    assert client.get_model_version("churn", "1").tags == {"validated": "yes"}

    client.update_registered_model("churn", description="Customers who leave")
    client.update_model_version("churn", "1", description="baseline")
    assert client.get_registered_model("churn").description == "Customers who leave"
    assert client.get_model_version("churn", "1").description == "baseline"

    # Without stages: the latest of stage "None" is the newest version; other stages hold none.
    assert [v.version for v in client.get_latest_versions("churn")] == ["2"]
    assert [v.version for v in client.get_latest_versions("churn", stages=["None"])] == ["2"]
    assert client.get_latest_versions("churn", stages=["Production"]) == []
    with pytest.raises(MlflowException) as excinfo:
        client.transition_model_version_stage("churn", "1", "Production")
    assert error_code(excinfo) == "INVALID_PARAMETER_VALUE"
    assert "alias" in excinfo.value.message

    client.rename_registered_model("churn", "churn-v2")
    assert client.get_registered_model("churn-v2").description == "Customers who leave"
    with pytest.raises(MlflowException) as excinfo:
        client.get_registered_model("churn")
    assert error_code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as excinfo:
        client.rename_registered_model("churn-v2", "fraud")
    assert error_code(excinfo) == "RESOURCE_ALREADY_EXISTS"

    client.delete_model_version("churn-v2", "2")
    with pytest.raises(MlflowException) as excinfo:
        client.get_model_version("churn-v2", "2")
    assert error_code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    # Numbers are never reused: the next version is 3, and `latest` went back to 1 meanwhile.
    assert client.get_registered_model("churn-v2").aliases == {"latest": "1"}
    assert client.create_model_version("churn-v2", "s3://bucket/churn/3").version == "3"
    client.set_model_version_tag("churn-v2", "3", "framework", "sklearn")
    client.set_registered_model_tag("churn-v2", "team", "risk")
    # The UI shows what MLflow wrote: the reference's source URI, and tags with their values.
    browser = DjangoClient()
    browser.force_login(world["member"])
    page = browser.get("/orgs/acme/registry/golden-models/churn-v2/v2/").content.decode()
    assert "s3://bucket/churn/3" in page and "outside Registry" in page
    assert "framework: sklearn" in page
    assert "team: risk" in browser.get("/orgs/acme/registry/golden-models/churn-v2/").content.decode()
    client.delete_registered_model("churn-v2")
    assert not Collection.objects.filter(name__istartswith="churn").exists()
    # Source versions stay, as when a collection is deleted in the UI.
    assert ArtifactVersion.objects.filter(reference_uri="s3://bucket/churn/3").exists()

    # Every write went through the services: audit events marked as made through MLflow.
    events = AuditEvent.objects.filter(actor_username="member", actor_detail="mlflow:api-key:member mlflow")
    actions = set(events.values_list("action", flat=True))
    assert {
        Action.COLLECTION_CREATE,
        Action.COLLECTION_LINK,
        Action.ALIAS_ADD,
        Action.ALIAS_REMOVE,
        Action.COLLECTION_ADD_TAG,
        Action.VERSION_ADD_TAG,
        Action.COLLECTION_RENAME,
        Action.COLLECTION_UNLINK,
        Action.COLLECTION_DELETE,
    } <= actions
