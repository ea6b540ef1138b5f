"""Hand-written SQL for the legacy banner, read on every Registry landing and registry page (docs/decisions.md,
"Hand-written SQL"): building the ORM's query (a membership join, an EXISTS, two joined annotations and a
subquery) cost more than a millisecond a page, running it a fifth of that. Runs on SQLite and PostgreSQL;
tests/legacy/test_banner.py covers what it answers."""

import functools

from django.db import connection

from apps.orgs.models import Organization, Team
from lib.rows import build, select_list, width


@functools.cache
def _spec() -> tuple:
    return (
        (Team, "t", ("id", "org_id", "name", "group_id", "created_at")),
        (Organization, "o", ("id", "slug", "name")),
    )


def teams_with_legacy_content(user_id: int, *, org_id: int | None = None, team_id: int | None = None) -> list[Team]:
    """The user's teams (in `org_id`, or just team `team_id` whoever is in it) holding registered models, by name,
    each with its org, `migrated_to` and `migrated_registry` (its migration's registry name and slug, or None)
    and `preference` (the user's registry_ui, or None)."""
    spec = _spec()
    conditions, params = ["EXISTS (SELECT 1 FROM legacy_registeredmodel m WHERE m.team_id = t.id)"], [user_id]
    if team_id is None:
        conditions.append("t.id IN (SELECT tm.team_id FROM orgs_teammembership tm WHERE tm.user_id = %s)")
        params.append(user_id)
    else:
        conditions.append("t.id = %s")
        params.append(team_id)
    if org_id is not None:
        conditions.append("t.org_id = %s")
        params.append(org_id)
    query = (
        f"SELECT {select_list(spec)}, lm.registry_name, r.slug,"
        " (SELECT p.registry_ui FROM legacy_legacypreference p WHERE p.user_id = %s)"
        " FROM orgs_team t JOIN orgs_organization o ON o.id = t.org_id"
        " LEFT JOIN legacy_legacymigration lm ON lm.team_id = t.id"
        " LEFT JOIN registries_registry r ON r.id = lm.registry_id"
        f" WHERE {' AND '.join(conditions)} ORDER BY t.name"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    teams, at = [], width(spec)
    for row in rows:
        instances = build(row, spec)
        team = instances["team"]
        team.org = instances["organization"]
        team.migrated_to, team.migrated_registry, team.preference = row[at : at + 3]
        teams.append(team)
    return teams
