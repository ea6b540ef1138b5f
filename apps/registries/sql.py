"""Hand-written SQL for the registry permission lookups every list and page runs (docs/decisions.md,
"Hand-written SQL"): the ORM built the same subqueries in more Python time than the database took to
run them. Runs on SQLite and PostgreSQL; tests/collections/test_sql.py runs each on both."""

import functools

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models.expressions import RawSQL

# registries.models imports this module (Registry.objects.with_perm), so its models are looked up by name.


@functools.cache
def _sources() -> list[tuple[str, str]]:
    """(table, condition on user %s) of the two places a registry permission is granted."""
    groups = get_user_model().groups.through._meta.db_table
    direct, grouped = (
        apps.get_model("registries", name)._meta.db_table
        for name in ("RegistryUserObjectPermission", "RegistryGroupObjectPermission")
    )
    return [
        (direct, "x.user_id = %s"),
        (grouped, f"x.group_id IN (SELECT ug.group_id FROM {groups} ug WHERE ug.user_id = %s)"),
    ]


def granted() -> str:
    """(registry_id, codename) of every registry permission held by user %s directly or through group of user %s."""
    return " UNION ALL ".join(
        f"SELECT x.content_object_id AS registry_id, ap.codename FROM {table} x"
        f" JOIN {Permission._meta.db_table} ap ON ap.id = x.permission_id WHERE {where}"
        for table, where in _sources()
    )


def registries_with(user_id: int, codename: str) -> RawSQL:
    """The ids of the registries where user `user_id` holds `codename`, directly or through a group: a
    subquery for `pk__in`."""
    return RawSQL(f"SELECT g.registry_id FROM ({granted()}) g WHERE g.codename = %s", [user_id, user_id, codename])
