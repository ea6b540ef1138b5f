"""The collection's Automations panel, picker and notify switch; the organization's Automations hub and its
team and organization automations; Slack channels in the settings. Permission matrices, htmx, query counts."""

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.automations import services
from apps.automations.models import Automation, AutomationRun, EventType, RunStatus, Scope, Webhook
from tests.automations.test_views import count_queries, org_admin_only
from tests.conftest import ALL, assert_fragment, assert_status, statuses

WRITERS = statuses(200, org_viewers=403)


@pytest.fixture
def slack(world, receiver):
    return services.create_slack_channel(actor=world["org_admin"], org=world.org, name="releases", url=receiver.url)


@pytest.fixture
def collection(world):
    return world.link().collection


def reg_url(name, world, *args, query=""):
    return reverse(f"automations:{name}", args=[world.org.slug, world.registry.slug, *args]) + query


def hub_url(name, world, *args):
    return reverse(f"automations:{name}", args=[world.org.slug, *args])


def org_statuses(ok, *, team=None, others=403):
    """Org pages: org members see them (others 403 where it is forbidden), outsiders 404, anonymous → login."""
    table = dict.fromkeys(ALL, others)
    table.update(org_admin=ok, outsider=404, anonymous=302)
    if team is not None:
        table.update(team_member=team, member=team)
    return [(persona, table[persona]) for persona in ALL]


# --- the collection page ---------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_collection_panel_permissions(login, world, collection, slack, persona, status):
    services.set_new_version_notification(actor=world["org_admin"], collection=collection, action=slack, enabled=True)
    response = login(persona).get(reg_url("collection_automations", world, collection.pk))
    assert_status(response, persona, status)
    if status == 200:
        html = response.content.decode()
        assert "New version in classifier" in html
        writer = persona in {"org_admin", "registry_admin", "member", "team_member"}
        assert ("Turn off" in html) is writer
        assert (f"?collection={collection.pk}" in html) is writer


def test_collection_page_offers_create_automation_and_loads_the_panel(login, world, collection):
    url = collection.get_absolute_url()
    panel = reg_url("collection_automations", world, collection.pk)
    create = reg_url("automation_create", world, query=f"?collection={collection.pk}")
    html = login("member").get(url).content.decode()
    assert f'hx-get="{panel}"' in html
    assert create in html
    assert create not in login("viewer").get(url).content.decode()
    # The registry page's row menu has it too.
    html = login("member").get(world.registry.get_absolute_url()).content.decode()
    assert create in html and "Link new version" in html


def test_collection_panel_counts_runs_in_constant_queries(
    login, world, collection, webhook, make_automation, django_capture_on_commit_callbacks
):
    make_automation(name="on link", collection=collection)
    client = login("member")
    url = reg_url("collection_automations", world, collection.pk)
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    # session, user, registry, collection, automations (last run subquery), run counts (one aggregate),
    # can_write, the notify switch's actions, the shell's organizations
    expected = count_queries(client, url)
    assert expected == 9
    for n in range(4):
        make_automation(name=f"more {n}", collection=collection)
        with django_capture_on_commit_callbacks(execute=True):
            world.link(version=world.version(content=f"w{n}".encode()))
    assert count_queries(client, url) == expected
    # 1 run for the first link, then 2, 3, 4 and 5 as automations were added: counted in SQL.
    assert AutomationRun.objects.filter(registry=world.registry).count() == 15
    html = client.get(url).content.decode()
    assert "15 runs" in html and "15 finished · 0 failed" in html


@pytest.mark.parametrize(("persona", "status"), statuses(200, org_viewers=403))
def test_notify_switch_permissions(login, world, collection, slack, persona, status):
    url = reg_url("collection_notify", world, collection.pk)
    response = login(persona).post(url, {"enabled": "on", "action": slack.pk}, headers={"HX-Request": "true"})
    assert_status(response, persona, status)
    notification = Automation.objects.filter(collection=collection, is_new_version_notification=True)
    assert notification.exists() is (status == 200)
    if status == 200:
        assert_fragment(response, "collection-automations")
        assert "Turn off" in response.content.decode()
        assert AuditEvent.objects.latest("id").action == Action.AUTOMATION_CREATE
        response = login(persona).post(url, {"enabled": "off"})
        assert response.status_code == 302
        assert not notification.exists()


def test_notify_switch_refuses_another_orgs_action_inline(login, world, collection, receiver):
    theirs = services.create_webhook(actor=world["outsider"], org=world.other_org, name="x", url=receiver.url)
    response = login("member").post(
        reg_url("collection_notify", world, collection.pk),
        {"enabled": "on", "action": theirs.pk},
        headers={"HX-Request": "true"},
    )
    assert_fragment(response, "collection-automations")
    assert "Pick a Slack channel or webhook" in response.content.decode()
    assert not Automation.objects.exists()


