"""Hand-written SQL for the hottest path of all, API-key authentication (every API request; docs/decisions.md,
"Hand-written SQL"): building the ORM's query cost more than running it. Called only by
ApiKey.objects.authenticate. Runs on SQLite and PostgreSQL (tests/api/test_auth.py)."""

from django.contrib.auth import get_user_model
from django.db import connection

from lib.rows import build, select_list

KEY_FIELDS = ("id", "user_id", "name", "prefix", "last_used_at")
USER_FIELDS = ("id", "username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")


def active_key(model, hashed_key: str):
    """The unrevoked key (of `model`, ApiKey) with this hash, of an active user, with its user; or None."""
    user_model = get_user_model()
    spec = ((model, "k", KEY_FIELDS), (user_model, "u", USER_FIELDS))
    query = (
        f"SELECT {select_list(spec)} FROM {model._meta.db_table} k"
        f" JOIN {user_model._meta.db_table} u ON u.id = k.user_id"
        " WHERE k.hashed_key = %s AND k.revoked_at IS NULL AND u.is_active"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [hashed_key])
        row = cursor.fetchone()
    if row is None:
        return None
    instances = build(row, spec)
    key = instances[model._meta.model_name]
    key.user = instances[user_model._meta.model_name]
    return key
