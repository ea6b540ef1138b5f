"""Rules of the schema that no single app's tests see."""

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader

from lib.migrations import AlterFieldIndex


def _leading_field(index: models.UniqueConstraint | models.Index) -> str | None:
    """The field a unique constraint's or an index's B-tree starts with, if it starts with a plain field."""
    if index.fields:
        return index.fields[0].lstrip("-")
    first = index.expressions[0]
    return first if isinstance(first, str) else getattr(first, "name", None)


def test_no_foreign_key_has_an_index_that_another_index_already_starts_with():
    """A foreign key's own index is redundant where a unique constraint's or another index's B-tree starts with its
    column (and covers every row): lookups by the key read that one, and every insert would write both
    (docs/decisions.md, "No separate index on a foreign key")."""
    redundant = []
    for model in apps.get_models():
        if not model.__module__.startswith("apps."):
            continue
        indexes = [*model._meta.constraints, *model._meta.indexes]
        leading = {
            _leading_field(index)
            for index in indexes
            if isinstance(index, models.UniqueConstraint | models.Index) and index.condition is None
        }
        for field in model._meta.local_fields:
            if isinstance(field, models.ForeignKey) and field.db_index and field.name in leading:
                redundant.append(f"{model._meta.label}.{field.name}")
    assert redundant == [], f"set db_index=False on {redundant}"


@pytest.mark.django_db(transaction=True)
def test_alter_field_index_builds_and_drops_a_keys_own_index():
    """lib.migrations.AlterFieldIndex, as collections/0007 uses it on a link's collection: backwards it builds the
    key's own index again, forwards it drops it (CONCURRENTLY on PostgreSQL, outside a transaction), and the unique
    constraints stay."""
    loader = MigrationLoader(connection)
    before = loader.project_state(("collections", "0006_collection_link_count"), at_end=True)
    after = loader.project_state(("collections", "0007_no_redundant_foreign_key_indexes"), at_end=True)
    operation = AlterFieldIndex(
        model_name="link", name="collection", field=after.models["collections", "link"].fields["collection"]
    )

    def indexes() -> dict[str, list[str]]:
        with connection.cursor() as cursor:
            found = connection.introspection.get_constraints(cursor, "collections_link")
        return {
            name: info["columns"]
            for name, info in found.items()
            if (info["index"] or info["unique"]) and not info["primary_key"]
        }

    migrated = indexes()
    assert ["collection_id"] not in migrated.values() and ["collection_id", "index"] in migrated.values()
    with connection.schema_editor(atomic=False) as editor:
        operation.database_backwards("collections", editor, after, before)
    assert list(indexes().values()).count(["collection_id"]) == 1
    with connection.schema_editor(atomic=False) as editor:
        operation.database_forwards("collections", editor, before, after)
    assert indexes() == migrated
