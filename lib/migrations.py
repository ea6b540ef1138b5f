"""Migration operations that build and drop indexes without blocking writes on PostgreSQL, and run plainly on SQLite
(docs/deploy.md's rule for indexes on big tables: `CREATE INDEX CONCURRENTLY`, in a migration with `atomic = False`).

Django's own `AddIndexConcurrently` and `RemoveIndexConcurrently` (django.contrib.postgres) refuse other databases;
these are the same operations, and fall back to `AddIndex` and `RemoveIndex` there. `AlterFieldIndex` turns a
field's own index (`db_index`) on or off.
"""

from django.contrib.postgres import operations as postgres
from django.db.migrations.operations import AddIndex, AlterField, RemoveIndex
from django.db.models import Index


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


class AlterFieldIndex(AlterField):
    """`AlterField` for a change of `db_index` alone: builds or drops the field's own index and touches nothing else.
    On PostgreSQL it does so CONCURRENTLY (in a migration with `atomic = False`); on SQLite with one statement, where
    Django's `AlterField` copies the whole table into a new one."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # AlterField's backwards calls it too
        before = from_state.apps.get_model(app_label, self.model_name)
        after = to_state.apps.get_model(app_label, self.model_name)
        old, new = before._meta.get_field(self.name), after._meta.get_field(self.name)
        if old.db_index == new.db_index or old.db_parameters(schema_editor.connection) != new.db_parameters(
            schema_editor.connection
        ):
            raise ValueError(f"AlterFieldIndex changes db_index alone; {self.model_name}.{self.name} changes more")
        options = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
        if new.db_index:
            schema_editor.execute(schema_editor._create_index_sql(after, fields=[new], **options))
            return
        for name in schema_editor._constraint_names(before, [old.column], index=True, type_=Index.suffix):
            schema_editor.execute(schema_editor._delete_index_sql(before, name, **options))
