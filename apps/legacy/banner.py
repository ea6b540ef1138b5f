"""What the banner between the new Registry and the legacy Model Registry says to one user (one query).

Legacy pages offer the new Registry ("A new Registry is available"), or, after the team's
migration, say where its models went. Registry pages show the way back while one of the user's
teams in that organization still has a legacy registry with content. With ENABLE_REGISTRY_UI off,
the legacy registry is the only one: no banner offers the new one.
"""

from django.conf import settings
from django.urls import reverse

from apps.legacy.sql import teams_with_legacy_content
from apps.orgs.models import Team


def _teams(user, org_id: int | None = None, team_id: int | None = None) -> list[Team]:
    """The user's teams (in `org_id`, or just `team_id`) with legacy content (registered models), their
    migration and the user's preference: one hand-written statement (apps/legacy/sql.py).

    Teams without legacy content are left out by the query: an org admin is in every team (100 at
    company size), and building them all to keep none cost every Registry page milliseconds.
    """
    return teams_with_legacy_content(user.pk, org_id=org_id, team_id=team_id)


def banner_context(user, *, legacy_team: Team | None = None, org=None) -> dict:
    """`legacy_banner`: None or a dict with `kind` (offer-new, way-back, migrated), team, preference, registry."""
    if not user.is_authenticated or not settings.ENABLE_REGISTRY_UI:
        return {"legacy_banner": None}
    if legacy_team is not None:
        # A team with nothing in its legacy registry sees no banner (there is nothing to switch from).
        rows = _teams(user, team_id=legacy_team.pk)
    elif org is not None:
        rows = _teams(user, org_id=org.pk)
    else:
        return {"legacy_banner": None}
    if not rows:
        return {"legacy_banner": None}
    team = rows[0]
    kind = "migrated" if team.migrated_to else ("offer-new" if legacy_team is not None else "way-back")
    registry_url = ""
    if team.migrated_registry:
        registry_url = reverse("collections:registry_detail", args=[team.org.slug, team.migrated_registry])
    return {
        "legacy_banner": {
            "kind": kind,
            "team": team,
            "teams": rows,
            "preference": team.preference or "",
            "registry_name": team.migrated_to or "",
            "registry_url": registry_url,
        }
    }


def legacy_nav(user) -> list[Team]:
    """The user's teams with a legacy registry to open from the sidebar while the Registry App is off (one query)."""
    if not user.is_authenticated:
        return []
    return [team for team in _teams(user) if not team.migrated_to]
