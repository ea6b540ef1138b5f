"""Automation pages: permission matrix for every page and POST, htmx fragments, secrets never shown, query budgets."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.automations import services
from apps.automations.models import Automation, AutomationRun, EventType, Secret, Webhook
from apps.registries.models import Registry
from tests.automations.conftest import PAYLOAD, automation_url
from tests.conftest import ALL, assert_fragment, assert_status, statuses

WRITERS = statuses(200, org_viewers=403)  # Members and Admins; viewers 403, outsiders 404, anonymous → login


def post_statuses(ok: int):
    return statuses(ok, org_viewers=403)


def org_admin_only(ok: int):
    """Org settings: org admins only; other org members 403, outsiders 404, anonymous → login."""
    table = dict.fromkeys(ALL, 403)
    table.update(org_admin=ok, outsider=404, anonymous=302)
    return [(persona, table[persona]) for persona in ALL]


@pytest.fixture
def automation(make_automation):
    return make_automation(EventType.LINK_ARTIFACT, name="Deploy on link")


@pytest.fixture
def run(world, automation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    return AutomationRun.objects.get()


def automation_form(webhook, **overrides):
    return {
        "event_type": EventType.ADD_ARTIFACT_ALIAS,
        "alias_regex": "^production$",
        "collection": "",
        "webhook": webhook.pk,
        "payload_template": PAYLOAD,
        "name": "Promote",
        "description": "Deploy production",
        "rate_limit_per_minute": "",
        "cooldown_seconds": "0",
        **overrides,
    }


# --- registry pages --------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_automation_list_permissions(login, world, automation, persona, status):
    response = login(persona).get(automation_url("automation_list", world.registry))
    assert_status(response, persona, status)
    if status == 200:
        html = response.content.decode()
        assert "Deploy on link" in html
        can_write = persona in {"org_admin", "registry_admin", "member", "team_member"}
        assert ("+ Create automation" in html) is can_write


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_history_permissions(login, world, run, persona, status):
    assert_status(login(persona).get(automation_url("automation_history", world.registry)), persona, status)


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_automation_detail_permissions(login, world, run, persona, status):
    url = automation_url("automation_detail", world.registry, run.automation_id)
    assert_status(login(persona).get(url), persona, status)


@pytest.mark.parametrize(("persona", "status"), WRITERS)
def test_create_page_permissions(login, world, webhook, persona, status):
    assert_status(login(persona).get(automation_url("automation_create", world.registry)), persona, status)


@pytest.mark.parametrize(("persona", "status"), post_statuses(302))
def test_create_automation_permissions(login, world, webhook, persona, status):
    url = automation_url("automation_create", world.registry)
    response = login(persona).post(url, automation_form(webhook))
    assert_status(response, persona, status)
    assert Automation.objects.filter(name="Promote").exists() is (status == 302 and persona != "anonymous")


def test_create_automation_shows_service_errors_on_the_form(login, world, webhook):
    url = automation_url("automation_create", world.registry)
    response = login("member").post(url, automation_form(webhook, payload_template='{"a": "${nope}"}'))
    assert response.status_code == 200
    assert "Unknown variable ${nope}" in response.content.decode()
    # The scope is picked from the registry's collections: names or other registries' collections are refused.
    other = world.link(registry=Registry.objects.get(org=world.org, is_core=True, name="Model")).collection
    for value in ("no-such", other.pk):
        response = login("member").post(url, automation_form(webhook, collection=value))
        assert "Select a valid choice" in response.content.decode()
    assert not Automation.objects.exists()


def test_create_automation_with_htmx_answers_with_the_form_or_a_redirect(login, world, webhook):
    url = automation_url("automation_create", world.registry)
    client = login("member")
    response = client.post(url, automation_form(webhook, alias_regex="(bad"), headers={"HX-Request": "true"})
    assert_fragment(response, "automation-form")
    assert "Not a valid regular expression" in response.content.decode()
    response = client.post(url, automation_form(webhook), headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == automation_url("automation_list", world.registry)


def test_list_page_has_the_create_dialog_for_writers_only(login, world, webhook):
    url = automation_url("automation_list", world.registry)
    assert 'id="create-automation-dialog"' in login("member").get(url).content.decode()
    assert 'id="create-automation-dialog"' not in login("viewer").get(url).content.decode()


def test_create_automation_scoped_to_a_collection(login, world, webhook):
    link = world.link()
    url = automation_url("automation_create", world.registry)
    response = login("member").post(url, automation_form(webhook, collection=link.collection.pk))
    assert response.status_code == 302
    assert Automation.objects.get().collection == link.collection


@pytest.mark.parametrize(("persona", "status"), post_statuses(302))
def test_edit_automation_permissions(login, world, automation, persona, status):
    url = automation_url("automation_edit", world.registry, automation.pk)
    response = login(persona).post(url, automation_form(automation.webhook, name="Edited"))
    assert_status(response, persona, status)
    automation.refresh_from_db()
    assert (automation.name == "Edited") is (status == 302 and persona != "anonymous")


def test_edit_page_shows_the_current_values(login, world, automation):
    html = login("member").get(automation_url("automation_edit", world.registry, automation.pk)).content.decode()
    assert 'value="Deploy on link"' in html
    assert f'<a class="btn" href="{automation.get_absolute_url()}">Cancel</a>' in html and "Save automation" in html


def test_create_page_cancels_back_to_the_registrys_automations(login, world, webhook):
    html = login("member").get(automation_url("automation_create", world.registry)).content.decode()
    list_url = reverse("automations:automation_list", args=[world.registry.org.slug, world.registry.slug])
    assert f'<a class="btn" href="{list_url}">Cancel</a>' in html and "Create automation</button>" in html


@pytest.mark.parametrize(("persona", "status"), post_statuses(302))
def test_toggle_permissions(login, world, automation, persona, status):
    response = login(persona).post(automation_url("automation_toggle", world.registry, automation.pk))
    assert_status(response, persona, status)
    automation.refresh_from_db()
    assert automation.enabled is not (status == 302 and persona != "anonymous")


def test_toggle_with_htmx_returns_the_table(login, world, automation):
    url = automation_url("automation_toggle", world.registry, automation.pk)
    response = login("member").post(url, headers={"HX-Request": "true"})
    assert_fragment(response, "automation-table")
    assert ">Off<" in response.content.decode()


@pytest.mark.parametrize(("persona", "status"), WRITERS)
def test_delete_confirm_page_permissions(login, world, automation, persona, status):
    url = automation_url("automation_delete", world.registry, automation.pk)
    assert_status(login(persona).get(url), persona, status)


@pytest.mark.parametrize(("persona", "status"), post_statuses(302))
def test_delete_automation_permissions(login, world, automation, persona, status):
    response = login(persona).post(automation_url("automation_delete", world.registry, automation.pk))
    assert_status(response, persona, status)
    assert Automation.objects.exists() is not (status == 302 and persona != "anonymous")


@pytest.mark.parametrize(("persona", "status"), post_statuses(302))
def test_replay_permissions(login, world, run, persona, status, django_capture_on_commit_callbacks):
    url = automation_url("run_replay", world.registry, run.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(persona).post(url, {"next": "https://evil.example/"})
    assert_status(response, persona, status)
    replayed = AutomationRun.objects.filter(replay_of=run).exists()
    assert replayed is (status == 302 and persona != "anonymous")
    if replayed:
        assert response["Location"] == automation_url("automation_history", world.registry)


def test_history_shows_runs_with_payload_response_and_replay(login, world, run, receiver):
    html = login("member").get(automation_url("automation_history", world.registry)).content.decode()
    assert "Finished" in html
    assert "LINK_ARTIFACT" in html
    assert "HTTP 200" in html
    assert "Replay" in html
    assert "tok-123" not in html  # the access token is masked in the stored payload
    viewer_html = login("viewer").get(automation_url("automation_history", world.registry)).content.decode()
    assert "Replay" not in viewer_html


def test_history_pages_with_a_keyset_cursor(login, world, automation, settings):
    from apps.automations import views

    settings_page = views.RUNS_PAGE_SIZE
    views.RUNS_PAGE_SIZE = 2
    try:
        event = AuditEvent.objects.first()
        runs = [
            AutomationRun.objects.create(automation=automation, registry=world.registry, event=event, status="skipped")
            for _ in range(3)
        ]
        client = login("member")
        html = client.get(automation_url("automation_history", world.registry)).content.decode()
        assert f"#{runs[2].pk}" in html and f"#{runs[1].pk}" in html and f"#{runs[0].pk}" not in html
        response = client.get(
            automation_url("automation_history", world.registry), {"before": runs[1].pk}, headers={"HX-Request": "true"}
        )
        assert_fragment(response, "run-table")
        assert f"#{runs[0].pk}" in response.content.decode()
    finally:
        views.RUNS_PAGE_SIZE = settings_page


def test_automations_path_is_not_read_as_a_collection(login, world, automation):
    response = login("member").get(f"/orgs/acme/registry/{world.registry.slug}/automations/")
    assert response.resolver_match.view_name == "automations:automation_list"


def test_registry_ui_flag_hides_automation_pages(login, world, settings):
    settings.ENABLE_REGISTRY_UI = False
    assert login("org_admin").get(automation_url("automation_list", world.registry)).status_code == 404


# --- organization settings -------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), org_admin_only(200))
def test_webhook_list_permissions(login, world, webhook, persona, status):
    assert_status(login(persona).get(reverse("automations:webhook_list", args=["acme"])), persona, status)


@pytest.mark.parametrize(("persona", "status"), org_admin_only(302))
def test_webhook_create_permissions(login, world, receiver, persona, status):
    url = reverse("automations:webhook_create", args=["acme"])
    response = login(persona).post(url, {"name": "deploy", "url": receiver.url})
    assert_status(response, persona, status)
    assert Webhook.objects.filter(name="deploy").exists() is (persona == "org_admin")


def test_webhook_create_refuses_private_urls_on_the_form(login, world, settings):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = False
    url = reverse("automations:webhook_create", args=["acme"])
    response = login("org_admin").post(url, {"name": "meta", "url": "http://169.254.169.254/latest"})
    assert response.status_code == 200
    assert "private or internal" in response.content.decode()
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(("persona", "status"), org_admin_only(302))
def test_webhook_delete_permissions(login, world, webhook, persona, status):
    response = login(persona).post(reverse("automations:webhook_delete", args=["acme", webhook.pk]))
    assert_status(response, persona, status)
    assert Webhook.objects.exists() is (persona != "org_admin")


@pytest.mark.parametrize(("persona", "status"), org_admin_only(200))
def test_webhook_test_page_permissions(login, world, webhook, persona, status):
    assert_status(login(persona).get(reverse("automations:webhook_test", args=["acme", webhook.pk])), persona, status)


@pytest.mark.parametrize(("persona", "status"), org_admin_only(200))
def test_webhook_test_permissions(login, world, webhook, receiver, persona, status):
    url = reverse("automations:webhook_test", args=["acme", webhook.pk])
    response = login(persona).post(url, {"payload": ""})
    assert_status(response, persona, status)
    assert len(receiver.requests) == (1 if persona == "org_admin" else 0)


def test_webhook_test_shows_the_receivers_answer_in_a_fragment(login, world, webhook, receiver):
    receiver.status = 418
    receiver.reply = b"I'm a teapot"
    url = reverse("automations:webhook_test", args=["acme", webhook.pk])
    response = login("org_admin").post(url, {"payload": '{"ping": true}'}, headers={"HX-Request": "true"})
    assert_fragment(response, "webhook-test")
    html = response.content.decode()
    assert "HTTP 418" in html
    assert "I&#x27;m a teapot" in html
    assert receiver.requests[0].json == {"ping": True}
    assert AuditEvent.objects.filter(action=Action.WEBHOOK_TEST).exists()


@pytest.mark.parametrize(("persona", "status"), org_admin_only(200))
def test_secret_list_permissions(login, world, signing_secret, persona, status):
    assert_status(login(persona).get(reverse("automations:secret_list", args=["acme"])), persona, status)


@pytest.mark.parametrize(("persona", "status"), org_admin_only(302))
def test_secret_create_permissions(login, world, persona, status):
    url = reverse("automations:secret_create", args=["acme"])
    response = login(persona).post(url, {"name": "NEW_SECRET", "value": "hunter2"})
    assert_status(response, persona, status)
    assert Secret.objects.filter(name="NEW_SECRET").exists() is (persona == "org_admin")


@pytest.mark.parametrize(("persona", "status"), org_admin_only(302))
def test_secret_update_permissions(login, world, signing_secret, persona, status):
    url = reverse("automations:secret_update", args=["acme", signing_secret.pk])
    response = login(persona).post(url, {"value": "rotated"})
    assert_status(response, persona, status)
    expected = "rotated" if persona == "org_admin" else "s3cr3t-signing"
    assert Secret.objects.get(pk=signing_secret.pk).reveal() == expected


@pytest.mark.parametrize(("persona", "status"), org_admin_only(302))
def test_secret_delete_permissions(login, world, persona, status):
    secret = services.create_secret(actor=world["org_admin"], org=world.org, name="GONE", value="x")
    response = login(persona).post(reverse("automations:secret_delete", args=["acme", secret.pk]))
    assert_status(response, persona, status)
    assert Secret.objects.filter(pk=secret.pk).exists() is (persona != "org_admin")


def test_secret_values_are_never_rendered(login, world, webhook):
    client = login("org_admin")
    pages = [
        reverse("automations:secret_list", args=["acme"]),
        reverse("automations:webhook_list", args=["acme"]),
        reverse("automations:webhook_test", args=["acme", webhook.pk]),
    ]
    for page in pages:
        html = client.get(page).content.decode()
        assert "s3cr3t-signing" not in html
        assert "tok-123" not in html
    # A failed form does not echo the value back either.
    response = client.post(
        reverse("automations:secret_create", args=["acme"]), {"name": "bad name", "value": "echo-me"}
    )
    assert response.status_code == 200
    assert "echo-me" not in response.content.decode()


# --- query budgets ---------------------------------------------------------------------------------


def count_queries(client, url) -> int:
    """Queries for one GET, after a first GET has warmed the per-process caches (content types)."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_automation_list_queries_do_not_grow(login, world, make_automation, webhook):
    client = login("member")
    url = automation_url("automation_list", world.registry)
    make_automation(name="a0")
    # session, user, registry (with the guardian visibility subquery), automations with their last run
    # (subqueries), the user's and the teams' registry permissions (can_write), the create dialog's
    # webhook choices, the collection picker's first options, the shell's organizations
    assert count_queries(client, url) == 8
    link = world.link()
    for n in range(1, 10):
        make_automation(name=f"a{n}", collection=link.collection)
    assert count_queries(client, url) == 8


