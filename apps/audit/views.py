"""Audit views' shared machinery: filter form, keyset pages and streamed exports.

The pages themselves live in the apps that own the scope (org-wide in orgs, per registry in registries,
per collection/version in collections); they pass their already-visible queryset here.
"""

import csv
import datetime as dt
import json
from html import escape

from django import forms
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from apps.audit.models import Action, AuditEventQuerySet
from lib.forms import QuickSelect

PAGE_SIZE = 50
EXPORT_FIELDS = [
    "id", "created_at", "actor_username", "actor_detail", "actor_ip", "org_slug", "action",
    "target_type", "target_id", "target_repr", "registry_pk", "collection_pk", "version_pk", "data",
]  # fmt: skip


class AuditFilterForm(forms.Form):
    """Filters shared by every audit page and export."""

    actor = forms.CharField(required=False, max_length=150, label="Actor")
    action = forms.ChoiceField(required=False, label="Action", widget=QuickSelect)  # ~100 actions
    target = forms.CharField(required=False, max_length=200, label="Target contains")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actions: list[Action] | None = None, **kwargs):
        """`actions` narrows the Action choices (a History list offers only what can appear in it)."""
        super().__init__(*args, **kwargs)
        actions = actions or list(Action)
        prefixes = sorted({action.value.split(":")[0] + ":" for action in actions})
        self.fields["action"].choices = (
            [("", "Any action")] + [(p, f"{p}*") for p in prefixes] + [(a.value, a.label) for a in actions]
        )

    def apply(self, events: AuditEventQuerySet) -> AuditEventQuerySet:
        """The events matching the valid filters (invalid fields are ignored and shown as errors)."""
        data = self.cleaned_data if self.is_valid() else {}
        start, end = data.get("start"), data.get("end")
        return events.matching(
            actor=data.get("actor", ""),
            action=data.get("action", ""),
            target=data.get("target", ""),
            start=dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC) if start else None,
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC) if end else None,
        )


def audit_page_context(request: HttpRequest, events: AuditEventQuerySet) -> dict:
    """Context for templates/audit/_events.html: filter form, one keyset page, next cursor."""
    form = AuditFilterForm(request.GET or None)
    before = request.GET.get("before", "")
    rows, next_cursor = form.apply(events).page(int(before) if before.isdigit() else None, PAGE_SIZE)
    return {"audit_form": form, "audit_events": rows, "audit_rows": event_rows(rows), "audit_next": next_cursor}


# The badge beside a service account's name, as templates/orgs/_user.html writes it without the title.
SERVICE_ACCOUNT_BADGE = ' <span class="badge badge-service">service account</span>'


def _detail(item: dict) -> str:
    label = f'<span class="muted">{escape(item["label"])}</span> ' if item["label"] else ""
    if "before" in item:
        return f'<span class="detail">{label}<span class="before">{escape(item["before"])}</span> → <span class="after">{escape(item["after"])}</span></span>'
    return f'<span class="detail">{label}{escape(item["value"])}</span>'


def event_row(event) -> str:
    """One `<tr>` of the audit table (every value escaped); the actor's service account selected with it."""
    actor = escape(event.actor_username or "system")
    if getattr(event.actor, "service_account", None):
        actor += SERVICE_ACCOUNT_BADGE
    if event.actor_detail and event.actor_detail != "web":
        actor += f' <span class="muted">({escape(event.actor_detail)})</span>'
    if event.actor_ip:
        actor += f'<br><span class="muted">{escape(event.actor_ip)}</span>'
    details = "".join(_detail(item) for item in event.details()) or '<span class="muted">—</span>'
    when = timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f'<tr><td class="nowrap"><time datetime="{event.created_at.isoformat()}">{when}</time></td>'
        f"<td>{actor}</td>"
        f'<td class="nowrap"><code>{escape(event.action)}</code></td>'
        f"<td>{escape(event.target_repr)}</td>"
        f'<td class="audit-details">{details}</td></tr>'
    )


def event_rows(events) -> SafeString:
    """The audit table's rows, written here rather than by a template loop: 50 rows of a dozen template
    nodes each were half of an audit page's time (issue 17); tests/audit/test_event_rows.py holds the
    markup to the template's."""
    return mark_safe("\n".join(event_row(event) for event in events))  # noqa: S308 (event_row escapes every value)


def _csv_rows(events):
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for event in events:
        yield writer.writerow([json.dumps(event.data) if f == "data" else getattr(event, f) for f in EXPORT_FIELDS])


def _ndjson_rows(events):
    for event in events:
        row = {f: getattr(event, f) for f in EXPORT_FIELDS}
        row["created_at"] = event.created_at.isoformat()
        yield json.dumps(row, default=str) + "\n"


def export_response(request: HttpRequest, events: AuditEventQuerySet, filename: str) -> StreamingHttpResponse:
    """Stream the filtered events as CSV or NDJSON (`?format=`), in constant memory."""
    form = AuditFilterForm(request.GET or None)
    # .iterator() streams rows from the database cursor instead of caching the whole result.
    rows = form.apply(events).order_by("-id").iterator(chunk_size=2000)
    if request.GET.get("format") == "ndjson":
        response = StreamingHttpResponse(_ndjson_rows(rows), content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="{filename}.ndjson"'
    else:
        response = StreamingHttpResponse(_csv_rows(rows), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
