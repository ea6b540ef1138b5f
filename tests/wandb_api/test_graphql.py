"""/graphql without the SDK: authentication, introspection, and bad input → an error and nothing written."""

import base64
import hashlib
import json
from urllib.parse import urlparse

from apps.artifacts import services as artifacts
from apps.artifacts.models import ArtifactVersion, Blob
from apps.collections.models import Link
from apps.orgs import services as orgs
from apps.wandb_api.models import PendingArtifact, StagedFile

CREATE = """mutation CreateArtifact($input: CreateArtifactInput!) {
  createArtifact(input: $input) { artifact { id state artifactSequence { latestArtifact { id } } } } }"""
FILES = """mutation CreateArtifactFiles($input: CreateArtifactFilesInput!) {
  createArtifactFiles(input: $input) { files { edges { node { storagePath uploadUrl uploadHeaders artifact { id } } } } } }"""
MANIFEST = """mutation M($artifactID: ID!) { createArtifactManifest(input: {artifactID: $artifactID, name: "wandb_manifest.json",
  digest: "", entityName: "vision", projectName: "detector", runName: "r", type: FULL}) {
  artifactManifest { id file { uploadUrl uploadHeaders } } } }"""
COMMIT = "mutation C($id: ID!) { commitArtifact(input: {artifactID: $id}) { artifact { id digest } } }"
LINK = """mutation L($input: LinkArtifactInput!) { linkArtifact(input: $input) { versionIndex } }"""


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def wandb_digest(files: dict[str, bytes]) -> str:
    lines = "".join(f"{path}:{b64md5(data)}\n" for path, data in sorted(files.items()))
    return hashlib.md5(("wandb-artifact-manifest-v1\n" + lines).encode()).hexdigest()


def create(gql, files: dict[str, bytes], digest=None, persona="member"):
    data = gql(
        CREATE,
        {
            "input": {
                "entityName": "vision",
                "projectName": "detector",
                "artifactTypeName": "model",
                "artifactCollectionName": "net",
                "digest": digest or wandb_digest(files),
                "digestAlgorithm": "MANIFEST_MD5",
                "aliases": [{"artifactCollectionName": "net", "alias": "latest"}],
                "labels": None,
                "clientMutationId": None,
            }
        },
        persona=persona,
    )
    assert "errors" not in data, data
    return data["data"]["createArtifact"]["artifact"]


def path_of(url: str) -> str:
    return urlparse(url).path


def test_requests_without_a_valid_key_get_401(client, db):
    response = client.post("/graphql", json.dumps({"query": "{ viewer { id } }"}), content_type="application/json")
    assert response.status_code == 401
    bad = "Basic " + base64.b64encode(b"api:reg-" + b"x" * 43).decode()
    response = client.post(
        "/graphql", json.dumps({"query": "{ viewer { id } }"}), content_type="application/json", HTTP_AUTHORIZATION=bad
    )
    assert response.status_code == 401 and "WANDB_API_KEY" in response.json()["errors"][0]["message"]


def test_empty_operation_name_and_introspection(gql):
    data = gql("query Viewer { viewer { id entity username } }", operation_name="")
    assert data["data"]["viewer"]["username"] == "member"
    fields = gql('{ __type(name: "CreateArtifactInput") { inputFields { name } } }')
    names = {f["name"] for f in fields["data"]["__type"]["inputFields"]}
    assert {"artifactCollectionNames", "labels", "clientMutationId", "enableDigestDeduplication"} <= names


