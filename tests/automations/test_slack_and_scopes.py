"""Slack channels as an action, the "notify on new version" switch, and team- and organization-scoped
automations: delivered to a real local HTTP receiver."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import Action, AuditEvent
from apps.automations import services
from apps.automations.models import Automation, AutomationRun, EventType, RunStatus, Scope, Secret, WebhookKind
from apps.registries.models import Registry


@pytest.fixture
def slack(world, receiver):
    return services.create_slack_channel(
        actor=world["org_admin"], org=world.org, name="ml-releases", url=receiver.url, site_url="http://testserver"
    )


@pytest.fixture
def model_registry(world):
    """The org-visible core Model registry."""
    return Registry.objects.get(org=world.org, is_core=True, name="Model")


def refresh(*registries):
    for registry in registries:
        registry.refresh_from_db(fields=["has_automations"])


def test_slack_channel_keeps_its_url_as_an_encrypted_secret_with_one_audit_event(world, receiver):
    before = AuditEvent.objects.count()
    channel = services.create_slack_channel(
        actor=world["org_admin"], org=world.org, name="ml-releases", url=receiver.url
    )
    assert channel.kind == WebhookKind.SLACK
    assert channel.url == ""
    secret = Secret.objects.get(pk=channel.url_secret_id)
    assert secret.name == "SLACK_ML_RELEASES"
    assert receiver.url not in secret.ciphertext
    assert secret.reveal() == receiver.url
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.data) == (
        Action.WEBHOOK_CREATE,
        {"name": "ml-releases", "kind": "slack", "secret": "SLACK_ML_RELEASES"},
    )
    assert receiver.url not in str(event.data)
    # The secret belongs to the channel: it cannot be deleted on its own, and goes with the channel.
    with pytest.raises(ValidationError, match="used by webhook"):
        services.delete_secret(actor=world["org_admin"], secret=secret)
    services.delete_webhook(actor=world["org_admin"], webhook=channel)
    assert not Secret.objects.filter(pk=secret.pk).exists()


def test_slack_channel_is_for_org_admins_and_needs_a_url(world, receiver):
    with pytest.raises(PermissionDenied):
        services.create_slack_channel(actor=world["member"], org=world.org, name="x", url=receiver.url)
    with pytest.raises(ValidationError, match="incoming-webhook URL"):
        services.create_slack_channel(actor=world["org_admin"], org=world.org, name="x", url="")
    with pytest.raises(ValidationError, match="valid URL"):
        services.create_slack_channel(actor=world["org_admin"], org=world.org, name="x", url="hooks.slack")
    assert not Secret.objects.filter(org=world.org).exists()


def test_slack_automation_posts_block_kit_with_a_link_to_the_version(
    world, receiver, slack, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://registry.example.com"
    automation = services.create_automation(
        actor=world["member"],
        registry=world.registry,
        name="tell the channel",
        event_type=EventType.LINK_ARTIFACT,
        webhook=slack,
    )
    assert automation.payload_template == ""
    with django_capture_on_commit_callbacks(execute=True):
        link = world.link()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.path == "/hook"
    assert "Authorization" not in request.headers
    url = f"https://registry.example.com/orgs/acme/registry/golden-models/classifier/v{link.index}/"
    version = f"acme/wandb-registry-Golden Models/classifier:v{link.index}"
    assert request.json["blocks"] == [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": "A new version is linked to a collection", "emoji": False},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Collection*\nclassifier in Golden Models"},
                {"type": "mrkdwn", "text": f"*Version*\n`{version}`"},
                {"type": "mrkdwn", "text": "*By*\norg_admin"},
            ],
        },
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
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Automation: tell the channel"}]},
    ]
    assert request.json["text"].startswith(f"A new version is linked to a collection: {version} by org_admin")
    run = AutomationRun.objects.get()
    assert run.status == RunStatus.FINISHED
    assert receiver.url not in run.payload


def test_slack_links_use_the_connecting_address_without_site_url_and_retry_like_webhooks(
    world, receiver, slack, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = ""
    receiver.status = 500
    services.create_automation(
        actor=world["member"], registry=world.registry, name="n", event_type=EventType.LINK_ARTIFACT, webhook=slack
    )
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    assert len(receiver.requests) == settings.AUTOMATION_MAX_ATTEMPTS
    button = receiver.requests[0].json["blocks"][2]["elements"][0]
    assert button["url"].startswith("http://testserver/orgs/acme/registry/golden-models/classifier/v")
    run = AutomationRun.objects.get()
    assert (run.status, run.attempts, run.response_status) == (RunStatus.FAILED, 3, 500)


def test_notify_on_new_version_switch_creates_updates_and_removes_one_automation(world, slack, webhook):
    collection = world.link().collection
    automation = services.set_new_version_notification(
        actor=world["member"], collection=collection, action=slack, enabled=True
    )
    assert (automation.scope, automation.event_type, automation.webhook, automation.is_new_version_notification) == (
        Scope.COLLECTION,
        EventType.LINK_ARTIFACT,
        slack,
        True,
    )
    assert AuditEvent.objects.latest("id").action == Action.AUTOMATION_CREATE
    # Again with a webhook: the same automation now sends there (one update event).
    again = services.set_new_version_notification(
        actor=world["member"], collection=collection, action=webhook, enabled=True
    )
    assert again.pk == automation.pk
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.data["webhook"]) == (Action.AUTOMATION_UPDATE, {"from": "ml-releases", "to": "ci hook"})
    assert Automation.objects.get(pk=automation.pk).payload_template  # a webhook needs its payload
    count = AuditEvent.objects.count()
    services.set_new_version_notification(actor=world["member"], collection=collection, action=webhook, enabled=True)
    assert AuditEvent.objects.count() == count  # nothing changed, nothing recorded
    assert services.new_version_notification(collection).pk == automation.pk
    services.set_new_version_notification(actor=world["member"], collection=collection, enabled=False)
    assert not Automation.objects.filter(pk=automation.pk).exists()
    assert AuditEvent.objects.latest("id").action == Action.AUTOMATION_DELETE


@pytest.mark.parametrize("persona", ["viewer", "restricted_viewer", "outsider"])
def test_notify_switch_is_for_registry_members(world, slack, persona):
    collection = world.link().collection
    count = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.set_new_version_notification(actor=world[persona], collection=collection, action=slack, enabled=True)
    assert AuditEvent.objects.count() == count
    assert not Automation.objects.exists()


def test_organization_automation_fires_in_every_registry_of_its_org(
    world, slack, model_registry, django_capture_on_commit_callbacks, receiver
):
    automation = services.create_automation(
        actor=world["org_admin"], org=world.org, name="all links", event_type=EventType.LINK_ARTIFACT, webhook=slack
    )
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.data["scope"], event.registry_pk) == (Action.AUTOMATION_CREATE, "organization", None)
    refresh(world.registry, model_registry)  # the flag changed in the database (requests read it fresh)
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
        world.link(registry=model_registry, collection="other")
    runs = AutomationRun.objects.filter(automation=automation).order_by("id")
    assert [run.registry_id for run in runs] == [world.registry.pk, model_registry.pk]
    assert len(receiver.requests) == 2


def test_team_automation_fires_for_its_projects_but_never_reports_restricted_registries(
    world, slack, model_registry, django_capture_on_commit_callbacks, receiver
):
    created = services.create_automation(
        actor=world["team_member"], team=world.team, name="new", event_type=EventType.CREATE_ARTIFACT, webhook=slack
    )
    linked = services.create_automation(
        actor=world["team_member"], team=world.team, name="linked", event_type=EventType.LINK_ARTIFACT, webhook=slack
    )
    refresh(world.registry, model_registry)
    with django_capture_on_commit_callbacks(execute=True):
        version = world.version(name="fresh")
    run = AutomationRun.objects.get(automation=created)
    assert run.registry_id is None
    assert run.variables["artifact_version_string"] == "vision/detector/fresh:v0"
    assert receiver.requests[0].json["blocks"][2]["elements"][0]["url"].endswith("/vision/detector/artifacts/fresh/v0/")
    with django_capture_on_commit_callbacks(execute=True):
        world.link(version=version)  # the restricted registry: not reported
        world.link(version=version, registry=model_registry)
    assert [r.registry_id for r in AutomationRun.objects.filter(automation=linked)] == [model_registry.pk]


@pytest.mark.parametrize(
    ("persona", "team_ok", "org_ok"),
    [
        ("org_admin", True, True),
        ("team_member", True, False),
        ("registry_admin", False, False),
        ("viewer", False, False),
        ("outsider", False, False),
    ],
)
def test_who_manages_team_and_org_automations(world, slack, persona, team_ok, org_ok):
    for scope, ok in [({"team": world.team}, team_ok), ({"org": world.org}, org_ok)]:
        fields = {"name": f"a {persona} {list(scope)[0]}", "event_type": EventType.LINK_ARTIFACT, "webhook": slack}
        if ok:
            automation = services.create_automation(actor=world[persona], **scope, **fields)
            assert Automation.objects.visible_to(world[persona]).filter(pk=automation.pk).exists()
        else:
            with pytest.raises(PermissionDenied):
                services.create_automation(actor=world[persona], **scope, **fields)
    team_automation = Automation.objects.filter(scope=Scope.TEAM).first()
    org_automation = Automation.objects.filter(scope=Scope.ORGANIZATION).first()
    visible = Automation.objects.visible_to(world[persona])
    if team_automation:
        assert visible.filter(pk=team_automation.pk).exists() == team_ok
    if org_automation:
        assert visible.filter(pk=org_automation.pk).exists() == org_ok


def test_events_are_checked_against_the_scope(world, slack):
    with pytest.raises(ValidationError, match="registry automation can watch"):
        services.create_automation(
            actor=world["member"],
            registry=world.registry,
            name="x",
            event_type=EventType.CREATE_ARTIFACT,
            webhook=slack,
        )
    with pytest.raises(ValidationError, match="team automation can watch"):
        services.create_automation(
            actor=world["org_admin"], team=world.team, name="x", event_type=EventType.ADD_ARTIFACT_ALIAS, webhook=slack
        )
    with pytest.raises(ValidationError, match="one scope"):
        services.create_automation(
            actor=world["org_admin"],
            org=world.org,
            team=world.team,
            name="x",
            event_type="LINK_ARTIFACT",
            webhook=slack,
        )
    assert not Automation.objects.exists()


def test_slack_test_button_posts_a_sample_message_and_is_audited(world, receiver, slack):
    response = services.send_test_webhook(actor=world["org_admin"], webhook=slack)
    assert response.status == 200
    assert receiver.requests[0].json["blocks"][0]["type"] == "header"
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.data["status"]) == (Action.WEBHOOK_TEST, 200)


def test_slack_message_escapes_mrkdwn(world):
    from apps.automations import slack as slack_messages

    message = slack_messages.message(
        {"event_type": "ADD_ARTIFACT_ALIAS", "artifact_collection_name": "a<b>&c", "alias": "<!channel>"}
    )
    fields = [field["text"] for field in message["blocks"][1]["fields"]]
    assert fields[0] == "*Collection*\na&lt;b&gt;&amp;c"
    assert fields[1] == "*Alias*\n`&lt;!channel&gt;`"
    assert len(message["blocks"]) == 2  # no version page: no button; no automation: no context


def test_org_viewers_in_a_team_do_not_manage_its_automations(world, slack):
    from apps.orgs import services as orgs

    orgs.add_team_member(actor=world["org_admin"], team=world.team, user=world["viewer"])
    with pytest.raises(PermissionDenied):
        services.create_automation(
            actor=world["viewer"], team=world.team, name="x", event_type=EventType.CREATE_ARTIFACT, webhook=slack
        )
    assert not Automation.objects.exists()


def test_organization_and_team_automations_keep_every_registry_of_the_org_flagged(
    world, slack, model_registry, django_capture_on_commit_callbacks
):
    from apps.registries import services as registries

    assert not Registry.objects.filter(org=world.org, has_automations=True).exists()
    automation = services.create_automation(
        actor=world["org_admin"], team=world.team, name="t", event_type=EventType.LINK_ARTIFACT, webhook=slack
    )
    assert not Registry.objects.filter(org=world.org, has_automations=False).exists()
    with django_capture_on_commit_callbacks(execute=True):  # a new registry is flagged by the subscriber
        fresh = registries.create_registry(actor=world["org_admin"], org=world.org, name="Fresh", artifact_types=None)
    assert Registry.objects.get(pk=fresh.pk).has_automations
    assert not Registry.objects.filter(org=world.other_org, has_automations=True).exists()
    services.delete_automation(actor=world["org_admin"], automation=automation)
    assert not Registry.objects.filter(org=world.org, has_automations=True).exists()
