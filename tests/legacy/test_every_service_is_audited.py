"""Every public function of apps/legacy/services.py that changes state writes an audit event (the same rule as
tests/audit/test_every_service_is_audited.py, for this app); a new service fails here until it is listed."""

import inspect

import pytest

from apps.audit.models import AuditEvent
from apps.legacy import services

EXEMPT = {
    "migration_of": "a read",
    "migrated_message": "a message",
    "legacy_path": "a pure function",
}


def _calls(world):
    admin, member = world["org_admin"], world["member"]
    link = services.link_model_version(actor=member, version=world.version(), team=world.team, model_name="m")
    model = link.model
    services.add_model_tag(actor=member, model=model, tag="t")
    services.declare_protected_alias(actor=admin, team=world.team, alias="gold")
    services.add_registry_admin(actor=admin, team=world.team, user=world["team_member"])
    services.add_model_alias(actor=member, link=link, alias="staging")
    return {
        "create_registered_model": lambda: services.create_registered_model(actor=member, team=world.team, name="n"),
        "link_model_version": lambda: services.link_model_version(
            actor=member, version=world.version(content=b"2"), team=world.team, model_name="m"
        ),
        "unlink_model_version": lambda: services.unlink_model_version(actor=member, link=link),
        "add_model_alias": lambda: services.add_model_alias(actor=member, link=link, alias="qa"),
        "remove_model_alias": lambda: services.remove_model_alias(actor=member, link=link, alias="staging"),
        "add_model_tag": lambda: services.add_model_tag(actor=member, model=model, tag="u"),
        "remove_model_tag": lambda: services.remove_model_tag(actor=member, model=model, tag="t"),
        "update_model_description": lambda: services.update_model_description(
            actor=member, model=model, description="d"
        ),
        "set_model_notification": lambda: services.set_model_notification(actor=member, model=model, webhook=None),
        "declare_protected_alias": lambda: services.declare_protected_alias(actor=admin, team=world.team, alias="p2"),
        "remove_protected_alias": lambda: services.remove_protected_alias(actor=admin, team=world.team, alias="gold"),
        "add_registry_admin": lambda: services.add_registry_admin(actor=admin, team=world.team, user=world["member"]),
        "remove_registry_admin": lambda: services.remove_registry_admin(
            actor=admin, team=world.team, user=world["team_member"]
        ),
        "set_registry_ui_preference": lambda: services.set_registry_ui_preference(actor=member, registry_ui="legacy"),
    }


def test_every_legacy_service_is_listed():
    names = {
        name
        for name, fn in inspect.getmembers(services, inspect.isfunction)
        if fn.__module__ == services.__name__ and not name.startswith("_")
    }
    assert names - set(EXEMPT) == set(SERVICES)


SERVICES = [
    "create_registered_model",
    "link_model_version",
    "unlink_model_version",
    "add_model_alias",
    "remove_model_alias",
    "add_model_tag",
    "remove_model_tag",
    "update_model_description",
    "set_model_notification",
    "declare_protected_alias",
    "remove_protected_alias",
    "add_registry_admin",
    "remove_registry_admin",
    "set_registry_ui_preference",
]


@pytest.mark.parametrize("name", SERVICES)
def test_legacy_service_writes_an_audit_event(world, name):
    call = _calls(world)[name]
    before = AuditEvent.objects.count()
    call()
    assert AuditEvent.objects.count() > before, name
