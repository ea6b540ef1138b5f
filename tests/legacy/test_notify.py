"""A registered model's "New version linked" notification: a webhook POST after the link commits."""

import pytest
from django.core.exceptions import ValidationError

from apps.automations import services as automations
from apps.legacy import services


def test_new_version_linked_posts_to_the_models_webhook(world, receiver, settings, django_capture_on_commit_callbacks):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    hook = automations.create_webhook(actor=world["org_admin"], org=world.org, name="ci", url=receiver.url)
    first = services.link_model_version(
        actor=world["member"], version=world.version(content=b"a"), team=world.team, model_name="resnet"
    )
    services.set_model_notification(actor=world["member"], model=first.model, webhook=hook)
    with django_capture_on_commit_callbacks(execute=True):
        services.link_model_version(
            actor=world["member"], version=world.version(content=b"b"), team=world.team, model_name="resnet"
        )
    [request] = receiver.requests
    assert request.json["event_type"] == "LINK_ARTIFACT"
    assert request.json["version"] == "vision/model-registry/resnet:v1"
    assert request.json["author"] == "member"
    # Turned off: nothing is sent.
    services.set_model_notification(actor=world["member"], model=first.model, webhook=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.link_model_version(
            actor=world["member"], version=world.version(content=b"c"), team=world.team, model_name="resnet"
        )
    assert len(receiver.requests) == 1


def test_a_webhook_of_another_organization_is_refused(world, settings):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    other = automations.create_webhook(
        actor=world["outsider"], org=world.other_org, name="x", url="http://127.0.0.1:9/h"
    )
    link = services.link_model_version(
        actor=world["member"], version=world.version(), team=world.team, model_name="resnet"
    )
    with pytest.raises(ValidationError):
        services.set_model_notification(actor=world["member"], model=link.model, webhook=other)
