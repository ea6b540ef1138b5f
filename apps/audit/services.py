"""The only writer of audit events."""

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from django.db import models, transaction

from apps.audit.models import Action, AuditEvent
from lib.request_log import current_request_id
from lib.rows import insert


@dataclass(frozen=True)
class AuditContext:
    """Where the current change comes from (set per request by the middleware)."""

    ip: str | None = None
    detail: str = "web"


SYSTEM = AuditContext(detail="system")
_context: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)
# The events of the innermost `batched()` block, written when it ends.
_batch: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar("audit_batch", default=None)


# Called with each committed event: the audit event is also the domain event (automations subscribe).
_subscribers: list[Callable[[AuditEvent], None]] = []


def subscribe(callback: Callable[[AuditEvent], None]) -> None:
    """Call `callback(event)` after the transaction that records an event commits (once per callback)."""
    if callback not in _subscribers:
        _subscribers.append(callback)


def set_context(context: AuditContext) -> contextvars.Token:
    """Tag the audit events written from now on in this thread/task."""
    return _context.set(context)


def reset_context(token: contextvars.Token) -> None:
    _context.reset(token)


def record(
    *,
    actor,
    org,
    action: Action,
    target: models.Model | None,
    data: dict | None = None,
    registry_pk: int | None = None,
    collection_pk: int | None = None,
    version_pk: int | None = None,
    notify: bool = True,
) -> AuditEvent:
    """Write one audit event. Call it inside the service's transaction.

    `target` is None only for a summary of things that never were rows (storage leftovers).
    `notify=False` skips the subscribers for an event the caller knows none acts on (collections pass
    their registry's `has_automations`), so the common write pays no lookup after its commit.
    """
    context = _context.get() or SYSTEM
    user = actor if actor is not None and actor.is_authenticated else None
    event = AuditEvent(
        actor=user,
        actor_username=user.get_username() if user else "",
        actor_detail=context.detail,
        actor_ip=context.ip,
        request_id=current_request_id(),
        org=org,
        org_slug=org.slug if org else "",
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk or "") if target is not None else "",
        target_repr=str(target)[:500] if target is not None else "",
        registry_pk=registry_pk,
        collection_pk=collection_pk,
        version_pk=version_pk,
        data=data or {},
    )
    batch = _batch.get()
    if batch is not None:
        batch.append(event)
    else:
        insert(event)  # a new row only (the log is append-only): one prepared INSERT, the hot writes' largest cost
    # robust: a failing subscriber is logged and never undoes or fails the committed change.
    for callback in _subscribers if notify else ():
        transaction.on_commit(partial(callback, event), robust=True)
    return event


@contextmanager
def batched() -> Iterator[None]:
    """Write the events recorded inside this block in one INSERT when it ends, in the order recorded (a service
    that records several events in one transaction, inside it: one statement, one round trip to PostgreSQL,
    instead of one each). Their keys are set then; nothing is written if the block raises. Nested blocks write
    with the outermost."""
    if _batch.get() is not None:
        yield
        return
    events: list[AuditEvent] = []
    token = _batch.set(events)
    try:
        yield
    finally:
        _batch.reset(token)
    insert(*events)
