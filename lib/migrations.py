"""Migration operations that build and drop indexes without blocking writes on PostgreSQL, and run plainly on SQLite
(docs/deploy.md's rule for indexes on big tables: `CREATE INDEX CONCURRENTLY`, in a migration with `atomic = False`).

Django's own `AddIndexConcurrently` and `RemoveIndexConcurrently` (django.contrib.postgres) refuse other databases;
these are the same operations, and fall back to `AddIndex` and `RemoveIndex` there.
"""

from django.contrib.postgres import operations as postgres
from django.db.migrations.operations import AddIndex, RemoveIndex


class _PlainElsewhere:
    """PostgreSQL's concurrent operation on PostgreSQL, `plain` on any other database."""

    plain: type

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrently(_PlainElsewhere, postgres.AddIndexConcurrently):
    plain = AddIndex


class RemoveIndexConcurrently(_PlainElsewhere, postgres.RemoveIndexConcurrently):
    plain = RemoveIndex
