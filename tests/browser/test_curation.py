"""Curation (issue 16) in a real Chromium: a refusal shows inside its dialog, renaming a collection from
its page, the metadata JSON editor, and a Restricted Viewer's Usage tab."""

import re

import pytest
from playwright.sync_api import expect

from apps.artifacts.models import ArtifactVersion
from apps.collections.models import Collection
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_member_curates_a_collection_and_a_version(browser_page, screenshot, world):
    link = world.link(version=world.version(metadata={"acc": 0.91}), aliases=["production"])
    page = browser_page
    log_in(page, "member")
    old_url = link.collection.get_absolute_url()
    page.goto(old_url)

    # Deleting a collection a protected alias holds is refused inside the dialog, not on a 403 page.
    page.get_by_role("button", name="Delete collection").click()
    dialog = page.locator("#delete-collection-dialog")
    dialog.get_by_label(re.compile("to confirm")).fill("classifier")
    dialog.get_by_role("button", name="Delete collection").click()
    expect(dialog.locator(".dialog-error")).to_contain_text("only registry admins can delete it")
    expect(dialog).to_be_visible()
    assert Collection.objects.filter(pk=link.collection_id).exists()
    screenshot("curation-01-refused-in-dialog")
    dialog.get_by_role("button", name="Cancel").click()

    # Rename from the page; the old address still leads to it.
    page.get_by_role("button", name="Rename…").click()
    dialog = page.locator("#rename-collection-dialog")
    dialog.get_by_label("New name").fill("bad/name")
    dialog.get_by_role("button", name="Rename").click()
    expect(dialog.get_by_text(re.compile("cannot contain"))).to_be_visible()
    dialog.get_by_label("New name").fill("detector")
    dialog.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name=re.compile("^detector"))).to_be_visible()
    page.goto(old_url)
    expect(page.get_by_role("heading", name=re.compile("^detector"))).to_be_visible()
    screenshot("curation-02-renamed")

    # The metadata editor checks the JSON as it is typed, then saves in place.
    page.goto(Collection.objects.get(pk=link.collection_id).get_absolute_url() + "v0/?tab=metadata")
    page.get_by_role("link", name="Edit metadata").click()
    editor = page.get_by_label("Metadata (a JSON object)")
    editor.fill('{"acc": ')
    expect(page.locator("[data-json-status]")).to_contain_text("Not valid JSON")
    expect(page.get_by_role("button", name="Save metadata")).to_be_disabled()
    editor.fill('{"acc": 0.99, "reviewed": true}')
    expect(page.get_by_role("button", name="Save metadata")).to_be_enabled()
    page.get_by_role("button", name="Save metadata").click()
    expect(page.locator("#version-tab pre")).to_contain_text('"reviewed": true')
    assert ArtifactVersion.objects.get(pk=link.version_id).metadata == {"acc": 0.99, "reviewed": True}
    screenshot("curation-03-metadata-saved")

    # Its team deletes the source version from its page (it is unlinked), then restores it.
    page.goto(link.version.get_absolute_url())
    page.get_by_role("link", name="Delete…").click()
    dialog = page.locator("#delete-dialog")
    # `production` still holds it: the dialog says so and offers no Delete.
    expect(dialog.locator(".form-errors")).to_contain_text("“production” on wandb-registry-Golden Models/detector:v0")
    expect(dialog.get_by_role("button", name="Delete version")).to_be_disabled()
    dialog.get_by_role("button", name="Cancel").click()
    assert ArtifactVersion.objects.get(pk=link.version_id).state == "committed"
    other = world.version(name="scratch")
    page.goto(other.get_absolute_url())
    page.get_by_role("link", name="Delete…").click()
    page.locator("#delete-dialog").get_by_role("button", name="Delete version").click()
    expect(page.get_by_role("heading", name="Deleted versions")).to_be_visible()
    screenshot("curation-04-deleted-versions")
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("heading", name=re.compile("^scratch"))).to_be_visible()
    assert ArtifactVersion.objects.get(pk=other.pk).state == "committed"

    # A Restricted Viewer's Usage tab has no snippet that would be refused.
    log_in(page, "restricted_viewer")
    page.goto(Collection.objects.get(pk=link.collection_id).get_absolute_url() + "v0/?tab=usage")
    expect(page.get_by_text("version.metadata", exact=False)).to_be_visible()
    expect(page.locator("pre", has_text=".download()")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit metadata")).to_have_count(0)
