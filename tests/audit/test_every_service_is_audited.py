"""Every state-changing service writes an audit event. The test enumerates the services modules, so a new
service without an entry here (or an explicit, reasoned exemption) fails it."""

import importlib
import inspect
import io

import pytest

from apps.audit.models import AuditEvent
from tests.factories import UserFactory

APPS = ["orgs", "artifacts", "registries", "collections", "automations"]

# Public functions in services modules that are not state changes, or whose write is not domain state.
EXEMPT = {
    "artifacts.can_read_source": "a read: may the user read a version's files from its project",
    "artifacts.record_usage": "called only by collections.use_artifact (audited there)",
    "collections.can_download": "a read: may the user read a version's files through the path used",
    "artifacts.manifest_digest": "a pure function",
    "artifacts.missing_blobs": "a read",
    "artifacts.require_project_writer": "a permission check",
    "artifacts.upload_blob": "content-addressed bytes; the commit that references them is audited",
    "artifacts.log_artifact": "a composition of create_version and commit_version (both audited)",
    "artifacts.update_run": "a run's progress (config, summary, state) as its script reports it; run creation is audited",
    # The storage cleanup runs as the system: one event per removed version or blob and a summary of
    # upload leftovers, asserted in tests/artifacts/test_cleanup.py and test_storage_s3.py.
    "artifacts.cleanup_storage": "system only: a composition of the four below",
    "artifacts.hold_blobs": "a registration hook at start-up (like audit.subscribe), no state",
    "artifacts.delete_pending_versions": "system only; its events are asserted in tests/artifacts/test_cleanup.py",
    "artifacts.delete_unreferenced_blobs": "system only; its events are asserted in tests/artifacts/test_cleanup.py",
    "artifacts.delete_orphan_bytes": "system only; its events are asserted in tests/artifacts/test_cleanup.py",
    "artifacts.remove_storage_leftovers": "system only; its summary is asserted in tests/artifacts/test_cleanup.py",
    "registries.validate_alias": "a validator",
    "registries.create_core_registries": "runs inside registries.create_organization (its events are checked there)",
    "orgs.set_registry_ui_preference": "a personal display preference, not organization state",
    "orgs.find_user": "a read",
    "orgs.check_entity_name": "a validator",
    "orgs.invitation_path": "a pure function",
    "orgs.accept_invitation": "the invitee acts; its event is asserted in tests/orgs/test_people_services.py",
    "orgs.accept_invitation_with_new_account": "the new user acts; asserted in tests/orgs/test_people_services.py",
    "registries.default_role": "a pure function",
    "automations.event_variables": "a pure function (payload variables of an event)",
    "automations.queue_runs_for_event": "the audit subscriber itself; its runs are the automation history",
    "automations.require_manage": "a permission check",
    "automations.new_version_notification": "a read",
}

# Curation (issue 16): reads, pure helpers and the worker's system-only steps.
EXEMPT |= {
    "artifacts.locked_committed": "a read under a row lock, shared by the edits of a version",
    "artifacts.can_write_project": "a read: may the user write to a project",
    "artifacts.deletion_retention": "a setting read",
    "artifacts.ttl_text": "a pure function",
    "artifacts.expire_versions": "system only; its events are asserted in tests/collections/test_curation_delete_ttl.py",
    "artifacts.purge_deleted_versions": "system only; its events are asserted in tests/collections/test_curation_delete_ttl.py",
    "collections.protected_holds": "a read: where protected aliases hold a version",
}

# Speed (issue 13).
EXEMPT |= {
    "artifacts.find_project": "a read: a project by name, with whether the user may write to it",
    "artifacts.create_version_in_transaction": "create_version's body, in the caller's transaction (audited there)",
}


def _services():
    for app in APPS:
        module = importlib.import_module(f"apps.{app}.services")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{app}.{name}", fn


