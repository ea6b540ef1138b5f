"""Background delivery of automation runs (Django's Tasks API; `manage.py db_worker` runs them).

Also the network edge: URL safety checks and the HTTP POST itself, shared with the webhook Test button.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from apps.artifacts.models import ArtifactVersion
from apps.automations import slack
from apps.automations.models import (
    ACCESS_TOKEN,
    RESPONSE_EXCERPT_MAX,
    AutomationRun,
    RunStatus,
    Webhook,
    render_payload,
)

logger = logging.getLogger(__name__)

MASK = "••••••"
USER_AGENT = "Registry-Automations/1.0"
# Retrying these can succeed; any other 4xx would fail the same way again.
RETRYABLE_4XX = {408, 409, 425, 429}


class UnsafeURL(ValidationError):
    """The URL is not http(s), or resolves to an address webhooks may not reach."""


@dataclass
class Response:
    status: int | None
    body: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status >= 500 or self.status in RETRYABLE_4XX


# --- the network edge ---------------------------------------------------------------------------


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Private, loopback, link-local (cloud metadata 169.254.169.254), CGNAT, multicast, reserved…"""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def resolve_public_addresses(url: str) -> tuple[str, int, list[str]]:
    """Check a webhook URL and resolve its host: (host, port, addresses). Raises UnsafeURL.

    SECURITY: every resolved address must be public (unless AUTOMATION_ALLOW_PRIVATE_URLS), and the
    POST then connects to one of these very addresses, so a DNS answer cannot change in between.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeURL({"url": "Use an http:// or https:// URL."})
    if parts.username or parts.password:
        raise UnsafeURL({"url": "Put credentials in an access token, not in the URL."})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeURL({"url": "The port is not valid."}) from error
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeURL({"url": f"Cannot resolve host “{parts.hostname}”."}) from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.AUTOMATION_ALLOW_PRIVATE_URLS:
        for address in addresses:
            if _refused(ipaddress.ip_address(address.split("%", 1)[0])):
                raise UnsafeURL(
                    {
                        "url": f"“{parts.hostname}” resolves to {address}, a private or internal address; "
                        "webhooks may only call public addresses."
                    }
                )
    return parts.hostname, port, addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an already checked address, while Host stays the URL's host."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS verified against the URL's host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def target_url(webhook: Webhook) -> str:
    """Where to POST: the webhook's URL, or a Slack channel's incoming-webhook URL (decrypted)."""
    return webhook.url_secret.reveal() if webhook.is_slack else webhook.url


def post_json(url: str, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` to `url` (no redirects followed); never raises for network trouble."""
    try:
        host, port, addresses = resolve_public_addresses(url)
    except UnsafeURL as error:
        return Response(None, "", error="; ".join(error.messages))
    parts = urlsplit(url)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    connection = connection_class(host, port, address=addresses[0], timeout=settings.AUTOMATION_WEBHOOK_TIMEOUT)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT_MAX)
        return Response(response.status, excerpt.decode("utf-8", errors="replace")[:RESPONSE_EXCERPT_MAX])
    except (OSError, http.client.HTTPException) as error:
        return Response(None, "", error=f"{type(error).__name__}: {error}"[:500])
    finally:
        connection.close()


def sign(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(body, secret)): the X-Wandb-Signature scheme."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def build_request(webhook: Webhook, template: str, values: dict) -> tuple[bytes, str, dict[str, str]]:
    """(body, body with secrets masked, headers) for a POST of `template` to `webhook`.

    A Slack channel gets a Block Kit message instead of the template (its URL is the secret, not the body).
    """
    if webhook.is_slack:
        body = json.dumps(slack.message(values, site_url=webhook.site_url), ensure_ascii=False)
        return body.encode(), body, {}
    secrets: dict[str, str] = {}
    headers: dict[str, str] = {}
    if webhook.access_token is not None:
        token = webhook.access_token.reveal()
        secrets[ACCESS_TOKEN] = token
        headers["Authorization"] = f"Bearer {token}"
    if webhook.signing_secret is not None:
        secrets[webhook.signing_secret.name] = webhook.signing_secret.reveal()
    masked = dict.fromkeys(secrets, MASK)
    body = render_payload(template, {**values, **secrets}).encode()
    if webhook.signing_secret is not None:
        signature = sign(body, secrets[webhook.signing_secret.name])
        headers["X-Registry-Signature"] = signature
        headers["X-Wandb-Signature"] = signature
    return body, render_payload(template, {**values, **masked}), headers


