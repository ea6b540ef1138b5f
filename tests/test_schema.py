"""Rules of the schema that no single app's tests see."""

from django.apps import apps
from django.db import models


def _leading_field(constraint: models.UniqueConstraint) -> str | None:
    """The field a unique constraint's index starts with, if it starts with a plain field."""
    if constraint.fields:
        return constraint.fields[0]
    first = constraint.expressions[0]
    return first if isinstance(first, str) else getattr(first, "name", None)


def test_no_foreign_key_has_an_index_that_a_unique_constraint_already_starts_with():
    """A foreign key's own index is redundant where a unique constraint's index starts with its column: lookups by
    the key read that one, and every insert would write two (docs/decisions.md, "Redundant foreign key indexes")."""
    redundant = []
    for model in apps.get_models():
        if not model.__module__.startswith("apps."):
            continue
        leading = {
            _leading_field(constraint)
            for constraint in model._meta.constraints
            if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None
        }
        for field in model._meta.local_fields:
            if isinstance(field, models.ForeignKey) and field.db_index and field.name in leading:
                redundant.append(f"{model._meta.label}.{field.name}")
    assert redundant == [], f"set db_index=False on {redundant}"
