"""`Registry.has_automations` (issue 13): kept by the automation services, it spares registries without
automations the subscriber's lookup after every link, alias or tag change."""

from apps.automations import services
from apps.automations.models import AutomationRun
from apps.registries.models import Registry


def registry_events(callbacks) -> list:
    """The queued subscriber calls for events of a registry (others return before any query)."""
    return [callback for callback in callbacks if callback.args[0].registry_pk is not None]


def test_events_of_a_registry_without_automations_queue_nothing(world, django_capture_on_commit_callbacks):
    assert not Registry.objects.get(pk=world.registry.pk).has_automations
    with django_capture_on_commit_callbacks() as callbacks:
        world.link(aliases=["candidate"])
    assert registry_events(callbacks) == []


def test_the_flag_follows_the_automations(world, make_automation, django_capture_on_commit_callbacks):
    first, second = make_automation(name="one"), make_automation(name="two")
    world.registry.refresh_from_db()
    assert world.registry.has_automations
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    assert AutomationRun.objects.filter(automation=first).count() == 1
    services.delete_automation(actor=world["member"], automation=first)
    assert Registry.objects.get(pk=world.registry.pk).has_automations  # `two` still listens
    services.delete_automation(actor=world["member"], automation=second)
    assert not Registry.objects.get(pk=world.registry.pk).has_automations
    world.registry.refresh_from_db()
    with django_capture_on_commit_callbacks() as callbacks:
        world.link(version=world.version(name="other"))
    assert registry_events(callbacks) == []
