"""Every page satisfies the Content-Security-Policy: the browser reports no violation on any of them.

The `browser_page` fixture fails a test on any violation; this test opens one URL of every page (the list
tests/test_every_page_renders.py keeps complete), the Django admin and the API docs, as an org admin.
"""

import pytest

from tests.browser.conftest import log_in
from tests.test_every_page_renders import pages  # noqa: F401 (one URL per page, as a fixture here)

pytestmark = pytest.mark.browser

ADMIN_PAGES = ["/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/admin/audit/auditevent/", "/api/v1/docs"]


def test_every_page_loads_without_a_csp_violation(browser_page, world, pages):  # noqa: F811
    urls, extra = pages
    page = browser_page
    admin = world["org_admin"]
    admin.is_superuser = True  # for the Django admin's pages
    admin.save(update_fields=["is_superuser"])
    page.goto("/login/")  # the anonymous visitor's page first
    log_in(page, "org_admin")
    visited = 0
    for url in [*(url for url in urls.values() if url), *extra, *ADMIN_PAGES]:
        response = page.goto(url)
        assert response.status == 200, url
        page.wait_for_load_state("load")
        visited += 1
    page.goto(ADMIN_PAGES[-1])
    page.wait_for_selector(".swagger-ui .info")  # the API docs drew themselves from their static script
    assert visited == len(urls) - 1 + len(extra) + len(ADMIN_PAGES)
    assert page.csp_messages == []
