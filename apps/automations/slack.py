"""Slack messages for automations: the event in Slack's Block Kit, with a button to the version's page.

Slack incoming webhooks take `{"text": …, "blocks": […]}`; `text` is the notification's fallback.
See https://api.slack.com/reference/block-kit/blocks.
"""

from django.conf import settings

from apps.automations.models import EventType

HEADER_MAX = 150  # Slack's limit for a header's plain text
FIELD_MAX = 2000  # and for a section field's text


def escape(text: str) -> str:
    """Slack's mrkdwn needs only &, < and > escaped; everything else is shown as written."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def absolute_url(path: str, site_url: str) -> str:
    """`path` on this server: SITE_URL when set, else the address the Slack channel was connected from."""
    base = (settings.SITE_URL or site_url or "").rstrip("/")
    return f"{base}{path}" if path and base else ""


def _event_title(values: dict) -> str:
    event_type = values.get("event_type", "")
    try:
        return EventType(event_type).label
    except ValueError:
        return event_type or "Registry event"


def message(values: dict, *, site_url: str = "") -> dict:
    """The Slack message for one event: a header, who/what/where fields, a link button, the automation."""
    title = _event_title(values)
    version = values.get("artifact_version_string") or ""
    collection = values.get("artifact_collection_name") or ""
    registry = values.get("registry_name") or ""
    author = values.get("event_author") or "someone"
    fields = []
    if collection:
        where = f"{collection} in {registry}" if registry else collection
        fields.append(f"*Collection*\n{escape(where)}")
    if version:
        fields.append(f"*Version*\n`{escape(version)}`")
    if values.get("alias"):
        fields.append(f"*Alias*\n`{escape(values['alias'])}`")
    if values.get("tag"):
        fields.append(f"*Tag*\n`{escape(values['tag'])}`")
    fields.append(f"*By*\n{escape(author)}")
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:HEADER_MAX], "emoji": False}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": field[:FIELD_MAX]} for field in fields]},
    ]
    url = absolute_url(values.get("version_url") or "", site_url)
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "View version"},
                        "url": url,
                        "action_id": "view_version",
                    }
                ],
            }
        )
    if values.get("automation_name"):
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Automation: {escape(values['automation_name'])}"}],
            }
        )
    text = escape(f"{title}: {version or collection} by {author}")
    if url:
        text += f" <{url}|View version>"
    return {"text": text, "blocks": blocks}