def _calls(world):
    """name → callable that performs the service once, as an actor allowed to."""
    from apps.artifacts import services as artifacts
    from apps.collections import services as collections
    from apps.orgs import services as orgs
    from apps.registries import services as registries

    admin = world["org_admin"]
    link = world.link(aliases=["candidate"])
    reg = world.registry
    version = artifacts.create_version(actor=admin, project=world.project, name="m2", type="model", files=[])
    run = artifacts.create_run(actor=admin, project=world.project)
    newbie = UserFactory(username="newbie")
    calls = {
        "orgs.create_organization": lambda: orgs.create_organization(actor=admin, slug="initech", name="Initech"),
        "registries.create_organization": lambda: registries.create_organization(
            actor=admin, slug="umbrella", name="U"
        ),
        "orgs.add_org_member": lambda: orgs.add_org_member(actor=admin, org=world.org, user=newbie),
        "orgs.change_org_role": lambda: orgs.change_org_role(
            actor=admin, membership=world.org.memberships.get(user=world["viewer"]), role="member"
        ),
        "orgs.remove_org_member": lambda: orgs.remove_org_member(
            actor=admin, membership=world.org.memberships.get(user=world["viewer"])
        ),
        "orgs.create_team": lambda: orgs.create_team(actor=admin, org=world.org, name="nlp"),
        "orgs.add_team_member": lambda: orgs.add_team_member(actor=admin, team=world.team, user=world["viewer"]),
        "orgs.remove_team_member": lambda: orgs.remove_team_member(actor=admin, team=world.team, user=world["member"]),
        "orgs.create_api_key": lambda: orgs.create_api_key(actor=admin, user=admin, name="ci"),
        "orgs.add_or_invite_org_member": lambda: orgs.add_or_invite_org_member(
            actor=admin, org=world.org, name="new@example.com"
        ),
        "orgs.invite_org_member": lambda: orgs.invite_org_member(actor=admin, org=world.org, email="a@example.com"),
        "orgs.revoke_invitation": lambda: orgs.revoke_invitation(
            actor=admin, invitation=orgs.invite_org_member(actor=admin, org=world.org, email="b@example.com")[0]
        ),
        "orgs.change_team_role": lambda: orgs.change_team_role(
            actor=admin, team=world.team, user=world["member"], role="admin"
        ),
        "orgs.create_service_account": lambda: orgs.create_service_account(actor=admin, org=world.org, name="ci-bot"),
        "orgs.deactivate_service_account": lambda: orgs.deactivate_service_account(
            actor=admin, account=orgs.create_service_account(actor=admin, org=world.org, name="old-bot")
        ),
        "orgs.delete_organization": lambda: orgs.delete_organization(
            actor=admin, org=orgs.create_organization(actor=admin, slug="doomed", name="Doomed")
        ),
        "orgs.delete_team": lambda: orgs.delete_team(
            actor=admin, team=orgs.create_team(actor=admin, org=world.org, name="doomed")
        ),
        "artifacts.delete_project": lambda: artifacts.delete_project(
            actor=admin, project=artifacts.create_project(actor=admin, team=world.team, name="doomed")
        ),
        "orgs.revoke_api_key": lambda: orgs.revoke_api_key(
            actor=admin, key=orgs.create_api_key(actor=admin, user=admin, name="old")[0]
        ),
        "artifacts.create_project": lambda: artifacts.create_project(actor=admin, team=world.team, name="p2"),
        "artifacts.create_run": lambda: artifacts.create_run(actor=admin, project=world.project),
        "artifacts.create_version": lambda: artifacts.create_version(
            actor=admin, project=world.project, name="m3", type="model", files=[]
        ),
        "artifacts.commit_version": lambda: artifacts.commit_version(actor=admin, version=version),
        "collections.create_linked_version": lambda: collections.create_linked_version(
            actor=admin, project=world.project, name="m4", type="model", files=[], registry=reg, collection_name="c4"
        ),
        "collections.use_artifact": lambda: collections.use_artifact(
            actor=admin, run=run, version=link.version, link=link
        ),
        "registries.create_registry": lambda: registries.create_registry(actor=admin, org=world.org, name="New"),
        "registries.rename_registry": lambda: registries.rename_registry(actor=admin, registry=reg, name="Renamed"),
        "registries.update_registry_description": lambda: registries.update_registry_description(
            actor=admin, registry=reg, description="d"
        ),
        "registries.change_registry_visibility": lambda: registries.change_registry_visibility(
            actor=admin,
            registry=registries.create_registry(actor=admin, org=world.org, name="Open"),
            visibility="restricted",
        ),
        "registries.add_registry_types": lambda: registries.add_registry_types(
            actor=admin, registry=reg, artifact_types=["onnx"]
        ),
        "registries.delete_registry": lambda: registries.delete_registry(
            actor=admin,
            registry=registries.create_registry(actor=admin, org=world.org, name="Gone"),
            confirm_name="Gone",
        ),
        "registries.grant_registry_role": lambda: registries.grant_registry_role(
            actor=admin, registry=reg, principal=world["viewer"], role="member"
        ),
        "registries.revoke_registry_role": lambda: registries.revoke_registry_role(
            actor=admin, registry=reg, principal=world["viewer"]
        ),
        "registries.set_registry_owner": lambda: registries.set_registry_owner(
            actor=admin, registry=reg, user=world["member"]
        ),
        "registries.star_registry": lambda: registries.star_registry(actor=admin, registry=reg),
        "registries.unstar_registry": lambda: (
            registries.star_registry(actor=admin, registry=reg),
            registries.unstar_registry(actor=admin, registry=reg),
        ),
        "registries.declare_protected_alias": lambda: registries.declare_protected_alias(
            actor=admin, registry=reg, alias="staging"
        ),
        "registries.remove_protected_alias": lambda: registries.remove_protected_alias(
            actor=admin, registry=reg, alias="production"
        ),
        "collections.create_collection": lambda: collections.create_collection(
            actor=admin, registry=reg, name="c2", type="model"
        ),
        "collections.link_version": lambda: world.link(version=world.version(content=b"other")),
        "collections.unlink_version": lambda: collections.unlink_version(actor=admin, link=link),
        "collections.add_alias": lambda: collections.add_alias(actor=admin, link=link, alias="best"),
        "collections.remove_alias": lambda: collections.remove_alias(actor=admin, link=link, alias="candidate"),
        "collections.add_collection_tag": lambda: collections.add_collection_tag(
            actor=admin, collection=link.collection, tag="t"
        ),
        "collections.remove_collection_tag": lambda: (
            collections.add_collection_tag(actor=admin, collection=link.collection, tag="t"),
            collections.remove_collection_tag(actor=admin, collection=link.collection, tag="t"),
        ),
        "collections.add_version_tag": lambda: collections.add_version_tag(actor=admin, link=link, tag="t"),
        "collections.remove_version_tag": lambda: (
            collections.add_version_tag(actor=admin, link=link, tag="t"),
            collections.remove_version_tag(actor=admin, link=link, tag="t"),
        ),
        "collections.update_collection_description": lambda: collections.update_collection_description(
            actor=admin, collection=link.collection, description="x"
        ),
        "collections.rename_collection": lambda: collections.rename_collection(
            actor=admin, collection=link.collection, name="renamed"
        ),
        "collections.update_version_description": lambda: collections.update_version_description(
            actor=admin, link=link, description="x"
        ),
        "collections.delete_collection": lambda: collections.delete_collection(actor=admin, collection=link.collection),
        "collections.register_reference": lambda: collections.register_reference(
            actor=admin, registry=reg, collection_name="fraud", uri="s3://bucket/fraud/1"
        ),
        "artifacts.create_reference_version": lambda: artifacts.create_reference_version(
            actor=admin, org=world.org, project_name="external", name="fraud", type="model", uri="s3://b/1"
        ),
        "collections.set_collection_tag": lambda: collections.set_collection_tag(
            actor=admin, collection=link.collection, key="mlflow.owner", value="risk"
        ),
        "collections.set_version_tag": lambda: collections.set_version_tag(
            actor=admin, link=link, key="validated", value="yes"
        ),
    }
    calls.update(_automation_calls(world, admin, reg))
    calls.update(_curation_calls(world, admin, reg))
    return calls


