"""The audit table refuses UPDATE and DELETE in PostgreSQL itself (a trigger)."""

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AuditEvent


def test_database_rejects_update_and_delete_of_audit_rows(world):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is installed on PostgreSQL")
    event = AuditEvent.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="registry:delete")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET data = '{}' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.action != "registry:delete"


def test_deleting_a_user_keeps_their_events_with_the_snapshot(world):
    user = world["member"]
    from apps.registries.services import star_registry

    star_registry(actor=user, registry=world.registry)
    user.delete()
    event = AuditEvent.objects.get(action="registry:star")
    assert event.actor is None
    assert event.actor_username == "member"
