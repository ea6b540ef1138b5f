"""Downloads through MLflow, the permission matrix, authentication and bad input."""

import base64
import filecmp

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from apps.audit.models import AuditEvent
from apps.collections.models import Collection, Link
from registry_client import Client

pytestmark = pytest.mark.django_db(transaction=True)


def code_of(call) -> str:
    with pytest.raises(MlflowException) as excinfo:
        call()
    return excinfo.value.error_code


def test_download_a_version_logged_with_our_client(world, mlflow_as, keys, live_server, tmp_path, registry_uri):
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "sub" / "weights.bin").write_bytes(b"\x00\x01" * 5000)
    ours = Client(live_server.url, keys["member"], progress=False)
    version = ours.log_artifact(model, name="resnet", type="model", project="vision/detector")
    ours.link_artifact(version, "acme/wandb-registry-Golden Models/classifier", aliases=["candidate"])
    ours.close()

    client = mlflow_as("viewer")
    uri = client.get_model_version_download_uri("classifier", "1")
    link = Link.objects.get(collection__name="classifier")
    assert uri == f"{registry_uri}/api/2.0/mlflow-artifacts/artifacts/versions/{link.pk}"
    assert client.get_model_version("classifier", "1").source == uri
    out = mlflow.artifacts.download_artifacts("models:/classifier@candidate", dst_path=str(tmp_path / "out"))
    assert out.startswith(str(tmp_path / "out"))
    for name in ("MLmodel", "sub/weights.bin"):
        assert filecmp.cmp(model / name, tmp_path / "out" / name, shallow=False)

    # Restricted Viewers see the version but may not download it; outsiders see nothing.
    restricted = mlflow_as("restricted_viewer")
    assert restricted.get_model_version("classifier", "1").version == "1"
    assert code_of(lambda: restricted.get_model_version_download_uri("classifier", "1")) == "PERMISSION_DENIED"
    files = requests.get(f"{uri}/MLmodel", headers={"Authorization": f"Bearer {keys['restricted_viewer']}"}, timeout=10)
    assert (files.status_code, files.json()["error_code"]) == (403, "PERMISSION_DENIED")
    listing = requests.get(
        f"{registry_uri}/api/2.0/mlflow-artifacts/artifacts",
        params={"path": f"versions/{link.pk}"},
        headers={"Authorization": f"Bearer {keys['outsider']}"},
        timeout=10,
    )
    assert listing.status_code == 404
    # A version created through MLflow answers with its source URI (files live elsewhere).
    mlflow_as("member").create_model_version("classifier", "s3://bucket/classifier/2")
    assert mlflow_as("viewer").get_model_version_download_uri("classifier", "2") == "s3://bucket/classifier/2"
    # A source that points at Registry itself links that version instead of recording a reference.
    member = mlflow_as("member")
    member.create_registered_model("classifier-copy")
    copy = member.create_model_version("classifier-copy", uri)
    copied = Link.objects.get(collection__name="classifier-copy")
    assert copied.version_id == link.version_id and copy.source.endswith(f"/versions/{copied.pk}")
    # So do `models:/` URIs of this registry; a reference version is referenced again (no Registry pointer).
    assert member.create_model_version("classifier-copy", "models:/classifier@candidate").version == "1"
    again = member.create_model_version("classifier-copy", "models:/classifier/2")
    assert (again.version, again.source) == ("2", "s3://bucket/classifier/2")
    logged_model = member.create_model_version("classifier-copy", "models:/m-0123abcd")
    assert logged_model.source == "models:/m-0123abcd"


def test_permission_matrix(world, mlflow_as):
    admin = mlflow_as("registry_admin")
    admin.create_registered_model("fraud")
    admin.create_model_version("fraud", "s3://b/1")
    admin.set_registered_model_alias("fraud", "production", "1")  # protected: admins only

    viewer = mlflow_as("viewer")
    assert viewer.get_model_version_by_alias("fraud", "production").version == "1"
    assert code_of(lambda: viewer.create_registered_model("mine")) == "PERMISSION_DENIED"
    assert code_of(lambda: viewer.create_model_version("fraud", "s3://b/2")) == "PERMISSION_DENIED"
    assert code_of(lambda: viewer.set_registered_model_tag("fraud", "k", "v")) == "PERMISSION_DENIED"
    restricted = mlflow_as("restricted_viewer")
    assert [m.name for m in restricted.search_registered_models()] == ["fraud"]
    assert code_of(lambda: restricted.delete_registered_model("fraud")) == "PERMISSION_DENIED"
    outsider = mlflow_as("outsider")
    assert code_of(lambda: outsider.get_registered_model("fraud")) == "RESOURCE_DOES_NOT_EXIST"
    assert code_of(lambda: outsider.search_registered_models()) == "RESOURCE_DOES_NOT_EXIST"

    member = mlflow_as("member")
    member.create_model_version("fraud", "s3://b/2")
    member.set_registered_model_alias("fraud", "candidate", "2")
    assert code_of(lambda: member.set_registered_model_alias("fraud", "production", "2")) == "PERMISSION_DENIED"
    assert code_of(lambda: member.delete_registered_model_alias("fraud", "production")) == "PERMISSION_DENIED"
    assert code_of(lambda: member.delete_model_version("fraud", "1")) == "PERMISSION_DENIED"  # holds production
    assert code_of(lambda: member.delete_registered_model("fraud")) == "PERMISSION_DENIED"
    assert mlflow_as("viewer").get_model_version_by_alias("fraud", "production").version == "1"
    admin = mlflow_as("registry_admin")
    admin.delete_registered_model_alias("fraud", "production")
    admin.delete_registered_model("fraud")
    assert not Collection.objects.filter(name="fraud").exists()


