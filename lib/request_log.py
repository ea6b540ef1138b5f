"""One JSON line per request, and a request id that follows the request into the audit log and back to the client.

`RequestLogMiddleware` runs first: it takes the caller's `X-Request-ID` when it is sane (a proxy or client that
sets one can find its request in our logs) or makes one, exposes it as `current_request_id()` (audit events store
it), returns it as a response header, observes the request's duration for /metrics and logs the line. Behind a
proxy (`BEHIND_PROXY=true`) it also takes the client's address from the last `X-Forwarded-For` hop, the one our
proxy appended, so that login throttling, audit events and logs see clients, not the proxy.
"""

import contextvars
import datetime
import ipaddress
import json
import logging
import re
import time
import uuid

from django.conf import settings

from lib.metrics import observe_request

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators, at most 128: enough for UUIDs and tracing ids, nothing to inject into logs.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

logger = logging.getLogger("registry.requests")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    """The id of the request this code runs for ("" outside a request: the task worker, commands)."""
    return _request_id.get()


def client_address(request) -> str:
    """The client's address: the proxy's last `X-Forwarded-For` hop when BEHIND_PROXY, else the peer's."""
    if settings.BEHIND_PROXY:
        hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
        if hops:
            try:
                return str(ipaddress.ip_address(hops[-1]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR", "")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        request.META["REMOTE_ADDR"] = client_address(request)
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        duration = time.perf_counter() - started
        response[REQUEST_ID_HEADER] = request_id
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unmatched"
        observe_request(request.method, view, response.status_code, duration)
        user = getattr(request, "user", None)
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,  # never the query string: signed download URLs carry their signature there
                "view": view,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 2),
                "user": user.get_username() if user is not None and user.is_authenticated else "",
                "ip": request.META["REMOTE_ADDR"],
            },
        )
        return response


# Attributes every LogRecord has; anything else was passed in `extra` and belongs in the JSON line.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object per line: time, level, logger, message, the request id, and any `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if request_id := _request_id.get():
            line["request_id"] = request_id
        line.update({key: value for key, value in vars(record).items() if key not in _RECORD_FIELDS})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)