# --- delivery -----------------------------------------------------------------------------------


@task()
def deliver_run(run_id: int) -> str:
    """Deliver one automation run (one attempt; a failure re-enqueues it with a delay)."""
    return attempt_delivery(run_id)


def enqueue_delivery(run_id: int, delay: float = 0) -> None:
    """Queue a delivery, `delay` seconds from now where the backend can defer."""
    runner = deliver_run
    if delay > 0 and runner.get_backend().supports_defer:
        runner = runner.using(run_after=timezone.now() + datetime.timedelta(seconds=delay))
    runner.enqueue(run_id)


def _metadata(values: dict) -> dict:
    """The version's metadata (versions are immutable, so reading it at send time is exact)."""
    version_pk = values.get("version_pk")
    if not version_pk:
        return {}
    return ArtifactVersion.objects.filter(pk=version_pk).values_list("metadata", flat=True).first() or {}


def attempt_delivery(run_id: int) -> str:
    """Send a Pending run once: 2xx finishes it; a failure retries with backoff, then fails it."""
    # Count the attempt first, and only while Pending: a run is never sent after it finished.
    if not AutomationRun.objects.filter(pk=run_id, status=RunStatus.PENDING).update(attempts=F("attempts") + 1):
        return "not pending"
    run = AutomationRun.objects.select_related(
        "automation__webhook__access_token", "automation__webhook__signing_secret", "automation__webhook__url_secret"
    ).get(pk=run_id)
    automation = run.automation
    values = {**run.variables, "automation_name": automation.name, "artifact_metadata": _metadata(run.variables)}
    try:
        body, masked, headers = build_request(automation.webhook, automation.payload_template, values)
        url = target_url(automation.webhook)
    except ValidationError as error:  # a secret that can no longer be decrypted: retrying will not help
        return _finish(run, RunStatus.FAILED, Response(None, "", error="; ".join(error.messages)), "")
    response = post_json(url, body, headers)
    if response.ok:
        return _finish(run, RunStatus.FINISHED, response, masked)
    if response.retryable and run.attempts < settings.AUTOMATION_MAX_ATTEMPTS:
        delay = settings.AUTOMATION_RETRY_BACKOFF * 2 ** (run.attempts - 1)
        with transaction.atomic():
            _save_response(run, response, masked, note=f"attempt {run.attempts} failed; retrying in {delay:g} s")
            transaction.on_commit(partial(enqueue_delivery, run.pk, delay))
        return "retrying"
    return _finish(run, RunStatus.FAILED, response, masked)


def _describe(response: Response) -> str:
    return response.error or (f"HTTP {response.status}" if not response.ok else "")


def _save_response(run: AutomationRun, response: Response, masked: str, note: str = "") -> None:
    run.payload = masked
    run.response_status = response.status
    run.response_body = response.body
    run.error = "; ".join(part for part in [_describe(response), note] if part)
    run.save(update_fields=["payload", "response_status", "response_body", "error", "status", "finished_at"])


def _finish(run: AutomationRun, status: RunStatus, response: Response, masked: str) -> str:
    run.status = status
    run.finished_at = timezone.now()
    note = ""
    if status == RunStatus.FAILED:
        note = f"failed after {run.attempts} attempt{'s' if run.attempts != 1 else ''}"
        logger.warning("Automation run %s %s: %s", run.pk, note, _describe(response))
    _save_response(run, response, masked, note=note)
    return status


def sample_values(extra: dict | None = None) -> dict:
    """Example variable values for validating templates and for the webhook Test button."""
    return {
        "event_type": "LINK_ARTIFACT",
        "event_author": "someone",
        "alias": "production",
        "tag": "candidate",
        "artifact_collection_name": "classifier",
        "artifact_version": "wandb-artifact://_id/QXJ0aWZhY3RWZXJzaW9uOjE=",
        "artifact_version_string": "acme/wandb-registry-Models/classifier:v3",
        "artifact_version_index": 3,
        "entity_name": "acme",
        "project_name": "detector",
        "automation_name": "Test",
        "registry_name": "Models",
        "version_url": "",
        "artifact_metadata": {},
        **(extra or {}),
    }


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
