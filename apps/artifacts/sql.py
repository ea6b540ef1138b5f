"""Hand-written SQL for the hottest write path (docs/decisions.md, "Hand-written SQL"): one statement
where the ORM needs a locked read and an UPDATE. Called only by apps/artifacts/services.py, which keeps
the permission check, validation, audit event and transaction. Runs on SQLite (3.35+) and PostgreSQL."""

from django.db import connection

from apps.artifacts.models import Project
from apps.orgs.models import Organization, Team
from lib.rows import build, select_list


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


PROJECT_SPEC = (
    (Project, "p", ("id", "team_id", "name", "description", "created_at")),
    (Team, "t", ("id", "org_id", "name", "group_id")),
    (Organization, "o", ("id", "slug", "name", "has_automations")),
)


def find_project(user_id: int, team_name: str, name: str) -> tuple[Project, bool, str | None] | None:
    """The project `<team_name>/<name>` with its team and org, whether user `user_id` is in the team, and
    their role in the org (None if not a member); None if there is no such project. One statement: the
    caller decides visibility and write access from the two answers."""
    query = (
        f"SELECT {select_list(PROJECT_SPEC)},"
        " EXISTS (SELECT 1 FROM orgs_teammembership tm WHERE tm.team_id = t.id AND tm.user_id = %s),"
        " (SELECT m.role FROM orgs_membership m WHERE m.org_id = t.org_id AND m.user_id = %s)"
        " FROM artifacts_project p JOIN orgs_team t ON t.id = p.team_id JOIN orgs_organization o ON o.id = t.org_id"
        " WHERE t.name = %s AND p.name = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [user_id, user_id, team_name, name])
        row = cursor.fetchone()
    if row is None:
        return None
    instances = build(row, PROJECT_SPEC)
    project, team = instances["project"], instances["team"]
    project.team, team.org = team, instances["organization"]
    return project, bool(row[-2]), row[-1]
