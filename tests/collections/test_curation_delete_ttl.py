"""Curation (issue 16): source versions deleted by their team (soft delete, retention, then the blobs'
garbage collection), refused while a protected alias holds them; W&B's `ttl` (expired versions deleted by
the worker, never while linked). Services, API, client, pages; audited."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.artifacts import services as artifacts
from apps.artifacts.models import ArtifactVersion, Blob, ManifestEntry, VersionState
from apps.artifacts.storage import get_store
from apps.artifacts.tasks import report_counts
from apps.audit.models import Action, AuditEvent
from apps.collections import services
from apps.collections.models import Link, LinkAlias, find_version
from apps.orgs.permissions import SYSTEM_ACTOR
from apps.registries import services as registries
from apps.registries.models import Visibility
from registry_client import InvalidInput, NotFound
from tests.conftest import ALL, assert_status, login_as

SOURCE = "vision/detector/model-a:v0"
REGISTRY_PATH = "acme/wandb-registry-Golden Models/classifier:v0"
TEAM = {"org_admin", "member", "team_member"}  # in team `vision` (org admins see every project)
DAY = datetime.timedelta(days=1)


def state(version) -> str:
    return ArtifactVersion.objects.get(pk=version.pk).state


def events(action):
    return AuditEvent.objects.filter(action=action)


def cleanup() -> str:
    out = io.StringIO()
    call_command("cleanup_storage", stdout=out)
    return out.getvalue()


# --- Deleting (services) ---


def test_the_team_deletes_an_unlinked_version_and_it_disappears(world):
    version = world.version()
    artifacts.delete_version(actor=world["team_member"], version=version)
    assert state(version) == VersionState.DELETED
    assert find_version(world["team_member"], SOURCE) is None
    assert not ArtifactVersion.objects.visible_to(world["org_admin"]).filter(pk=version.pk).exists()
    event = events(Action.ARTIFACT_DELETE).get()
    assert (event.actor, event.version_pk, event.data["reason"]) == (world["team_member"], version.pk, "deleted")
    assert event.describe() == f"deleted {version}"
    # The files stay for the retention period.
    assert ManifestEntry.objects.filter(version=version).exists()


def test_deleting_a_linked_version_unlinks_it_everywhere_and_moves_latest(world):
    old = world.link(world.version(content=b"old"))
    link = world.link(world.version(content=b"new"), aliases=["candidate"])
    other = world.link(link.version, collection="detector")
    services.delete_source_version(actor=world["member"], version=link.version)
    assert not Link.objects.filter(pk__in=[link.pk, other.pk]).exists()
    assert LinkAlias.objects.get(collection=old.collection, alias="latest").link == old
    unlinks = events(Action.COLLECTION_UNLINK)
    assert sorted(unlinks.values_list("collection_pk", flat=True)) == sorted([link.collection_id, other.collection_id])
    assert {e.data["reason"] for e in unlinks} == {"source version deleted"}
    deleted = events(Action.ARTIFACT_DELETE).get()
    assert sorted(deleted.data["unlinked"]) == sorted([link.full_name, other.full_name])
    assert state(link.version) == VersionState.DELETED


@pytest.mark.parametrize("persona", ["member", "org_admin"])
def test_no_one_deletes_a_version_a_protected_alias_holds(world, persona):
    link = world.link(aliases=["production"])
    with pytest.raises(ValidationError, match="“production” on wandb-registry-Golden Models/classifier:v0"):
        services.delete_source_version(actor=world[persona], version=link.version)
    assert state(link.version) == VersionState.COMMITTED
    assert Link.objects.filter(pk=link.pk).exists()
    assert not events(Action.ARTIFACT_DELETE).exists() and not events(Action.COLLECTION_UNLINK).exists()


def test_the_refusal_does_not_name_a_registry_the_team_member_cannot_see(world):
    admin = world["org_admin"]
    secret = registries.create_registry(
        actor=admin, org=world.org, name="Secret", visibility=Visibility.RESTRICTED, artifact_types=["model"]
    )
    registries.declare_protected_alias(actor=admin, registry=secret, alias="production")
    link = world.link(registry=secret, aliases=["production"])
    with pytest.raises(ValidationError) as refused:
        services.delete_source_version(actor=world["team_member"], version=link.version)
    assert "a registry you cannot see" in str(refused.value) and "Secret" not in str(refused.value)


@pytest.mark.parametrize("persona", ["registry_admin", "viewer", "restricted_viewer", "outsider"])
def test_only_the_team_deletes_its_versions(world, persona):
    link = world.link()
    with pytest.raises(PermissionDenied):
        services.delete_source_version(actor=world[persona], version=link.version)
    assert state(link.version) == VersionState.COMMITTED and Link.objects.filter(pk=link.pk).exists()


def test_a_deleted_version_is_restored_within_the_retention_period(world):
    version = world.version()
    artifacts.delete_version(actor=world["member"], version=version)
    with pytest.raises(PermissionDenied):
        artifacts.restore_version(actor=world["registry_admin"], version=version)
    artifacts.restore_version(actor=world["member"], version=version)
    assert state(version) == VersionState.COMMITTED
    assert find_version(world["member"], SOURCE)[0] == version
    assert events(Action.ARTIFACT_RESTORE).get().data["reason"] == "restored"
    with pytest.raises(ValidationError, match="Only deleted"):
        artifacts.restore_version(actor=world["member"], version=version)


# --- Retention, then the blobs' garbage collection ---


def test_after_retention_the_worker_releases_the_files_and_collects_their_blobs(world, settings):
    settings.ARTIFACT_DELETE_RETENTION_DAYS = 7
    doomed = world.version(name="doomed", content=b"only here", files={"shared.bin": b"shared"})
    keeper = world.version(name="keeper", content=b"kept", files={"shared.bin": b"shared"})
    artifacts.delete_version(actor=world["member"], version=doomed)
    Blob.objects.update(created_at=timezone.now() - 2 * DAY)  # old enough for the collector
    only_here = ManifestEntry.objects.get(version=doomed, path="model.bin").sha256
    shared = ManifestEntry.objects.get(version=doomed, path="shared.bin").sha256

    cleanup()  # within retention: nothing released
    assert ManifestEntry.objects.filter(version=doomed).count() == 2 and get_store().exists(only_here)

    ArtifactVersion.objects.filter(pk=doomed.pk).update(deleted_at=timezone.now() - 8 * DAY)
    output = cleanup()
    assert f"Released the files of deleted version {doomed}" in output
    fresh = ArtifactVersion.objects.get(pk=doomed.pk)
    assert fresh.purged_at is not None and fresh.state == VersionState.DELETED  # a tombstone: vN never reused
    assert not ManifestEntry.objects.filter(version=doomed).exists()
    assert not Blob.objects.filter(sha256=only_here).exists() and not get_store().exists(only_here)
    assert Blob.objects.filter(sha256=shared).exists() and get_store().exists(shared)  # the keeper holds it
    assert keeper.entries.count() == 2
    purge = events(Action.ARTIFACT_PURGE).get()
    assert purge.data == {"version": "v0", "files": 2, "size": doomed.size}
    assert purge.actor_detail == "system:cleanup_storage"
    with pytest.raises(ValidationError, match="released"):
        artifacts.restore_version(actor=world["member"], version=doomed)


def test_a_deleted_version_linked_by_a_racing_link_is_restored_not_purged(world):
    version = world.version()
    artifacts.delete_version(actor=world["member"], version=version)
    collection = services.create_collection(actor=world["org_admin"], registry=world.registry, name="c", type="model")
    Link.objects.create(collection=collection, version=version, index=0)  # as a link racing the deletion would
    ArtifactVersion.objects.filter(pk=version.pk).update(deleted_at=timezone.now() - 30 * DAY)
    cleanup()
    assert state(version) == VersionState.COMMITTED
    assert events(Action.ARTIFACT_RESTORE).get().data["reason"] == "linked while deleted"


# --- Time-to-live ---


def test_the_team_sets_a_ttl_counted_from_the_commit_and_it_is_audited(world):
    version = world.version()
    artifacts.set_version_ttl(actor=world["team_member"], version=version, ttl_seconds=30 * 86400)
    fresh = ArtifactVersion.objects.get(pk=version.pk)
    assert fresh.expires_at == fresh.committed_at + 30 * DAY
    event = events(Action.VERSION_UPDATE).get()
    assert event.data["ttl"] == {"from": None, "to": "30 days"}
    assert event.describe() == "set the time-to-live of v0 to 30 days"
    artifacts.set_version_ttl(actor=world["team_member"], version=version, ttl_seconds=None)
    assert ArtifactVersion.objects.get(pk=version.pk).expires_at is None
    assert events(Action.VERSION_UPDATE).count() == 2


@pytest.mark.parametrize("ttl", [0, -1, True, 2**62, 1.5, "60"])
def test_bad_ttls_are_refused(world, ttl):
    version = world.version()
    with pytest.raises(ValidationError, match="time-to-live"):
        artifacts.set_version_ttl(actor=world["member"], version=version, ttl_seconds=ttl)
    assert ArtifactVersion.objects.get(pk=version.pk).ttl_seconds is None
    assert not events(Action.VERSION_UPDATE).exists()


def test_registry_roles_do_not_set_a_ttl(world):
    link = world.link()
    with pytest.raises(PermissionDenied):
        artifacts.set_version_ttl(actor=world["registry_admin"], version=link.version, ttl_seconds=60)


def test_the_worker_deletes_expired_versions_but_never_linked_ones(world):
    expired = world.version(name="expired", content=b"1")
    linked = world.link(world.version(name="linked", content=b"2"))
    fresh = world.version(name="fresh", content=b"3")
    for version in (expired, linked.version, fresh):
        artifacts.set_version_ttl(actor=world["member"], version=version, ttl_seconds=3600)
    ArtifactVersion.objects.filter(pk__in=[expired.pk, linked.version_id]).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    output = cleanup()
    assert f"Deleted expired version {expired} (time-to-live)" in output
    assert state(expired) == VersionState.DELETED
    assert state(linked.version) == state(fresh) == VersionState.COMMITTED
    event = events(Action.ARTIFACT_DELETE).get()
    assert (event.actor, event.data["reason"], event.data["ttl"]) == (None, "ttl", "1 hour")
    # Restoring an expired version clears its time-to-live, or the worker would delete it again.
    artifacts.restore_version(actor=world["member"], version=expired)
    assert ArtifactVersion.objects.get(pk=expired.pk).ttl_seconds is None
    assert report_counts(artifacts.cleanup_storage(actor=SYSTEM_ACTOR))["expired versions"] == 0


# --- API ---

API = {p: (p in TEAM) for p in ALL}


@pytest.mark.parametrize(("persona", "allowed"), API.items())
def test_api_ttl_delete_and_restore_permissions(api, world, persona, allowed):
    link = world.link()
    version = link.version
    denied = 401 if persona == "anonymous" else 404  # others cannot see the source version
    response = api(persona).patch("versions", {"ttl_seconds": 86400}, params={"path": SOURCE})
    assert response.status_code == (200 if allowed else denied), response.content
    if allowed:
        assert response.json()["ttl_seconds"] == 86400 and response.json()["expires_at"]
    assert (ArtifactVersion.objects.get(pk=version.pk).ttl_seconds == 86400) == allowed
    response = api(persona).delete("versions", {"path": SOURCE})
    assert response.status_code == (204 if allowed else denied)
    assert (state(version) == VersionState.DELETED) == allowed
    assert events(Action.ARTIFACT_DELETE).exists() == allowed
    if not allowed:
        services.delete_source_version(actor=world["member"], version=version)
    response = api(persona).post(f"artifacts/{version.pk}/restore")
    assert response.status_code == (200 if allowed else denied)
    assert (state(version) == VersionState.COMMITTED) == allowed


def test_api_delete_refusals_are_clear_4xx(api, world):
    link = world.link(aliases=["production"])
    response = api("member").delete("versions", {"path": SOURCE})
    assert response.status_code == 400 and "protected alias" in response.json()["detail"]
    response = api("member").delete("versions", {"path": REGISTRY_PATH})
    assert response.status_code == 400 and "/api/v1/links" in response.json()["detail"]
    assert state(link.version) == VersionState.COMMITTED


def test_api_ttl_on_a_registry_path_is_refused(api, world):
    world.link()
    response = api("member").patch("versions", {"ttl_seconds": 60}, params={"path": REGISTRY_PATH})
    assert response.status_code == 400 and "never expire" in response.json()["detail"]
    response = api("member").patch("versions", {"ttl_seconds": 0}, params={"path": SOURCE})
    assert response.status_code == 400


# --- Client ---


def test_client_ttl_delete_and_restore(in_process, world, tmp_path):
    link = world.link()
    client = in_process("member")
    (tmp_path / "weights.bin").write_bytes(b"w")
    logged = client.log_artifact(
        tmp_path / "weights.bin", name="short-lived", type="model", project="vision/detector", ttl=3600
    )
    assert (logged.version, logged.ttl_seconds) == ("v0", 3600) and logged.expires_at
    assert client.set_ttl(SOURCE, datetime.timedelta(days=2)).ttl_seconds == 2 * 86400
    assert client.set_ttl(SOURCE, None).ttl_seconds is None
    with pytest.raises(InvalidInput):
        client.set_ttl(SOURCE, 0)
    client.artifact(REGISTRY_PATH).delete()  # a linked version: W&B's delete() unlinks it
    assert not Link.objects.filter(pk=link.pk).exists() and state(link.version) == VersionState.COMMITTED
    client.artifact(SOURCE).delete()
    assert state(link.version) == VersionState.DELETED
    with pytest.raises(NotFound):
        client.artifact(SOURCE)
    with pytest.raises(NotFound):
        in_process("registry_admin").restore_version(link.version_id)
    assert client.restore_version(link.version_id).path == SOURCE


# --- Pages ---


def source_url(name, version, *extra):
    return reverse(name, args=["vision", "detector", version.sequence.name, version.version_label, *extra])


PAGE = {p: (200 if p in TEAM else 404) for p in ALL} | {"anonymous": 302}


@pytest.mark.parametrize(("persona", "status"), PAGE.items())
def test_ttl_delete_and_restore_pages_permissions(client, world, persona, status):
    link = world.link()
    version = link.version
    allowed = status == 200
    login_as(client, world, persona)
    response = client.post(source_url("artifacts:version_ttl", version), {"ttl_days": "30"})
    assert_status(response, persona, 302 if allowed else status)
    assert (ArtifactVersion.objects.get(pk=version.pk).ttl_seconds == 30 * 86400) == allowed
    response = client.get(source_url("collections:source_version_delete", version), headers={"HX-Request": "true"})
    assert_status(response, persona, status)
    if allowed:
        assert "wandb-registry-Golden Models/classifier:v0" in response.content.decode()
    response = client.post(source_url("collections:source_version_delete", version))
    assert_status(response, persona, 302 if allowed else status)
    assert (state(version) == VersionState.DELETED) == allowed
    if not allowed:
        services.delete_source_version(actor=world["member"], version=version)
    response = client.post(source_url("artifacts:version_restore", version))
    assert_status(response, persona, 302 if allowed else status)
    assert (state(version) == VersionState.COMMITTED) == allowed


def test_delete_dialog_shows_the_protected_refusal_inline(client, world):
    link = world.link(aliases=["production"])
    client.force_login(world["member"])
    url = source_url("collections:source_version_delete", link.version)
    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "protected alias holds this version" in html and "disabled" in html
    response = client.post(url, headers={"HX-Request": "true"})
    assert (
        response.status_code == 200
        and "cannot be deleted while a protected alias holds it" in response.content.decode()
    )
    assert state(link.version) == VersionState.COMMITTED


def test_ttl_form_answers_its_card_and_shows_errors(client, world):
    version = world.version()
    client.force_login(world["member"])
    url = source_url("artifacts:version_ttl", version)
    response = client.post(url, {"ttl_days": "0"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'id="lifecycle"' in response.content.decode()
    assert "greater than or equal to 1" in response.content.decode()
    response = client.post(url, {"ttl_days": "7"}, headers={"HX-Request": "true"})
    assert "7 days: deleted after" in response.content.decode()
    client.post(url, {"clear": "1"}, headers={"HX-Request": "true"})
    assert ArtifactVersion.objects.get(pk=version.pk).ttl_seconds is None


def test_source_page_offers_delete_and_ttl_to_the_team_only(client, world):
    version = world.version()
    client.force_login(world["team_member"])
    html = client.get(version.get_absolute_url()).content.decode()
    assert "Delete…" in html and "ttl_days" in html
    client.force_login(world["org_admin"])
    artifacts.delete_version(actor=world["org_admin"], version=version)
    assert client.get(version.get_absolute_url()).status_code == 404


def test_the_artifact_page_lists_restorable_versions_to_the_team(client, world):
    version = world.version()
    artifacts.delete_version(actor=world["member"], version=version)
    page = reverse("artifacts:sequence_detail", args=["vision", "detector", "model-a"])
    client.force_login(world["team_member"])
    html = client.get(page).content.decode()
    assert "Deleted versions" in html and source_url("artifacts:version_restore", version) in html
    ArtifactVersion.objects.filter(pk=version.pk).update(purged_at=timezone.now())  # released: nothing to restore
    assert "Deleted versions" not in client.get(page).content.decode()
