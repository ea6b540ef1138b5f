"""The admin's "Migrate" action runs here, in `manage.py db_worker` (Django's Tasks API)."""

from django_tasks import task

from apps.audit.services import AuditContext, reset_context, set_context
from apps.legacy.migration import migrate_team
from apps.orgs.models import Team
from apps.orgs.permissions import SYSTEM_ACTOR


@task()
def migrate_legacy_registry_task(team_id: int) -> list[str]:
    """Migrate one team's legacy registry as the system; the report's lines are the task's result."""
    team = Team.objects.select_related("org").get(pk=team_id)
    token = set_context(AuditContext(detail="system:worker"))
    try:
        return migrate_team(actor=SYSTEM_ACTOR, team=team).lines()
    finally:
        reset_context(token)