@pytest.mark.parametrize(("persona", "status"), WRITERS)
def test_create_with_a_fixed_collection_permissions(login, world, collection, slack, persona, status):
    url = reg_url("automation_create", world, query=f"?collection={collection.pk}")
    response = login(persona).get(url)
    assert_status(response, persona, status)
    if status == 200:
        html = response.content.decode()
        assert "Scope:</strong> collection <strong>classifier" in html
        assert 'type="hidden" name="collection"' in html


def test_create_with_a_fixed_collection_creates_it_there(login, world, collection, slack):
    url = reg_url("automation_create", world, query=f"?collection={collection.pk}")
    form = {"event_type": EventType.LINK_ARTIFACT, "collection": collection.pk, "webhook": slack.pk, "name": "ping"}
    response = login("member").post(url, form)
    assert response.status_code == 302
    assert response["Location"] == collection.get_absolute_url()
    automation = Automation.objects.get()
    assert (automation.scope, automation.collection, automation.webhook) == (Scope.COLLECTION, collection, slack)
    assert login("member").get(reg_url("automation_create", world, query="?collection=999999")).status_code == 404


@pytest.mark.parametrize(("persona", "status"), WRITERS)
def test_collection_picker_permissions(login, world, collection, persona, status):
    world.link(collection="detector-big")
    response = login(persona).get(reg_url("collection_options", world, query="?q=big"))
    assert_status(response, persona, status)
    if status == 200:
        html = response.content.decode()
        assert ">detector-big</option>" in html and ">classifier<" not in html


# --- Slack channels in the settings ---------------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), org_admin_only(302))
def test_slack_create_permissions(login, world, receiver, persona, status):
    url = hub_url("slack_create", world)
    response = login(persona).post(url, {"name": "ml-releases", "url": receiver.url})
    assert_status(response, persona, status)
    created = Webhook.objects.filter(name="ml-releases", kind="slack")
    assert created.exists() is (status == 302 and persona != "anonymous")
    if created.exists():
        assert created.get().site_url == "http://testserver"
        html = login(persona).get(hub_url("webhook_list", world)).content.decode()
        assert "Slack notification" in html and receiver.url not in html


def test_slack_create_shows_errors_on_its_form(login, world):
    response = login("org_admin").post(hub_url("slack_create", world), {"name": "bad/name", "url": "http://x.invalid/"})
    assert response.status_code == 200
    assert "Connect a Slack channel" in response.content.decode()
    assert not Webhook.objects.exists()


# --- the hub and team/organization automations ------------------------------------------------------


@pytest.fixture
def org_automation(world, slack):
    return services.create_automation(
        actor=world["org_admin"], org=world.org, name="org wide", event_type=EventType.LINK_ARTIFACT, webhook=slack
    )


@pytest.fixture
def team_automation(world, slack):
    return services.create_automation(
        actor=world["team_member"],
        team=world.team,
        name="team new",
        event_type=EventType.CREATE_ARTIFACT,
        webhook=slack,
    )


@pytest.mark.parametrize(("persona", "status"), org_statuses(200, others=200))
def test_hub_permissions_and_what_each_persona_sees(
    login, world, org_automation, team_automation, make_automation, persona, status
):
    make_automation(name="registry one")
    response = login(persona).get(hub_url("automation_hub", world))
    assert_status(response, persona, status)
    if status == 200:
        html = response.content.decode()
        assert ("org wide" in html) is (persona == "org_admin")
        assert ("team new" in html) is (persona in {"org_admin", "member", "team_member"})
        assert ("registry one" in html) is (persona not in {"outsider", "anonymous"})


def test_hub_shows_scope_last_run_and_success_rate_in_constant_queries(
    login, world, slack, receiver, org_automation, django_capture_on_commit_callbacks
):
    client = login("org_admin")
    url = hub_url("automation_hub", world)
    world.registry.refresh_from_db(fields=["has_automations"])  # flagged by the org automation
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    # session, user, org, automations with last run and run counts (subqueries), can_create (org admin
    # permission), the shell's organizations
    expected = count_queries(client, url)
    assert expected == 6
    receiver.status = 400  # permanent failures
    for n in range(5):
        services.create_automation(
            actor=world["org_admin"], team=world.team, name=f"t{n}", event_type=EventType.LINK_ARTIFACT, webhook=slack
        )
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    assert count_queries(client, url) == expected
    rows = {a.name: a for a in client.get(url).context["page"].rows}
    assert (rows["org wide"].finished_runs, rows["org wide"].failed_runs) == (1, 1)
    assert rows["org wide"].last_run_status == RunStatus.FAILED
    html = client.get(url).content.decode()
    assert '50% <span class="small muted">of 2</span>' in html
    assert "organization acme" in html


