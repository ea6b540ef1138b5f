"""Hand-written SQL for the API's hottest paths (docs/decisions.md, "Hand-written SQL"), where building
the ORM's query cost more than running it. Called only by this app's services and path lookups, which
keep the permission checks, validation, audit events and transactions. Runs on SQLite (3.35+) and
PostgreSQL; tests/collections/test_sql.py runs each on both."""

from django.db import connection
from django.utils import timezone


def take_link_index(registry_id: int, name: str) -> tuple[int, str, str, int] | None:
    """Give the next link index of the collection `name` (case-insensitive) in a registry:
    (collection id, name, type, index), or None if there is no such collection.

    The UPDATE locks the row until the transaction ends, so concurrent links take consecutive
    indexes; a rollback gives the index back. `lower(name)` is the unique index's own expression.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE collections_collection SET next_index = next_index + 1, updated_at = %s"
            " WHERE registry_id = %s AND lower(name) = lower(%s) RETURNING id, name, type, next_index - 1",
            [connection.ops.adapt_datetimefield_value(timezone.now()), registry_id, name],
        )
        row = cursor.fetchone()
    return (row[0], row[1], row[2], row[3]) if row else None
