"""A new user's first session in the Registry App, in a real Chromium (Playwright)."""

import re

import pytest
from playwright.sync_api import expect

from apps.collections.models import LinkAlias
from apps.registries.models import Registry
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def models_link(world):
    """A version linked into the core Model registry, where team `vision` (with `member`) are Members."""
    from apps.registries.services import grant_registry_role

    models = world.org.registries.get(slug="model")
    grant_registry_role(actor=world["org_admin"], registry=models, principal=world.team, role="member")
    return world.link(version=world.version(metadata={"accuracy": 0.91}), registry=models, collection="detector")


def test_member_explores_edits_in_place_and_creates(browser_page, screenshot, world, models_link):
    page = browser_page
    log_in(page, "member")
    screenshot("01-after-login")

    # Registry from the sidebar, under Applications.
    page.get_by_role("navigation", name="Applications").get_by_role("link", name="Registry").click()
    expect(page.get_by_role("heading", name="Registry", level=1)).to_be_visible()
    screenshot("02-landing")

    # A core registry, its collection, one version.
    page.get_by_role("link", name="Model", exact=True).first.click()
    expect(page.get_by_role("heading", name=re.compile("^Model"))).to_be_visible()
    screenshot("03-registry")
    page.get_by_role("link", name="detector").first.click()
    expect(page.get_by_role("heading", name=re.compile("detector"))).to_be_visible()
    screenshot("04-collection")
    page.get_by_role("link", name="v0", exact=True).first.click()
    expect(page.get_by_text("wandb-registry-Model/detector:v0").first).to_be_visible()
    screenshot("05-version")

    # Add and remove an alias in place (htmx: the page does not reload).
    page.evaluate("window.__marker = 'same page'")
    aliases = page.locator("#aliases")
    aliases.get_by_role("textbox").fill("candidate")
    aliases.get_by_role("button", name="Add alias").click()
    expect(page.locator("#aliases").get_by_text("candidate")).to_be_visible()
    assert LinkAlias.objects.filter(link=models_link, alias="candidate").exists()
    page.locator("#aliases").get_by_role("button", name="Remove alias candidate").click()
    expect(page.locator("#aliases").get_by_text("candidate")).to_have_count(0)
    assert not LinkAlias.objects.filter(link=models_link, alias="candidate").exists()

    # The same for a tag.
    tags = page.locator("#version-tags")
    tags.get_by_role("textbox").fill("validated")
    tags.get_by_role("button", name="Add tag").click()
    expect(page.locator("#version-tags").get_by_text("validated")).to_be_visible()
    page.locator("#version-tags").get_by_role("button", name="Remove tag validated").click()
    expect(page.locator("#version-tags").get_by_text("validated")).to_have_count(0)
    assert page.evaluate("window.__marker") == "same page"
    screenshot("06-version-after-edits")

    for tab in ["Metadata", "Usage", "Files", "Lineage", "History"]:
        page.locator("#version-tab").get_by_role("link", name=tab, exact=True).click()
        expect(page.locator(f".tab[aria-current=page]:has-text('{tab}')")).to_be_visible()
        screenshot(f"07-version-{tab.lower()}")

    # Create a registry through the dialog; a bad name is refused in place first.
    page.get_by_role("navigation", name="Applications").get_by_role("link", name="Registry").click()
    page.get_by_role("link", name="+ Create registry").click()
    dialog = page.locator("#create-registry-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("bad/name")
    dialog.get_by_role("button", name="Create registry").click()
    expect(dialog.get_by_text(re.compile("cannot contain"))).to_be_visible()
    dialog.get_by_label("Name").fill("Browser Models")
    dialog.get_by_role("button", name="Create registry").click()
    expect(page.get_by_role("heading", name=re.compile("Browser Models"))).to_be_visible()
    assert Registry.objects.filter(name="Browser Models", org=world.org).exists()
    screenshot("08-new-registry")

    # Create a collection in it.
    page.get_by_role("link", name="+ Create collection").click()
    dialog = page.locator("#create-collection-dialog")
    dialog.get_by_label("Name").fill("ranker")
    dialog.get_by_label("Artifact type").fill("model")
    dialog.get_by_role("button", name="Create collection").click()
    expect(page.get_by_role("heading", name=re.compile("ranker"))).to_be_visible()
    screenshot("09-new-collection")
    # The banner between the new Registry and the legacy Model Registry: tests/browser/test_legacy_banner.py.


def test_restricted_viewer_sees_no_download_controls(browser_page, screenshot, world):
    link = world.link(version=world.version(files={"sample.png": b"\x89PNG not really"}))
    page = browser_page
    log_in(page, "restricted_viewer")
    page.goto(link.get_absolute_url() + "?tab=files")
    expect(page.get_by_text("model.bin")).to_be_visible()
    expect(page.get_by_role("link", name="Download")).to_have_count(0)
    screenshot("11-restricted-viewer-files")
    log_in(page, "viewer")
    page.goto(link.get_absolute_url() + "?tab=files")
    expect(page.get_by_role("link", name="Download").first).to_be_visible()


def test_with_the_flag_off_the_sidebar_entry_is_gone(browser_page, screenshot, world, settings):
    settings.ENABLE_REGISTRY_UI = False
    page = browser_page
    log_in(page, "member")
    expect(page.get_by_role("navigation", name="Applications")).to_have_count(0)
    response = page.goto(world.registry.get_absolute_url())
    assert response.status == 404
    screenshot("12-flag-off")


def test_phone_width_layout(chromium, live_server, world, models_link):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 375, "height": 800})
    page = context.new_page()
    log_in(page, "member")
    page.goto(models_link.get_absolute_url())
    # Nothing wider than the screen: no horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    page.screenshot(
        path=str(__import__("tests.browser.conftest", fromlist=["SCREENSHOTS"]).SCREENSHOTS / "13-phone.png")
    )
    context.close()


def test_admin_adds_a_member_from_suggestions(browser_page, screenshot, world):
    from django.urls import reverse

    from apps.orgs.permissions import direct_role

    page = browser_page
    log_in(page, "registry_admin")
    page.goto(reverse("registries:registry_settings", args=[world.org.slug, world.registry.slug]))
    registry_id = world.registry.pk
    field = page.get_by_label("Username, email or team name")
    field.fill("team_")
    expect(page.locator("#member-suggestions option")).to_have_count(1)  # typed "team_": team_member
    assert page.locator("#member-suggestions option").first.get_attribute("value") == "team_member"
    page.get_by_label("Add a").select_option("team")
    expect(page.locator("#member-suggestions option")).to_have_count(0)  # no team is called "team_…"
    page.get_by_label("Add a").select_option("user")
    field.fill("team_member")
    page.locator("#id_member_role").select_option("viewer")
    page.get_by_role("button", name="Add access").click()
    expect(page.get_by_text("Access granted.").or_(page.get_by_role("status"))).to_be_visible()
    screenshot("12-member-added-from-suggestions")
    registry = Registry.objects.get(pk=registry_id)
    assert direct_role(world["team_member"], registry) == "viewer"
