"""Services: permission, validation, the write and its audit event; secrets at rest; URL safety; templates."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from apps.audit.models import Action, AuditEvent
from apps.automations import services
from apps.automations.models import Automation, EventType, Secret, Webhook, render_payload
from apps.automations.tasks import resolve_public_addresses


def last_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


# --- secrets ---------------------------------------------------------------------------------------


def test_secret_is_encrypted_at_rest_and_audited_without_its_value(world):
    secret = services.create_secret(actor=world["org_admin"], org=world.org, name="GITHUB_TOKEN", value="ghp_plain")
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM automations_secret WHERE id = %s", [secret.pk])
        (raw,) = cursor.fetchone()
    assert "ghp_plain" not in raw
    assert raw != "ghp_plain"
    assert Secret.objects.get(pk=secret.pk).reveal() == "ghp_plain"
    event = last_event(Action.SECRET_CREATE)
    assert event.data == {"name": "GITHUB_TOKEN"}
    assert "ghp_plain" not in json.dumps(event.data)


def test_secret_survives_secret_key_rotation_through_fallbacks(world, settings):
    secret = services.create_secret(actor=world["org_admin"], org=world.org, name="KEY", value="v1")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-key"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert Secret.objects.get(pk=secret.pk).reveal() == "v1"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(ValidationError, match="cannot be decrypted"):
        Secret.objects.get(pk=secret.pk).reveal()


def test_update_and_delete_secret(world):
    secret = services.create_secret(actor=world["org_admin"], org=world.org, name="KEY", value="v1")
    services.update_secret(actor=world["org_admin"], secret=secret, value="v2")
    assert Secret.objects.get(pk=secret.pk).reveal() == "v2"
    assert last_event(Action.SECRET_UPDATE).data == {"name": "KEY"}
    services.delete_secret(actor=world["org_admin"], secret=secret)
    assert not Secret.objects.filter(pk=secret.pk).exists()
    assert last_event(Action.SECRET_DELETE).data == {"name": "KEY"}


@pytest.mark.parametrize("persona", ["registry_admin", "member", "viewer", "outsider"])
def test_only_org_admins_manage_secrets(world, persona):
    with pytest.raises(PermissionDenied):
        services.create_secret(actor=world[persona], org=world.org, name="KEY", value="v")
    assert not Secret.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.SECRET_CREATE).exists()


@pytest.mark.parametrize(
    ("name", "value"), [("lower", "v"), ("1ABC", "v"), ("A-B", "v"), ("OK", ""), ("ACCESS_TOKEN", "v")]
)
def test_secret_validation(world, name, value):
    with pytest.raises(ValidationError):
        services.create_secret(actor=world["org_admin"], org=world.org, name=name, value=value)


def test_secret_in_use_cannot_be_deleted(world, webhook, signing_secret):
    with pytest.raises(ValidationError, match="ci hook"):
        services.delete_secret(actor=world["org_admin"], secret=signing_secret)


# --- webhooks --------------------------------------------------------------------------------------


def test_create_webhook_is_audited(world, receiver):
    webhook = services.create_webhook(actor=world["org_admin"], org=world.org, name="deploy", url=receiver.url)
    assert webhook.org == world.org
    assert last_event(Action.WEBHOOK_CREATE).data == {"name": "deploy", "url": receiver.url}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
    ],
)
def test_private_urls_are_refused_without_the_setting(world, settings, url):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = False
    with pytest.raises(ValidationError, match="private or internal"):
        services.create_webhook(actor=world["org_admin"], org=world.org, name="internal", url=url)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http://user:pw@example.com/", "not a url", "javascript:alert(1)"]
)
def test_bad_webhook_urls_are_refused(world, url):
    with pytest.raises(ValidationError):
        services.create_webhook(actor=world["org_admin"], org=world.org, name="bad", url=url)


def test_public_address_passes_the_check(settings, monkeypatch):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = False
    monkeypatch.setattr("socket.getaddrinfo", lambda host, port, **kw: [(2, 1, 6, "", ("93.184.215.14", port))])
    assert resolve_public_addresses("https://hooks.example.com/x") == ("hooks.example.com", 443, ["93.184.215.14"])


def test_a_host_that_resolves_to_a_private_address_is_refused_at_send_time(
    world, receiver, make_automation, django_capture_on_commit_callbacks, settings
):
    automation = make_automation(EventType.LINK_ARTIFACT)
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = False  # e.g. DNS now answers with an internal address
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    run = automation.runs.get()
    assert run.status == "failed"
    assert "private or internal" in run.error
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("name", "error"), [("", "1–64"), ("x" * 65, "1–64"), ("bad/name", "letters"), ("ci hook", "already exists")]
)
def test_webhook_name_validation(world, receiver, webhook, name, error):
    with pytest.raises(ValidationError, match=error):
        services.create_webhook(actor=world["org_admin"], org=world.org, name=name, url=receiver.url)


def test_webhook_secrets_must_belong_to_the_org(world, receiver):
    foreign = services.create_secret(actor=world["outsider"], org=world.other_org, name="THEIRS", value="x")
    with pytest.raises(ValidationError, match="this organization"):
        services.create_webhook(
            actor=world["org_admin"], org=world.org, name="x", url=receiver.url, signing_secret=foreign
        )


@pytest.mark.parametrize("persona", ["registry_admin", "member", "viewer", "outsider"])
def test_only_org_admins_manage_webhooks(world, receiver, webhook, persona):
    with pytest.raises(PermissionDenied):
        services.create_webhook(actor=world[persona], org=world.org, name="mine", url=receiver.url)
    with pytest.raises(PermissionDenied):
        services.delete_webhook(actor=world[persona], webhook=webhook)
    assert Webhook.objects.count() == 1


def test_webhook_in_use_cannot_be_deleted(world, webhook, make_automation):
    make_automation()
    with pytest.raises(ValidationError, match="used by"):
        services.delete_webhook(actor=world["org_admin"], webhook=webhook)
    Automation.objects.all().delete()
    services.delete_webhook(actor=world["org_admin"], webhook=webhook)
    assert last_event(Action.WEBHOOK_DELETE).data["name"] == "ci hook"


def test_send_test_webhook_returns_the_answer_and_is_audited(world, receiver, webhook):
    receiver.reply = b"pong"
    response = services.send_test_webhook(
        actor=world["org_admin"], webhook=webhook, payload='{"hello": "${entity_name}"}'
    )
    assert (response.status, response.body, response.ok) == (200, "pong", True)
    assert receiver.requests[0].json == {"hello": "acme"}
    assert receiver.requests[0].headers["Authorization"] == "Bearer tok-123"
    assert last_event(Action.WEBHOOK_TEST).data == {"name": "ci hook", "status": 200, "error": ""}


def test_send_test_webhook_rejects_invalid_json(world, webhook):
    with pytest.raises(ValidationError, match="valid JSON"):
        services.send_test_webhook(actor=world["org_admin"], webhook=webhook, payload="{not json")


# --- automations -----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["org_admin", "registry_admin", "member", "team_member"])
def test_members_and_admins_create_automations(world, make_automation, persona):
    automation = make_automation(actor=persona)
    event = last_event(Action.AUTOMATION_CREATE)
    assert event.registry_pk == world.registry.pk
    assert event.actor == world[persona]
    assert event.data["name"] == automation.name
    assert automation.created_by == world[persona]


@pytest.mark.parametrize("persona", ["viewer", "restricted_viewer", "outsider"])
def test_viewers_cannot_create_or_change_automations(world, make_automation, persona):
    with pytest.raises(PermissionDenied):
        make_automation(actor=persona)
    automation = make_automation()
    with pytest.raises(PermissionDenied):
        services.set_automation_enabled(actor=world[persona], automation=automation, enabled=False)
    with pytest.raises(PermissionDenied):
        services.delete_automation(actor=world[persona], automation=automation)
    assert Automation.objects.get().enabled


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"event_type": "NOPE"}, "event_type"),
        ({"alias_regex": "prod"}, "alias_regex"),  # only for alias events
        ({"event_type": EventType.ADD_ARTIFACT_ALIAS, "alias_regex": "(unclosed"}, "alias_regex"),
        ({"payload_template": '{"a": "${nope}"}'}, "payload_template"),
        ({"payload_template": '{"a": "${OTHER_SECRET}"}'}, "payload_template"),
        ({"payload_template": '{"a": ${event_type}'}, "payload_template"),
        ({"payload_template": "not json"}, "payload_template"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"cooldown_seconds": -1}, "cooldown_seconds"),
    ],
)
def test_automation_validation(world, make_automation, fields, field):
    with pytest.raises(ValidationError) as error:
        make_automation(**fields)
    assert field in error.value.error_dict
    assert not Automation.objects.exists()


def test_automation_names_are_unique_per_registry(world, make_automation):
    make_automation(name="Deploy")
    with pytest.raises(ValidationError, match="already exists"):
        make_automation(name="deploy")


def test_automation_webhook_and_collection_must_belong_to_the_registry(world, make_automation, receiver):
    foreign = services.create_webhook(actor=world["outsider"], org=world.other_org, name="theirs", url=receiver.url)
    with pytest.raises(ValidationError, match="Slack channel of this organization"):
        make_automation(webhook=foreign)
    other_link = world.link(registry=world.org.registries.get(slug="model"))
    with pytest.raises(ValidationError, match="collection of this registry"):
        make_automation(collection=other_link.collection)


def test_update_automation_records_the_changes(world, make_automation):
    automation = make_automation()
    services.update_automation(
        actor=world["registry_admin"],
        automation=automation,
        name="Renamed",
        event_type=EventType.ADD_ARTIFACT_ALIAS,
        alias_regex="^production$",
        webhook=automation.webhook,
        payload_template='{"v": "${artifact_version_string}"}',
        cooldown_seconds=60,
    )
    automation.refresh_from_db()
    assert (automation.name, automation.alias_regex, automation.cooldown_seconds) == ("Renamed", "^production$", 60)
    data = last_event(Action.AUTOMATION_UPDATE).data
    assert data["event_type"] == {"from": "LINK_ARTIFACT", "to": "ADD_ARTIFACT_ALIAS"}
    assert "payload_template" in data


def test_enable_and_delete_are_audited(world, make_automation):
    automation = make_automation()
    services.set_automation_enabled(actor=world["member"], automation=automation, enabled=False)
    assert last_event(Action.AUTOMATION_UPDATE).data["enabled"] == {"from": True, "to": False}
    services.delete_automation(actor=world["member"], automation=automation)
    assert not Automation.objects.exists()
    assert last_event(Action.AUTOMATION_DELETE).registry_pk == world.registry.pk


# --- payload templates -------------------------------------------------------------------------------


def test_render_payload_escapes_values_so_the_result_stays_json():
    template = '{"a": "${alias}", "n": ${artifact_version_index}, "m": ${artifact_metadata.obj}, "s": "pre ${artifact_metadata.obj} post", "none": ${tag}}'
    values = {"alias": 'quo"te\\back\nline', "artifact_version_index": 7, "artifact_metadata": {"obj": {"k": [1, "x"]}}}
    result = json.loads(render_payload(template, values))
    assert result == {
        "a": 'quo"te\\back\nline',
        "n": 7,
        "m": {"k": [1, "x"]},
        "s": 'pre {"k": [1, "x"]} post',
        "none": "",
    }


def test_render_payload_leaves_escaped_quotes_and_dollars_alone():
    assert json.loads(render_payload(r'{"a": "say \"${alias}\" for $5"}', {"alias": "hi"})) == {"a": 'say "hi" for $5'}


def test_update_automation_keeps_the_fields_not_given(world, make_automation):
    automation = make_automation(rate_limit_per_minute=3)
    services.update_automation(actor=world["member"], automation=automation, cooldown_seconds=30)
    automation.refresh_from_db()
    assert (automation.rate_limit_per_minute, automation.cooldown_seconds) == (3, 30)
    assert automation.payload_template.startswith('{\n  "event_type"')


def test_https_webhooks_verify_tls(receiver):
    from apps.automations.tasks import post_json

    response = post_json(receiver.url.replace("http://", "https://"), b"{}", {})
    assert response.status is None
    assert "SSL" in response.error
    assert receiver.requests == []


def test_deleting_the_organization_deletes_its_automations_webhooks_and_secrets(world, make_automation):
    make_automation()
    world.org.delete()
    assert not Automation.objects.exists()
    assert not Webhook.objects.exists()
    assert not Secret.objects.exists()
