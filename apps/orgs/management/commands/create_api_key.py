"""Print a new API key for a user: `manage.py create_api_key <username> [--name N]`."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import AuditContext, reset_context, set_context
from apps.orgs.services import create_api_key


class Command(BaseCommand):
    help = "Create an API key for a user and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="A label to tell keys apart (default: cli).")

    def handle(self, *args, username, name, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        token = set_context(AuditContext(detail="system:create_api_key"))
        try:
            # Whoever runs manage.py already controls the instance; act as the user themselves.
            _, raw = create_api_key(actor=user, user=user, name=name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        finally:
            reset_context(token)
        self.stdout.write(raw)
