"""The client's automation methods against the live server: create for each scope, list, notify, delete."""

import pytest

from apps.automations import services
from registry_client import InvalidInput, PermissionDenied

from .conftest import GOLDEN

pytestmark = pytest.mark.django_db(transaction=True)


def test_automations_through_the_client(world, as_persona, settings):
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    services.create_slack_channel(
        actor=world["org_admin"], org=world.org, name="releases", url="http://127.0.0.1:9/services/T/B/x"
    )
    world.link()
    member, admin = as_persona("member"), as_persona("org_admin")
    made = member.create_automation("on link", "LINK_ARTIFACT", "releases", collection=f"{GOLDEN}/classifier")
    assert (made["scope"], made["collection"], made["action"]["kind"]) == ("collection", "classifier", "slack")
    team = member.create_automation("new versions", "CREATE_ARTIFACT", "releases", team="vision")
    assert team["scope"] == "team"
    with pytest.raises(PermissionDenied):
        member.create_automation("everything", "LINK_ARTIFACT", "releases", org="acme")
    admin.create_automation("everything", "ADD_ARTIFACT_ALIAS", "releases", org="acme", alias_regex="^prod")
    with pytest.raises(InvalidInput):
        member.create_automation("two scopes", "LINK_ARTIFACT", "releases", team="vision", registry=GOLDEN)
    assert {a["name"] for a in member.automations(org="acme")} == {"on link", "new versions"}
    assert {a["name"] for a in admin.automations(scope="organization")} == {"everything"}

    notify = member.set_new_version_notification(f"{GOLDEN}/classifier", "releases")
    assert notify["enabled"] and notify["automation"]["new_version_notification"]
    assert member.set_new_version_notification(f"{GOLDEN}/classifier", enabled=False) == {
        "enabled": False,
        "automation": None,
    }
    member.delete_automation(made["id"])
    assert {a["name"] for a in member.automations()} == {"new versions"}