def _curation_calls(world, admin, reg):
    from apps.artifacts import services as artifacts
    from apps.collections import services as collections

    def deleted():
        version = world.version(name="gone")
        artifacts.delete_version(actor=admin, version=version)
        return version

    return {
        "artifacts.update_source_metadata": lambda: artifacts.update_source_metadata(
            actor=admin, version=world.version(name="meta"), metadata={"k": 1}
        ),
        "artifacts.set_version_ttl": lambda: artifacts.set_version_ttl(
            actor=admin, version=world.version(name="ttl"), ttl_seconds=60
        ),
        "artifacts.delete_version": deleted,
        "artifacts.restore_version": lambda: artifacts.restore_version(actor=admin, version=deleted()),
        "collections.delete_source_version": lambda: collections.delete_source_version(
            actor=admin, version=world.link(version=world.version(name="linked-gone")).version
        ),
        "collections.update_version_metadata": lambda: collections.update_version_metadata(
            actor=admin, link=world.link(version=world.version(name="meta2")), metadata={"k": 2}
        ),
        "collections.create_collection_with_version": lambda: collections.create_collection_with_version(
            actor=admin, registry=reg, name="wizard", type="model", version=world.version(name="first")
        ),
    }


def _automation_calls(world, admin, reg):
    from apps.automations import services as automations

    made = []

    def webhook():
        made.append(
            automations.create_webhook(
                actor=admin, org=world.org, name=f"ci-{len(made)}", url="http://127.0.0.1:9/hook"
            )
        )
        return made[-1]

    def fields(**changes):
        return {
            "name": "deploy", "event_type": "LINK_ARTIFACT", "webhook": webhook(),
            "payload_template": '{"v": "${artifact_version_string}"}', **changes,
        }  # fmt: skip

    def automation():
        return automations.create_automation(actor=admin, registry=reg, **fields())

    def secret():
        return automations.create_secret(actor=admin, org=world.org, name="TOKEN", value="s3cr3t")

    return {
        "automations.create_secret": secret,
        "automations.update_secret": lambda: automations.update_secret(actor=admin, secret=secret(), value="new"),
        "automations.delete_secret": lambda: automations.delete_secret(actor=admin, secret=secret()),
        "automations.create_webhook": webhook,
        "automations.delete_webhook": lambda: automations.delete_webhook(actor=admin, webhook=webhook()),
        "automations.create_automation": automation,
        "automations.update_automation": lambda: automations.update_automation(
            actor=admin, automation=automation(), **fields(name="deploy-2")
        ),
        "automations.delete_automation": lambda: automations.delete_automation(actor=admin, automation=automation()),
        "automations.set_automation_enabled": lambda: automations.set_automation_enabled(
            actor=admin, automation=automation(), enabled=False
        ),
        "automations.create_slack_channel": lambda: automations.create_slack_channel(
            actor=admin, org=world.org, name="releases", url="http://127.0.0.1:9/services/T/B/x"
        ),
        "automations.set_new_version_notification": lambda: automations.set_new_version_notification(
            actor=admin, collection=world.link().collection, action=webhook(), enabled=True
        ),
    }


