"""Remove what interrupted uploads leave behind: `manage.py cleanup_storage [--dry-run] [--older-than HOURS]`."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from apps.artifacts.services import STALE_AFTER, cleanup_storage
from apps.artifacts.tasks import report_counts, schedule_cleanup
from apps.audit.services import AuditContext, reset_context, set_context
from apps.orgs.permissions import SYSTEM_ACTOR


def hours(value: str) -> datetime.timedelta:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"--older-than takes a number of hours, not {value!r}.") from None
    if not number > 0 or number == float("inf"):
        raise CommandError("--older-than must be a positive number of hours.")
    return datetime.timedelta(hours=number)


class Command(BaseCommand):
    help = (
        "Delete pending versions, unreferenced blobs, orphan bytes and staged uploads older than a threshold, "
        "and idle upload temp files; delete versions whose time-to-live ran out (unless linked) and release "
        "the files of versions deleted longer ago than ARTIFACT_DELETE_RETENTION_DAYS. The task worker runs "
        "this every hour."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            default=str(STALE_AFTER.total_seconds() / 3600),
            metavar="HOURS",
            help="Only remove what is older than this many hours (default: %(default)s).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List what would go; change nothing.")
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="Do not clean here: have the task worker run the cleanup now and then hourly (unless one is queued).",
        )

    def handle(self, *args, older_than, dry_run, schedule, **options):
        if schedule:
            queued = schedule_cleanup(delay=datetime.timedelta(0))
            self.stdout.write(
                "Queued the storage cleanup (then hourly)." if queued else "A storage cleanup is already queued."
            )
            return
        token = set_context(AuditContext(detail="system:cleanup_storage"))
        try:
            report = cleanup_storage(actor=SYSTEM_ACTOR, older_than=hours(older_than), dry_run=dry_run)
        finally:
            reset_context(token)
        verb = "Would remove" if dry_run else "Removed"
        for name in report.versions:
            self.stdout.write(f"{verb} pending version {name}")
        for name in report.expired:
            self.stdout.write(f"{'Would delete' if dry_run else 'Deleted'} expired version {name} (time-to-live)")
        for name in report.purged:
            self.stdout.write(f"{'Would release' if dry_run else 'Released'} the files of deleted version {name}")
        for sha256, size in report.blobs:
            self.stdout.write(f"{verb} blob {sha256} ({size} bytes)")
        for sha256, size in report.orphans:
            self.stdout.write(f"{verb} orphan bytes {sha256} ({size} bytes)")
        for leftover in report.leftovers:
            self.stdout.write(f"{verb} {leftover.kind} {leftover.name} ({leftover.size} bytes)")
        counts = report_counts(report)
        self.stdout.write(f"{verb}: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))