def link_versions(world, n, capture):
    for i in range(n):
        with capture(execute=True):
            world.link(version=world.version(content=f"w{i}".encode()))


def test_history_queries_do_not_grow(login, world, automation, django_capture_on_commit_callbacks):
    client = login("member")
    url = automation_url("automation_history", world.registry)
    link_versions(world, 1, django_capture_on_commit_callbacks)
    # session, user, registry, runs with their automations, write permission (user, teams), shell orgs
    expected = count_queries(client, url)
    assert expected == 6
    link_versions(world, 9, django_capture_on_commit_callbacks)
    assert AutomationRun.objects.count() == 10
    assert count_queries(client, url) == expected


def test_detail_queries_do_not_grow(login, world, automation, django_capture_on_commit_callbacks):
    client = login("member")
    url = automation_url("automation_detail", world.registry, automation.pk)
    link_versions(world, 1, django_capture_on_commit_callbacks)
    # session, user, registry, automation, runs, write permission (user, teams), shell orgs
    expected = count_queries(client, url)
    assert expected == 7
    link_versions(world, 9, django_capture_on_commit_callbacks)
    assert count_queries(client, url) == expected


def test_settings_lists_queries_do_not_grow(login, world, receiver):
    client = login("org_admin")
    webhooks_url = reverse("automations:webhook_list", args=["acme"])
    secrets_url = reverse("automations:secret_list", args=["acme"])
    services.create_secret(actor=world["org_admin"], org=world.org, name="S0", value="x")
    services.create_webhook(actor=world["org_admin"], org=world.org, name="w0", url=receiver.url)
    # session, user, organization, org admin permission (user, groups), rows (+ the form's secrets), shell orgs
    one = (count_queries(client, webhooks_url), count_queries(client, secrets_url))
    assert one == (8, 6)  # the webhook form lists the secrets twice (access token, secret)
    for n in range(1, 10):
        secret = services.create_secret(actor=world["org_admin"], org=world.org, name=f"S{n}", value="x")
        services.create_webhook(
            actor=world["org_admin"], org=world.org, name=f"w{n}", url=receiver.url, signing_secret=secret
        )
    assert (count_queries(client, webhooks_url), count_queries(client, secrets_url)) == one


def test_registry_users_see_only_the_webhooks_host(login, world, automation):
    url = automation_url("automation_detail", world.registry, automation.pk)
    html = login("restricted_viewer").get(url).content.decode()
    assert "http://127.0.0.1/…" in html
    assert automation.webhook.url not in html
