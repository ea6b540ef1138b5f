"""manage.py migrate_legacy_registry [--team T] [--dry-run]: copy legacy Model Registries into Registry."""

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import AuditContext, reset_context, set_context
from apps.legacy.migration import migrate_team, teams_with_legacy_content
from apps.orgs.permissions import SYSTEM_ACTOR


class Command(BaseCommand):
    help = (
        "Migrate each team's legacy Model Registry into a Restricted registry <team>-mr-migrated. "
        "Idempotent and resumable; --dry-run writes nothing and prints the same report."
    )

    def add_arguments(self, parser):
        parser.add_argument("--team", help="Only this team (its name).")
        parser.add_argument("--dry-run", action="store_true", help="Write nothing; print what would happen.")

    def handle(self, *args, team=None, dry_run=False, **options):
        teams = list(teams_with_legacy_content(team))
        if team and not teams:
            raise CommandError(f"No team named “{team}”.")
        if not teams:
            self.stdout.write("No team has a legacy Model Registry with content: nothing to migrate.")
            return
        token = set_context(AuditContext(detail="system:migrate_legacy_registry"))
        try:
            for row in teams:
                report = migrate_team(actor=SYSTEM_ACTOR, team=row, dry_run=dry_run)
                for line in report.lines():
                    self.stdout.write(line)
                self.stdout.flush()
        finally:
            reset_context(token)
