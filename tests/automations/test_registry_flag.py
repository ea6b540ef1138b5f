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


def commit_events(callbacks) -> list:
    return [callback for callback in callbacks if callback.args[0].action == "artifact:commit"]


def test_commits_look_for_automations_only_in_an_org_with_organization_or_team_automations(
    world, webhook, django_capture_on_commit_callbacks
):
    from apps.automations.models import EventType
    from apps.orgs.models import Organization

    assert not Organization.objects.get(pk=world.org.pk).has_automations
    with django_capture_on_commit_callbacks() as callbacks:
        world.version(name="quiet")
    assert commit_events(callbacks) == []  # no lookup after the commit

    automation = services.create_automation(
        actor=world["team_member"], team=world.team, name="new", event_type=EventType.CREATE_ARTIFACT, webhook=webhook
    )
    assert Organization.objects.get(pk=world.org.pk).has_automations
    assert not Organization.objects.get(pk=world.other_org.pk).has_automations
    world.project.team.org.refresh_from_db(fields=["has_automations"])  # as a new request reads it
    with django_capture_on_commit_callbacks(execute=True):
        world.version(name="watched")
    assert AutomationRun.objects.filter(automation=automation).count() == 1

    services.delete_automation(actor=world["team_member"], automation=automation)
    assert not Organization.objects.get(pk=world.org.pk).has_automations
