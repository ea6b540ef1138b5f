"""An org admin invites someone (who signs up through the link) and creates a service account with a key,
in a real Chromium (Playwright)."""

import pytest
from playwright.sync_api import expect

from apps.orgs.models import ApiKey, Membership, ServiceAccount
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_admin_invites_a_user_who_signs_up_through_the_link(chromium, live_server, browser_page, screenshot, world):
    page = browser_page
    log_in(page, "org_admin")
    page.locator(".user-menu summary").click()
    page.get_by_role("link", name="Acme ML members and teams").click()
    page.get_by_label("Username or email").fill("newcomer@example.com")
    page.get_by_role("button", name="Add or invite").click()
    link = page.locator("#invitation-link").inner_text().strip()
    assert "/invitations/" in link
    expect(page.get_by_role("cell", name="newcomer@example.com", exact=True)).to_be_visible()  # listed as pending
    screenshot("people-01-invitation-link")

    # The invitee opens the link in their own browser, creates an account and lands in the organization.
    context = chromium.new_context(base_url=live_server.url)
    invitee = context.new_page()
    invitee.goto(link)
    invitee.get_by_label("Username").fill("newcomer")
    invitee.get_by_label("Password").fill("a-long-passphrase-9")
    invitee.get_by_role("button", name="Create account and join").click()
    expect(invitee.get_by_text("Welcome to Acme ML.")).to_be_visible()
    context.close()
    assert Membership.objects.filter(org=world.org, user__username="newcomer", role="member").exists()


def test_admin_creates_a_service_account_and_its_key(browser_page, screenshot, world):
    page = browser_page
    log_in(page, "org_admin")
    page.goto("/orgs/acme/settings/service-accounts/")
    page.get_by_label("Name").fill("ci-deploy")
    page.get_by_label("Team").select_option(label="vision")
    page.get_by_role("button", name="Create service account").click()
    expect(page.get_by_role("heading", name="ci-deploy service account")).to_be_visible()
    page.get_by_label("Key name").fill("github-actions")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key").inner_text().strip()
    screenshot("people-02-service-account-key")
    account = ServiceAccount.objects.get(user__username="ci-deploy")
    assert account.team == world.team
    assert ApiKey.objects.authenticate(secret).user == account.user

    # The service account cannot use the web interface.
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill("ci-deploy")
    page.get_by_label("Password").fill("anything")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("service accounts cannot log in to the web interface")).to_be_visible()