def test_authentication_and_bad_input(world, keys, registry_uri, mlflow_as, mlflow_env):
    url = f"{registry_uri}/api/2.0/mlflow/registered-models/search"
    anonymous = requests.get(url, timeout=10)
    assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, "UNAUTHENTICATED")
    wrong = requests.get(url, headers={"Authorization": "Bearer reg-" + "x" * 43}, timeout=10)
    assert wrong.status_code == 401
    garbage = requests.get(url, headers={"Authorization": "Basic %%%"}, timeout=10)
    assert garbage.status_code == 401
    # Basic auth: the key's own username (or `api`) with the key as password, as MLflow sends it.
    mlflow_env.setenv("MLFLOW_TRACKING_USERNAME", "member")
    mlflow_env.setenv("MLFLOW_TRACKING_PASSWORD", keys["member"])
    client = MlflowClient(tracking_uri=registry_uri, registry_uri=registry_uri)
    client.create_registered_model("basic-auth")
    assert AuditEvent.objects.filter(actor_username="member", actor_detail="mlflow:api-key:member mlflow").exists()
    someone_else = base64.b64encode(f"viewer:{keys['member']}".encode()).decode()
    assert requests.get(url, headers={"Authorization": f"Basic {someone_else}"}, timeout=10).status_code == 401

    # Bad input: a clear 4xx in MLflow's shape, and nothing written.
    mlflow_as("member").create_registered_model("fraud")
    api = f"{registry_uri}/api/2.0/mlflow"
    auth = {"Authorization": f"Bearer {keys['member']}"}
    before = (Collection.objects.count(), Link.objects.count(), AuditEvent.objects.count())
    cases = [
        ("post", "registered-models/create", {"data": "{not json"}, "MALFORMED_REQUEST"),
        ("post", "registered-models/create", {"data": "[1, 2]"}, "MALFORMED_REQUEST"),
        ("post", "registered-models/create", {"json": {}}, "INVALID_PARAMETER_VALUE"),
        ("post", "registered-models/create", {"json": {"name": "a/b"}}, "INVALID_PARAMETER_VALUE"),
        ("post", "registered-models/create", {"json": {"name": "x" * 300}}, "INVALID_PARAMETER_VALUE"),
        ("post", "registered-models/create", {"json": {"name": {"x": 1}}}, "INVALID_PARAMETER_VALUE"),
        ("post", "registered-models/create", {"json": {"name": "ok", "tags": "x"}}, "INVALID_PARAMETER_VALUE"),
        (
            "post",
            "registered-models/create",
            {"json": {"name": "ok", "tags": [{"key": "bad\nkey"}]}},
            "INVALID_PARAMETER_VALUE",
        ),
        ("post", "model-versions/create", {"json": {"name": "fraud"}}, "INVALID_PARAMETER_VALUE"),
        ("post", "model-versions/create", {"json": {"name": "fraud", "source": "s3://x\n"}}, "INVALID_PARAMETER_VALUE"),
        ("post", "model-versions/create", {"json": {"name": "nope", "source": "s3://x"}}, "RESOURCE_DOES_NOT_EXIST"),
        ("get", "model-versions/get", {"params": {"name": "fraud", "version": "abc"}}, "INVALID_PARAMETER_VALUE"),
        ("get", "model-versions/get", {"params": {"name": "fraud", "version": "0"}}, "INVALID_PARAMETER_VALUE"),
        ("get", "model-versions/get", {"params": {"name": "fraud", "version": "7"}}, "RESOURCE_DOES_NOT_EXIST"),
        ("get", "registered-models/search", {"params": {"max_results": "0"}}, "INVALID_PARAMETER_VALUE"),
        ("get", "registered-models/search", {"params": {"max_results": "abc"}}, "INVALID_PARAMETER_VALUE"),
        ("get", "registered-models/search", {"params": {"max_results": "5000"}}, "INVALID_PARAMETER_VALUE"),
        (
            "get",
            "registered-models/search",
            {"params": {"filter": "name = 'a' OR name = 'b'"}},
            "INVALID_PARAMETER_VALUE",
        ),
        ("get", "registered-models/search", {"params": {"filter": "name ~ 'a'"}}, "INVALID_PARAMETER_VALUE"),
        ("get", "model-versions/search", {"params": {"filter": "tags.k > 'a'"}}, "INVALID_PARAMETER_VALUE"),
        ("get", "model-versions/search", {"params": {"filter": "name LIKE '(a+)+'"}}, None),
        (
            "post",
            "registered-models/get-latest-versions",
            {"json": {"name": "fraud", "stages": ["Nope"]}},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "post",
            "registered-models/alias",
            {"json": {"name": "fraud", "alias": "x", "version": "1"}},
            "RESOURCE_DOES_NOT_EXIST",
        ),
        ("delete", "registered-models/delete", {"data": "{"}, "MALFORMED_REQUEST"),
        (
            "patch",
            "registered-models/update",
            {"json": {"name": "fraud", "description": "x" * 100_001}},
            "INVALID_PARAMETER_VALUE",
        ),
        ("get", "no-such/endpoint", {}, "ENDPOINT_NOT_FOUND"),
        ("get", "registered-models/create", {}, "ENDPOINT_NOT_FOUND"),
    ]
    for method, path, kwargs, code in cases:
        response = getattr(requests, method)(f"{api}/{path}", headers=auth, timeout=10, **kwargs)
        assert 400 <= response.status_code < 500 or code is None, (path, kwargs, response.status_code)
        if code is not None:
            assert response.json()["error_code"] == code, (path, kwargs, response.text)
    assert (Collection.objects.count(), Link.objects.count(), AuditEvent.objects.count()) == before