def test_log_link_by_hand_then_unknown_and_foreign_ids_are_refused(gql, client, world):
    files = {"model.bin": b"weights", "../evil": b"x"}
    artifact = create(gql, {"model.bin": b"weights"})
    assert artifact["state"] == "PENDING"
    # A `../` path is refused, and nothing is staged.
    spec = [{"artifactID": artifact["id"], "name": "../evil", "md5": b64md5(files["../evil"])}]
    data = gql(FILES, {"input": {"artifactFiles": spec, "storageLayout": "V2"}})
    assert "may not contain '..'" in data["errors"][0]["message"]
    assert not StagedFile.objects.exists()
    # A malformed MD5 is refused.
    spec = [{"artifactID": artifact["id"], "name": "model.bin", "md5": "not-md5"}]
    assert "base64 MD5" in gql(FILES, {"input": {"artifactFiles": spec, "storageLayout": "V2"}})["errors"][0]["message"]
    # The right declaration gets a signed upload URL.
    spec = [{"artifactID": artifact["id"], "name": "model.bin", "md5": b64md5(b"weights")}]
    node = gql(FILES, {"input": {"artifactFiles": spec, "storageLayout": "V2"}})["data"]["createArtifactFiles"]["files"]
    node = node["edges"][0]["node"]
    assert node["artifact"]["id"] == artifact["id"] and node["uploadHeaders"] == [f"Content-MD5:{b64md5(b'weights')}"]
    # Bytes that do not match the declared MD5: refused, no blob registered.
    response = client.put(path_of(node["uploadUrl"]), b"tampered", content_type="application/octet-stream")
    assert response.status_code == 400 and "MD5" in response.json()["detail"]
    assert not Blob.objects.filter(md5=hashlib.md5(b"tampered").hexdigest()).exists()
    assert (
        client.put(path_of(node["uploadUrl"]), b"weights", content_type="application/octet-stream").status_code == 200
    )
    assert client.put("/wandb/files/forged", b"weights", content_type="application/octet-stream").status_code == 403
    # Committing before the manifest, or with a malformed one, writes nothing.
    assert "manifest" in gql(COMMIT, {"id": artifact["id"]})["errors"][0]["message"]
    upload = gql(MANIFEST, {"artifactID": artifact["id"]})["data"]["createArtifactManifest"]["artifactManifest"]
    url = path_of(upload["file"]["uploadUrl"])
    for bad in [b"{", b"[]", json.dumps({"contents": {"model.bin": {"digest": "x", "size": -1}}}).encode()]:
        assert client.put(url, bad, content_type="application/json").status_code == 400
    # A manifest whose digest or size disagrees with the bytes fails the commit; nothing is created.
    wrong = {"contents": {"model.bin": {"digest": b64md5(b"weights"), "size": 99}}}
    assert client.put(url, json.dumps(wrong), content_type="application/json").status_code == 200
    assert "does not match" in gql(COMMIT, {"id": artifact["id"]})["errors"][0]["message"]
    assert not ArtifactVersion.objects.filter(sequence__name="net").exists()
    good = {"version": 1, "contents": {"model.bin": {"digest": b64md5(b"weights"), "size": 7, "local_path": "/x"}}}
    assert client.put(url, json.dumps(good), content_type="application/json").status_code == 200
    committed = gql(COMMIT, {"id": artifact["id"]})["data"]["commitArtifact"]["artifact"]
    version = ArtifactVersion.objects.get(pk=committed["id"])
    assert (version.index, version.digest) == (0, wandb_digest({"model.bin": b"weights"}))
    # The same digest again is that version, committed, with nothing to upload.
    again = create(gql, {"model.bin": b"weights"})
    assert (again["id"], again["state"]) == (str(version.pk), "COMMITTED")

    def link(artifact_id, persona="member", project="wandb-registry-Golden Models"):
        return gql(
            LINK,
            {
                "input": {
                    "artifactID": artifact_id,
                    "artifactPortfolioName": "net",
                    "entityName": "acme",
                    "projectName": project,
                    "aliases": [{"artifactCollectionName": "net", "alias": "production"}],
                }
            },
            persona=persona,
        )

    # Unknown ids, another org's version, an unknown registry, a protected alias: errors, no link.
    other = artifacts.log_artifact(
        actor=world["outsider"],
        project=artifacts.create_project(
            actor=world["outsider"],
            team=orgs.create_team(actor=world["outsider"], org=world.other_org, name="secret"),
            name="p",
        ),
        name="theirs",
        type="model",
        files={"a": b"theirs"},
    )
    for artifact_id, message in [
        ("999999", "No artifact"),
        ("p999999", "No artifact"),
        ("nonsense", "No artifact"),
        (str(other.pk), "No artifact"),
    ]:
        assert message in link(artifact_id)["errors"][0]["message"]
    assert "No registry" in link(str(version.pk), project="wandb-registry-Nope")["errors"][0]["message"]
    assert "protected" in link(str(version.pk))["errors"][0]["message"]
    assert not Link.objects.filter(collection__name="net").exists()
    # A pending id of someone else is unknown to you.
    assert (
        "No artifact"
        in gql(COMMIT, {"id": f"p{PendingArtifact.objects.first().pk}"}, persona="viewer")["errors"][0]["message"]
    )


def test_unsupported_features_answer_a_clear_error(gql):
    data = gql(
        """mutation { createRunFiles(input: {entityName: "vision", projectName: "detector", runName: "r",
        files: ["output.log"]}) { runID } }"""
    )
    assert "does not store run files" in data["errors"][0]["message"]
    assert "Cannot query field" in gql("{ viewer { sweeps { id } } }")["errors"][0]["message"]


# --- Curation (issue 16): metadata, ttl and delete through the SDK's mutations ---

UPDATE = """mutation U($input: UpdateArtifactInput!) { updateArtifact(input: $input) {
  artifact { id metadata ttlDurationSeconds } } }"""
DELETE = """mutation D($id: ID!) { deleteArtifact(input: {artifactID: $id, deleteAliases: false}) { artifact { id state } } }"""


def test_update_artifact_edits_metadata_and_ttl_and_delete_artifact_deletes(gql, world):
    from apps.artifacts.models import VersionState
    from apps.audit.models import Action, AuditEvent

    link = world.link()
    version = link.version
    data = gql(UPDATE, {"input": {"artifactID": str(version.pk), "metadata": json.dumps({"acc": 0.5})}})
    assert "errors" not in data, data
    assert json.loads(data["data"]["updateArtifact"]["artifact"]["metadata"]) == {"acc": 0.5}
    # A registry Viewer may neither edit metadata nor set a time-to-live.
    refused = gql(UPDATE, {"input": {"artifactID": f"{version.pk}@{link.pk}", "metadata": "{}"}}, persona="viewer")
    assert "errors" in refused
    data = gql(UPDATE, {"input": {"artifactID": str(version.pk), "ttlDurationSeconds": 7200}})
    assert data["data"]["updateArtifact"]["artifact"]["ttlDurationSeconds"] == 7200
    data = gql(UPDATE, {"input": {"artifactID": str(version.pk), "ttlDurationSeconds": -2}})
    assert data["data"]["updateArtifact"]["artifact"]["ttlDurationSeconds"] == -2
    assert AuditEvent.objects.filter(action=Action.VERSION_UPDATE).count() == 3
    # delete(): through the registry id it unlinks; through the source id it deletes the version.
    assert gql(DELETE, {"id": f"{version.pk}@{link.pk}"})["data"]["deleteArtifact"]["artifact"]["state"] == "COMMITTED"
    assert not Link.objects.filter(pk=link.pk).exists()
    assert "errors" in gql(DELETE, {"id": str(version.pk)}, persona="viewer")
    assert gql(DELETE, {"id": str(version.pk)})["data"]["deleteArtifact"]["artifact"]["state"] == "DELETED"
    assert ArtifactVersion.objects.get(pk=version.pk).state == VersionState.DELETED
