"""The only writer of audit events."""

import contextvars
from dataclasses import dataclass

from django.db import models

from apps.audit.models import Action, AuditEvent


@dataclass(frozen=True)
class AuditContext:
    """Where the current change comes from (set per request by the middleware)."""

    ip: str | None = None
    detail: str = "web"


SYSTEM = AuditContext(detail="system")
_context: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)


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
    target: models.Model,
    data: dict | None = None,
    registry_pk: int | None = None,
    collection_pk: int | None = None,
    version_pk: int | None = None,
) -> AuditEvent:
    """Write one audit event. Call it inside the service's transaction."""
    context = _context.get() or SYSTEM
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=user,
        actor_username=user.get_username() if user else "",
        actor_detail=context.detail,
        actor_ip=context.ip,
        org=org,
        org_slug=org.slug if org else "",
        action=action,
        target_type=target._meta.model_name,
        target_id=str(target.pk or ""),
        target_repr=str(target)[:500],
        registry_pk=registry_pk,
        collection_pk=collection_pk,
        version_pk=version_pk,
        data=data or {},
    )
