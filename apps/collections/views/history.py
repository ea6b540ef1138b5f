"""The History lists of collection and version pages: rows, wording and filters."""

from html import escape

from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from apps.audit.models import Action, AuditEvent
from apps.audit.views import SERVICE_ACCOUNT_BADGE, AuditFilterForm


def when(moment) -> dict[str, str]:
    """A timestamp as `<time>` wants it; strftime is several times cheaper than the date filter per row."""
    local = timezone.localtime(moment)
    return {"iso": local.isoformat(), "text": local.strftime("%Y-%m-%d %H:%M")}


def history_rows(events: list[AuditEvent]) -> list[dict]:
    return [{"event": event, "when": when(event.created_at), "text": event.describe()} for event in events]


def history_items(rows: list[dict]) -> SafeString:
    """The `<li>`s of a History list, written here rather than by a template loop (issue 17; the markup the
    loop wrote, every value escaped: tests/collections/test_history_items.py)."""
    items = []
    for row in rows:
        event = row["event"]
        badge = SERVICE_ACCOUNT_BADGE if getattr(event.actor, "service_account", None) else ""
        items.append(
            f'<li><time datetime="{escape(row["when"]["iso"])}">{escape(row["when"]["text"])}</time>'
            f" <strong>{escape(event.actor_username or 'system')}</strong>{badge} {escape(row['text'])}</li>"
        )
    return mark_safe("\n".join(items))  # noqa: S308 (every value above escaped)


# What a collection's or a version's History can hold (describe_event words each of them).
HISTORY_ACTIONS = [
    Action.COLLECTION_CREATE,
    Action.COLLECTION_LINK,
    Action.COLLECTION_UNLINK,
    Action.COLLECTION_RENAME,
    Action.COLLECTION_UPDATE,
    Action.COLLECTION_ADD_TAG,
    Action.COLLECTION_REMOVE_TAG,
    Action.ALIAS_ADD,
    Action.ALIAS_REMOVE,
    Action.VERSION_ADD_TAG,
    Action.VERSION_REMOVE_TAG,
    Action.VERSION_UPDATE,
    Action.ARTIFACT_CREATE,
    Action.ARTIFACT_COMMIT,
    Action.RUN_USE_ARTIFACT,
]


def history_filter_form(request: HttpRequest) -> AuditFilterForm:
    """The audit pages' filters (actor, action) for a History list, as `history-<field>` parameters."""
    return AuditFilterForm(request.GET or None, prefix="history", actions=HISTORY_ACTIONS)
