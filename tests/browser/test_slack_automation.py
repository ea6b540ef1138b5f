"""A Member creates a Slack automation from a collection's page, in a real Chromium; a link then posts its
Block Kit message to a local receiver."""

import pytest
from playwright.sync_api import expect

from apps.automations import services
from apps.automations.models import Automation, Scope
from tests.automations.conftest import receiver  # noqa: F401 (a fixture)
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_member_creates_a_slack_automation_from_a_collection_page(browser_page, world, receiver, settings):  # noqa: F811
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.SITE_URL = "https://registry.example.com"
    services.create_slack_channel(actor=world["org_admin"], org=world.org, name="ml-releases", url=receiver.url)
    collection = world.link().collection
    page = browser_page
    log_in(page, "member")
    page.goto(collection.get_absolute_url())
    # The collection's Automations panel loads (htmx) with its run count.
    expect(page.locator("#collection-automations").get_by_text("0 runs")).to_be_visible()

    page.get_by_role("link", name="Create automation", exact=True).click()
    expect(page.get_by_text("Scope: collection classifier")).to_be_visible()
    page.get_by_label("Event").select_option("LINK_ARTIFACT")
    page.get_by_label("Action").select_option(label="Slack: ml-releases")
    page.get_by_label("Name").fill("Tell ml-releases")
    page.get_by_role("button", name="Create automation").click()

    expect(page.locator("#collection-automations").get_by_role("link", name="Tell ml-releases")).to_be_visible()
    automation = Automation.objects.get(name="Tell ml-releases")
    assert (automation.scope, automation.collection, automation.webhook.kind) == (Scope.COLLECTION, collection, "slack")

    world.registry.refresh_from_db(fields=["has_automations"])  # set by the request that created it
    world.link(version=world.version(content=b"v2"))
    assert len(receiver.requests) == 1
    blocks = receiver.requests[0].json["blocks"]
    assert blocks[0]["text"]["text"] == "A new version is linked to a collection"
    assert (
        blocks[2]["elements"][0]["url"]
        == "https://registry.example.com/orgs/acme/registry/golden-models/classifier/v1/"
    )
