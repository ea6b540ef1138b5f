"""Hand-written SQL for the hottest write path (docs/decisions.md, "Hand-written SQL"): one statement
where the ORM needs a locked read and an UPDATE. Called only by apps/artifacts/services.py, which keeps
the permission check, validation, audit event and transaction. Runs on SQLite (3.35+) and PostgreSQL."""

from django.db import connection


def take_sequence_index(project_id: int, name: str) -> tuple[int, str, int] | None:
    """Give the next index of the artifact `name` in a project: (sequence id, type, index), or None if
    there is no such artifact yet.

    The UPDATE locks the row until the transaction ends, so concurrent commits take consecutive
    indexes; a rollback gives the index back.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE artifacts_artifactsequence SET next_index = next_index + 1"
            " WHERE project_id = %s AND name = %s RETURNING id, type, next_index - 1",
            [project_id, name],
        )
        row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row else None
