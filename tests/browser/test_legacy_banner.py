"""The banner between the legacy Model Registry and the new Registry, both ways, and the admin's migration action."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from apps.legacy import services
from apps.legacy.models import LegacyMigration, LegacyPreference
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def legacy_model(world):
    return services.link_model_version(
        actor=world["member"], version=world.version(), team=world.team, model_name="resnet"
    )


def test_banner_switches_both_ways_and_remembers(browser_page, screenshot, world, legacy_model):
    page = browser_page
    log_in(page, "member")
    page.goto("/vision/registry/model/")
    banner = page.get_by_role("region", name="Registry version")
    expect(banner).to_contain_text("A new Registry is available")
    screenshot("20-legacy-offers-new")
    banner.get_by_role("button", name="Switch to the new Registry").click()
    expect(page.get_by_role("heading", name="Registry", level=1)).to_be_visible()
    assert LegacyPreference.objects.get(user=world["member"]).registry_ui == "new"
    # The way back, from the new Registry.
    page.get_by_role("region", name="Registry version").get_by_role("button", name="Use legacy Model Registry").click()
    expect(page.get_by_role("heading", name="Model Registry", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="resnet")).to_be_visible()
    assert LegacyPreference.objects.get(user=world["member"]).registry_ui == "legacy"
    screenshot("21-legacy-list")


def test_admin_migrates_from_the_admin_and_the_banner_links_the_new_registry(
    browser_page, screenshot, world, legacy_model
):
    admin = world["org_admin"]
    admin.is_superuser = True
    admin.save()
    page = browser_page
    log_in(page, "org_admin")
    page.goto("/admin/legacy/legacyteam/")
    expect(page.get_by_text("0 / 1")).to_be_visible()
    page.get_by_role("checkbox").last.check()
    page.get_by_role("combobox", name="Action").select_option("migrate_selected")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("Migration queued for vision")).to_be_visible()
    screenshot("22-admin-queued")
    call_command("db_worker", "--batch", "--no-startup-delay")  # the worker
    page.reload()
    expect(page.get_by_text("1 / 1")).to_be_visible()
    expect(page.get_by_text("migrated to vision-mr-migrated")).to_be_visible()
    assert LegacyMigration.objects.get(team=world.team).finished_at is not None
    log_in(page, "member")
    page.goto("/orgs/acme/registry/")
    banner = page.get_by_role("region", name="Registry version")
    expect(banner).to_contain_text("was migrated to the registry")
    banner.get_by_role("link", name="Open vision-mr-migrated").click()
    expect(page.get_by_role("heading", name="vision-mr-migrated")).to_be_visible()
    screenshot("23-migrated-registry")
