"""The automations API: every scope, webhook and Slack actions, the notify switch; permission matrices and
audit events through real API keys."""

import pytest

from apps.audit.models import Action, AuditEvent
from apps.automations import services
from apps.automations.models import Automation, Scope

GOLDEN = "acme/wandb-registry-Golden Models"


@pytest.fixture
def slack(world, receiver):
    return services.create_slack_channel(actor=world["org_admin"], org=world.org, name="releases", url=receiver.url)


@pytest.fixture
def collection(world):
    return world.link().collection


def body(scope, **fields):
    return {"scope": scope, "event_type": "LINK_ARTIFACT", "action": "releases", "name": f"by {scope}", **fields}


# Who may create each scope: registry/collection: its Members and Admins; team: its members and org admins;
# organization: org admins. Invisible targets answer 404, anonymous callers 401.
CREATE = {
    "collection": {"org_admin": 201, "registry_admin": 201, "member": 201, "team_member": 201, "viewer": 403,
                   "restricted_viewer": 403, "outsider": 404, "anonymous": 401},
    "registry": {"org_admin": 201, "registry_admin": 201, "member": 201, "team_member": 201, "viewer": 403,
                 "restricted_viewer": 403, "outsider": 404, "anonymous": 401},
    "team": {"org_admin": 201, "registry_admin": 404, "member": 201, "team_member": 201, "viewer": 404,
             "restricted_viewer": 404, "outsider": 404, "anonymous": 401},
    "organization": {"org_admin": 201, "registry_admin": 403, "member": 403, "team_member": 403, "viewer": 403,
                     "restricted_viewer": 403, "outsider": 404, "anonymous": 401},
}  # fmt: skip


@pytest.mark.parametrize("persona", list(CREATE["team"]))
def test_create_permission_matrix(api, world, collection, slack, persona):
    targets = {
        "collection": {"collection": f"{GOLDEN}/classifier"},
        "registry": {"registry": GOLDEN},
        "team": {"team": "vision"},
        "organization": {"org": "acme"},
    }
    client = api(persona)
    for scope, fields in targets.items():
        before = AuditEvent.objects.count()
        response = client.post("automations", body(scope, **fields))
        expected = CREATE[scope][persona]
        assert response.status_code == expected, (scope, response.content)
        if expected == 201:
            data = response.json()
            assert (data["scope"], data["action"], data["org"]) == (
                scope,
                {"kind": "slack", "name": "releases"},
                "acme",
            )
            assert data["collection"] == ("classifier" if scope == "collection" else None)
            event = AuditEvent.objects.latest("id")
            assert (event.action, event.data["scope"]) == (Action.AUTOMATION_CREATE, scope)
            assert AuditEvent.objects.count() == before + 1
        else:
            assert "detail" in response.json()
            assert not Automation.objects.filter(scope=scope).exists()
            assert AuditEvent.objects.count() == before


def test_bad_input_is_a_clear_400_and_writes_nothing(api, world, slack):
    client = api("org_admin")
    for payload, message in [
        (body("galaxy"), "Use one of"),
        (body("organization", org="acme", event_type="NOPE"), "Use one of"),
        (body("organization", org="acme", action="nope"), "no webhook or Slack channel"),
        (body("registry", registry=GOLDEN, event_type="CREATE_ARTIFACT"), "registry automation can watch"),
        (body("organization", org="acme", rate_limit_per_minute=0), "Invalid request"),
        (body("organization", org="acme", team="vision"), "takes “org”, not team"),
        (body("registry", registry=GOLDEN, event_type="ADD_ARTIFACT_ALIAS", alias_regex="a\u202eb"), "invisible"),
    ]:
        response = client.post("automations", payload)
        assert response.status_code == 400, (payload, response.content)
        assert message in response.json()["detail"]
    assert not Automation.objects.exists()


def test_list_shows_what_each_persona_may_see_with_run_counts(
    api, world, slack, collection, django_capture_on_commit_callbacks
):
    services.create_automation(
        actor=world["org_admin"], org=world.org, name="org", event_type="LINK_ARTIFACT", webhook=slack
    )
    services.create_automation(
        actor=world["member"], team=world.team, name="team", event_type="LINK_ARTIFACT", webhook=slack
    )
    services.create_automation(
        actor=world["member"], registry=world.registry, name="reg", event_type="LINK_ARTIFACT", webhook=slack
    )
    with django_capture_on_commit_callbacks(execute=True):
        world.link()
    names = {
        p: {a["name"] for a in api(p).get("automations").json()["items"]}
        for p in ["org_admin", "member", "viewer", "outsider"]
    }
    assert names == {
        "org_admin": {"org", "team", "reg"},
        "member": {"team", "reg"},
        "viewer": {"reg"},
        "outsider": set(),
    }
    rows = {a["name"]: a for a in api("org_admin").get("automations", {"scope": "organization"}).json()["items"]}
    assert list(rows) == ["org"]
    assert (rows["org"]["finished_runs"], rows["org"]["failed_runs"], rows["org"]["last_run_status"]) == (
        1,
        0,
        "finished",
    )
    page = api("org_admin").get("automations", {"per_page": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = api("org_admin").get("automations", {"per_page": 2, "cursor": page["next_cursor"]}).json()
    assert [a["name"] for a in rest["items"]] == ["org"] and rest["next_cursor"] is None
    assert api("anonymous").get("automations").status_code == 401


@pytest.mark.parametrize(
    ("persona", "status"),
    [("org_admin", 204), ("member", 204), ("viewer", 403), ("restricted_viewer", 403), ("outsider", 404),
     ("anonymous", 401)],
)  # fmt: skip
def test_delete_permissions(api, world, slack, persona, status):
    automation = services.create_automation(
        actor=world["member"], registry=world.registry, name="reg", event_type="LINK_ARTIFACT", webhook=slack
    )
    response = api(persona).delete(f"automations/{automation.pk}")
    assert response.status_code == status
    assert Automation.objects.filter(pk=automation.pk).exists() is (status != 204)
    if status == 204:
        assert AuditEvent.objects.latest("id").action == Action.AUTOMATION_DELETE


@pytest.mark.parametrize(
    ("persona", "status"),
    [("org_admin", 200), ("member", 200), ("team_member", 200), ("viewer", 403), ("restricted_viewer", 403),
     ("outsider", 404), ("anonymous", 401)],
)  # fmt: skip
def test_notify_switch_permissions(api, world, collection, slack, persona, status):
    path = f"collections/notify?path={GOLDEN}/classifier"
    response = api(persona).put(path, {"enabled": True, "action": "releases"})
    assert response.status_code == status, response.content
    if status == 200:
        data = response.json()
        assert data["enabled"] is True
        assert data["automation"]["new_version_notification"] is True
        assert data["automation"]["scope"] == Scope.COLLECTION
        off = api(persona).put(path, {"enabled": False})
        assert off.json() == {"enabled": False, "automation": None}
        assert AuditEvent.objects.latest("id").action == Action.AUTOMATION_DELETE
    assert not Automation.objects.exists()