def test_hub_pages_with_a_keyset_cursor_and_filters_by_scope(login, world, slack, make_automation, settings):
    from apps.automations import views

    settings_size = views.HUB_PAGE_SIZE
    views.HUB_PAGE_SIZE = 2
    try:
        for n in range(3):
            make_automation(name=f"r{n}")
        client = login("member")
        first = client.get(hub_url("automation_hub", world))
        page = first.context["page"]
        assert [a.name for a in page.rows] == ["r2", "r1"]
        second = client.get(
            hub_url("automation_hub", world) + f"?after={page.next_cursor}", headers={"HX-Request": "true"}
        )
        assert_fragment(second, "hub-table")
        html = second.content.decode()
        assert ">r0</a>" in html and ">r1</a>" not in html
        assert ">r2</a>" in client.get(hub_url("automation_hub", world) + "?after=garbage").content.decode()
        assert client.get(hub_url("automation_hub", world) + "?scope=team").context["page"].rows == []
    finally:
        views.HUB_PAGE_SIZE = settings_size


@pytest.mark.parametrize(("persona", "status"), org_statuses(200, team=200))
def test_org_create_page_permissions(login, world, slack, persona, status):
    assert_status(login(persona).get(hub_url("org_automation_create", world)), persona, status)


@pytest.mark.parametrize(
    ("persona", "scope", "status"),
    [
        ("org_admin", "organization", 302),
        ("org_admin", "team", 302),
        ("team_member", "team", 302),
        ("team_member", "organization", 403),
        ("registry_admin", "organization", 403),
        ("viewer", "organization", 403),
        ("outsider", "organization", 404),
        ("anonymous", "organization", 302),
    ],
)
def test_org_create_permissions(login, world, slack, persona, scope, status):
    form = {"scope": scope, "team": world.team.pk, "event_type": "LINK_ARTIFACT", "webhook": slack.pk, "name": "x"}
    response = login(persona).post(hub_url("org_automation_create", world), form)
    if persona == "team_member" and scope == "organization" or persona in {"registry_admin", "viewer"}:
        # Not an org admin: the service refuses (403); someone outside the team cannot pick it either.
        assert response.status_code in {200, 403}
        assert not Automation.objects.exists()
        return
    assert_status(response, persona, status)
    assert Automation.objects.filter(name="x", scope=scope).exists() is (status == 302 and persona != "anonymous")


@pytest.mark.parametrize(("persona", "status"), org_statuses(200, team=200, others=404))
def test_team_automation_detail_permissions(login, world, team_automation, persona, status):
    response = login(persona).get(hub_url("org_automation_detail", world, team_automation.pk))
    assert_status(response, persona, status)


@pytest.mark.parametrize(("persona", "status"), org_statuses(302, others=404))
def test_org_automation_toggle_edit_delete_permissions(login, world, org_automation, persona, status):
    client = login(persona)
    response = client.post(hub_url("org_automation_toggle", world, org_automation.pk))
    assert_status(response, persona, status)
    assert Automation.objects.get(pk=org_automation.pk).enabled is (status != 302 or persona == "anonymous")
    form = {"event_type": "LINK_ARTIFACT", "webhook": org_automation.webhook_id, "name": "renamed"}
    response = client.post(hub_url("org_automation_edit", world, org_automation.pk), form)
    assert_status(response, persona, status)
    response = client.post(hub_url("org_automation_delete", world, org_automation.pk))
    assert_status(response, persona, status)
    assert Automation.objects.filter(pk=org_automation.pk).exists() is (status != 302 or persona == "anonymous")
    if persona == "org_admin":
        actions = list(AuditEvent.objects.filter(target_type="automation").values_list("action", flat=True))
        assert actions[:3] == [Action.AUTOMATION_DELETE, Action.AUTOMATION_UPDATE, Action.AUTOMATION_UPDATE]


def test_org_run_replay_sends_again(login, world, org_automation, receiver, django_capture_on_commit_callbacks):
    world.registry.refresh_from_db(fields=["has_automations"])
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    run = AutomationRun.objects.get()
    assert login("member").post(hub_url("org_run_replay", world, run.pk)).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = login("org_admin").post(hub_url("org_run_replay", world, run.pk))
    assert response.status_code == 302
    assert len(receiver.requests) == 2
    assert AuditEvent.objects.latest("id").action == Action.AUTOMATION_REPLAY


def test_org_automation_forms_cancel_back_to_the_automation_or_the_hub(login, world, org_automation):
    client = login("org_admin")
    html = client.get(hub_url("org_automation_edit", world, org_automation.pk)).content.decode()
    assert f'<a class="btn" href="{org_automation.get_absolute_url()}">Cancel</a>' in html and "Save automation" in html
    html = client.get(hub_url("org_automation_create", world)).content.decode()
    assert f'<a class="btn" href="{hub_url("automation_hub", world)}">Cancel</a>' in html