SERVICES = dict(_services())


def test_every_service_is_either_exercised_here_or_exempt_with_a_reason():
    missing = set(SERVICES) - set(EXEMPT) - _CALL_NAMES
    assert missing == set(), "add these services to tests/audit/test_every_service_is_audited.py"
    assert set(EXEMPT) | _CALL_NAMES <= set(SERVICES), "entries here name services that no longer exist"


_CALL_NAMES = {
    *(f"orgs.{n}" for n in ["create_organization", "add_org_member", "change_org_role", "remove_org_member",
                            "create_team", "add_team_member", "remove_team_member", "create_api_key", "revoke_api_key",
                            "delete_organization", "delete_team", "add_or_invite_org_member", "invite_org_member",
                            "revoke_invitation", "change_team_role", "create_service_account",
                            "deactivate_service_account"]),
    *(f"artifacts.{n}" for n in ["create_project", "create_run", "create_version", "commit_version",
                                 "delete_project", "create_reference_version"]),
    *(f"registries.{n}" for n in ["create_organization", "create_registry", "rename_registry", "update_registry_description",
                                  "change_registry_visibility", "add_registry_types", "delete_registry",
                                  "grant_registry_role", "revoke_registry_role", "set_registry_owner",
                                  "star_registry", "unstar_registry", "declare_protected_alias",
                                  "remove_protected_alias"]),
    *(f"collections.{n}" for n in ["create_collection", "link_version", "unlink_version", "add_alias", "remove_alias",
                                   "add_collection_tag", "remove_collection_tag", "add_version_tag",
                                   "remove_version_tag", "update_collection_description", "rename_collection",
                                   "update_version_description", "delete_collection", "use_artifact",
                                   "register_reference", "set_collection_tag", "set_version_tag"]),
    *(f"automations.{n}" for n in ["create_secret", "update_secret", "delete_secret", "create_webhook",
                                   "delete_webhook", "create_automation", "update_automation", "delete_automation",
                                   "set_automation_enabled", "replay_run", "send_test_webhook",
                                   "create_slack_channel", "set_new_version_notification"]),
}  # fmt: skip
_CALL_NAMES |= {
    *(f"artifacts.{n}" for n in ["update_source_metadata", "set_version_ttl", "delete_version", "restore_version"]),
    *(f"collections.{n}" for n in ["delete_source_version", "update_version_metadata",
                                   "create_collection_with_version", "create_linked_version"]),
}  # fmt: skip


# These send a request: their audit events are asserted with a live receiver in tests/automations.
NEEDS_RECEIVER = {"automations.replay_run", "automations.send_test_webhook"}


@pytest.mark.parametrize("name", sorted(_CALL_NAMES - NEEDS_RECEIVER))
def test_service_writes_an_audit_event(world, name, settings):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    call = _calls(world)[name]
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    call()
    new = AuditEvent.objects.filter(id__gt=before)
    assert new.exists(), f"{name} wrote no audit event"
    assert new.filter(actor=world["org_admin"]).exists()


def test_upload_blob_is_not_state_but_commit_is(world):
    from apps.artifacts.services import upload_blob

    before = AuditEvent.objects.count()
    upload_blob(actor=world["org_admin"], stream=io.BytesIO(b"bytes"))
    assert AuditEvent.objects.count() == before
