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
        run = super().database_forwards if self._concurrently(schema_editor) else self._plain().database_forwards
        run(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        run = super().database_backwards if self._concurrently(schema_editor) else self._plain().database_backwards
        run(app_label, schema_editor, from_state, to_state)

    @staticmethod
    def _concurrently(schema_editor) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def _plain(self):
        return self.plain(*self.deconstruct()[1], **self.deconstruct()[2])


class AddIndexConcurrently(_PlainElsewhere, postgres.AddIndexConcurrently):
    plain = AddIndex


class RemoveIndexConcurrently(_PlainElsewhere, postgres.RemoveIndexConcurrently):
    plain = RemoveIndex
