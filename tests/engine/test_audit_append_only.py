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


def test_database_rejects_truncate_of_the_audit_table(world):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only triggers are installed on PostgreSQL")
    with transaction.atomic(), connection.cursor() as cursor:
        # The suite's own database has the trigger off (tests/conftest.py); production has it on.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred FK checks
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_no_truncate")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("TRUNCATE audit_auditevent CASCADE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_truncate")
    assert AuditEvent.objects.exists()
