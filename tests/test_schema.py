"""Rules of the schema that no single app's tests see."""

from django.apps import apps
from django.db import models


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
