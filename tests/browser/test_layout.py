"""Tables fit their card at 1280 and 800 px, long names wrap or are cut, and no page scrolls sideways.

At 1280 px the versions table used to hide Size and Unlink, and a visually hidden header label
inside a scrolled table widened the whole page; a 128-character collection name or a 255-character
automation name pushed columns off-screen. One browser for the module, one page per width.
"""

import pytest
from django.urls import reverse

from apps.automations import services as automations
from apps.collections import services as collections
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

LONG_COLLECTION = ("very-long-collection-name-" + "x" * 128)[:128]
LONG_AUTOMATION = ("Deploy when " + "z" * 255)[:255]

# The page's width, and every table header cell's box and the Unlink buttons' boxes against their
# card and the viewport (a cell is "in" when both its edges are).
MEASURE = """() => {
  const viewport = document.documentElement.clientWidth;
  const out = {viewport, page: document.documentElement.scrollWidth, cells: []};
  for (const cell of document.querySelectorAll('.table-wrap th, .table-wrap .row-actions .btn')) {
    const box = cell.getBoundingClientRect(), card = cell.closest('.table-wrap').getBoundingClientRect();
    if (box.width === 0) continue;
    out.cells.push({text: cell.textContent.trim() || cell.className, left: box.left, right: box.right,
                    cardLeft: card.left, cardRight: card.right});
  }
  return out;
}"""


@pytest.fixture
def long_names(world, settings):
    """A collection with a 128-character name and long aliases and tags; a 255-character automation with runs."""
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    admin = world["org_admin"]
    hook = automations.create_webhook(actor=admin, org=world.org, name="hook", url="http://127.0.0.1:9/hook")
    automations.create_automation(
        actor=admin,
        registry=world.registry,
        name=LONG_AUTOMATION,
        event_type="LINK_ARTIFACT",
        webhook=hook,
        payload_template='{"version": "${artifact_version_string}"}',
    )
    for i in range(3):
        version = world.version(name="m" * 100, content=str(i).encode(), metadata={"accuracy": 0.5 + i / 10})
        link = world.link(version=version, collection=LONG_COLLECTION, aliases=[f"{'a' * 100}{i}"])
        collections.add_version_tag(actor=admin, link=link, tag="t" * 60)
    org, registry = world.org.slug, world.registry.slug
    return {
        "collection": reverse("collections:collection_detail", args=[org, registry, LONG_COLLECTION]),
        "registry": reverse("collections:registry_detail", args=[org, registry]),
        "automations": reverse("automations:automation_list", args=[org, registry]),
        "history": reverse("automations:automation_history", args=[org, registry]),
        "members": reverse("registries:registry_settings", args=[org, registry]),
        "audit": reverse("org_audit", args=[org]),
        "search": reverse("collections:search", args=[org]) + "?q=very",
    }


@pytest.mark.parametrize("width", [1280, 800])
def test_tables_fit_their_cards_and_no_page_scrolls_sideways(chromium, live_server, world, long_names, width):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, "org_admin")
        for name, url in long_names.items():
            page.goto(url)
            measured = page.evaluate(MEASURE)
            assert measured["page"] <= measured["viewport"], f"{name} at {width}px scrolls sideways"
            assert measured["cells"], f"{name} has no table"
            for cell in measured["cells"]:
                inside = cell["cardLeft"] - 1 <= cell["left"] and cell["right"] <= cell["cardRight"] + 1
                assert inside and cell["right"] <= measured["viewport"], f"{name} at {width}px hides {cell}"
        # The versions table shows all its columns, Size and an Unlink button per row among them.
        page.goto(long_names["collection"])
        headers = page.locator(".versions-table th").all_inner_texts()
        assert headers[1:8] == ["Version", "Aliases", "Tags", "Source", "Created by", "Linked", "Size"]
        assert page.locator(".versions-table").get_by_role("button", name="Unlink").count() == 3
        # Cut names keep their whole text in a title.
        assert page.locator(f".versions-table .chip[title='{'a' * 100}0']").count() == 1
    finally:
        context.close()


ROWS = """(selector) => [...document.querySelectorAll(selector)].map(el => {
  const box = el.getBoundingClientRect(); return {top: Math.round(box.top), bottom: Math.round(box.bottom)};
})"""


def test_members_table_and_audit_filters_line_up(chromium, live_server, world, long_names):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, "org_admin")
        page.goto(long_names["members"])
        rows = page.locator("#settings-members tbody tr")
        assert rows.count() >= 4
        for i in range(rows.count()):
            # Every cell of a row, Actions included, spans the whole row (a flex <td> did not).
            cells = page.evaluate(ROWS, f"#settings-members tbody tr:nth-child({i + 1}) > td")
            assert len({(c["top"], c["bottom"]) for c in cells}) == 1, cells
        # The add-access row: its label tops and its controls' boxes (inputs, selects, button) align.
        controls = page.evaluate(ROWS, "#settings-members form.toolbar :is(select, input[type=text], button)")
        assert len({(c["top"], c["bottom"]) for c in controls}) == 1, controls
        labels = page.evaluate(ROWS, "#settings-members form.toolbar label")
        assert len({c["top"] for c in labels}) == 1, labels
        # The org audit filters fit one row at 1280 px; the details read before → after.
        page.goto(long_names["audit"])
        filters = page.evaluate(ROWS, ".audit-log-filters :is(input, select, button)")
        assert len(filters) == 6 and len({c["top"] for c in filters}) == 1, filters
        assert page.locator(".audit-details .before").first.is_visible()
    finally:
        context.close()
