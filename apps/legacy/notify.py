"""A registered model's "New version linked" notification, sent after the link commits.

Legacy models are not Registry collections, so they have no Automation rows: the notification is a
field on the model naming where to send it. `NOTIFIERS` maps a kind to its sender, so another kind
(Slack, when apps/automations has it) is one entry; today the only kind is a webhook, delivered with
the automations' own request builder and SSRF-safe POST.
"""

import logging

from django_tasks import task

from apps.audit.models import Action, AuditEvent
from apps.automations.models import DEFAULT_PAYLOAD, EventType
from apps.automations.tasks import build_request, post_json, target_url
from apps.legacy.models import LEGACY_PROJECT, ModelLink

logger = logging.getLogger(__name__)


def link_variables(link: ModelLink, author: str) -> dict:
    """The automation payload variables of a legacy link (W&B's `<entity>/model-registry/<name>:vN`)."""
    model = link.model
    return {
        "event_type": str(EventType.LINK_ARTIFACT),
        "event_author": author,
        "alias": "",
        "tag": "",
        "artifact_collection_name": model.name,
        "artifact_version": "",
        "artifact_version_string": f"{model.team.name}/{LEGACY_PROJECT}/{model.name}:{link.version_label}",
        "artifact_version_index": link.index,
        "entity_name": model.team.name,
        "project_name": LEGACY_PROJECT,
    }


def send_webhook(link: ModelLink, author: str) -> int | None:
    webhook = link.model.notify_webhook
    body, _, headers = build_request(webhook, DEFAULT_PAYLOAD, link_variables(link, author))
    response = post_json(target_url(webhook), body, headers)  # a Slack channel's URL is a secret
    if response.error:
        logger.warning("legacy notification to %s failed: %s", webhook.name, response.error)
    return response.status


NOTIFIERS = {"webhook": send_webhook}


@task()
def deliver_link_notification(link_id: int, author: str) -> int | None:
    """Send the notifications of one new legacy link (one attempt; the receiver is a third party)."""
    link = ModelLink.objects.select_related("model__team", "model__notify_webhook").filter(pk=link_id).first()
    if link is None or link.model.notify_webhook is None:
        return None
    return NOTIFIERS["webhook"](link, author)


def notify_for_event(event: AuditEvent) -> None:
    """Audit subscriber: a committed legacy link whose model has a notification queues its delivery."""
    if event.action != Action.COLLECTION_LINK or event.target_type != ModelLink._meta.model_name:
        return
    if ModelLink.objects.filter(pk=event.target_id, model__notify_webhook__isnull=False).exists():
        deliver_link_notification.enqueue(int(event.target_id), event.actor_username)
