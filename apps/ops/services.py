"""Writes of the operations app: login lockouts into the audit log, the worker's heartbeat, recovering tasks."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.audit.models import Action, AuditEvent
from apps.audit.services import record


@transaction.atomic
def record_lockout(sender=None, *, request=None, username: str | None = None, ip_address: str | None = None, **kwargs):
    """Audit a login lockout (django-axes' `user_locked_out` signal): one event when the lockout starts, not one per
    refused attempt while it lasts (those would let a guesser flood the log)."""
    username = (username or "")[:150]
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    if AuditEvent.objects.filter(
        action=Action.USER_LOCKOUT, created_at__gte=since, data__username=username, actor_ip=ip_address
    ).exists():
        return
    user = get_user_model().objects.filter(username=username).first()
    record(
        actor=None,
        org=None,
        action=Action.USER_LOCKOUT,
        target=user,
        data={
            "username": username,
            "ip": ip_address,
            "failures": settings.AXES_FAILURE_LIMIT,
            "locked_for_minutes": int(settings.AXES_COOLOFF_TIME / datetime.timedelta(minutes=1)),
        },
    )
