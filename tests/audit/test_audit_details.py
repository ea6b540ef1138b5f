"""Audit tables show each event's data as readable items, before → after, never Python's dict text."""

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.collections import services as collections
from apps.registries import services as registries


def _details(data: dict) -> list[dict]:
    return AuditEvent(action=Action.ROLE_UPDATE, data=data).details()


def test_a_top_level_change_is_one_before_after_item_beside_the_facts():
    assert _details({"member": "alice", "from": "viewer", "to": "member"}) == [
        {"label": "", "before": "viewer", "after": "member"},
        {"label": "member", "value": "alice"},
    ]
    assert _details({"member": "alice", "from": "viewer"}) == [
        {"label": "", "before": "viewer", "after": "none"},
        {"label": "member", "value": "alice"},
    ]


def test_nested_changes_lists_and_empty_facts():
    items = _details(
        {"name": "notify", "payload_template": {"from": None, "to": "{}"}, "added": ["model", "dataset"], "x": None}
    )
    assert items == [
        {"label": "name", "value": "notify"},
        {"label": "payload template", "before": "none", "after": "{}"},
        {"label": "added", "value": "model, dataset"},
    ]


def test_an_alias_moved_from_another_version_reads_before_after_and_a_fresh_one_not_at_all():
    assert _details({"alias": "production", "version": "v5", "moved_from": None}) == [
        {"label": "alias", "value": "production"},
        {"label": "version", "value": "v5"},
    ]
    assert _details({"alias": "production", "version": "v5", "moved_from": "v4"})[-1] == {
        "label": "moved",
        "before": "v4",
        "after": "v5",
    }


def test_long_values_are_cut_and_whitespace_folded():
    (item,) = _details({"description": {"from": "", "to": "line\n" * 40}})
    assert item["before"] == "none"
    assert len(item["after"]) == 80 and item["after"].endswith("…") and "\n" not in item["after"]


@pytest.mark.parametrize("page", ["org", "registry"])
def test_audit_pages_show_readable_details(client, world, page):
    admin = world["org_admin"]
    registries.grant_registry_role(actor=admin, registry=world.registry, principal=world["viewer"], role="member")
    link = world.link(aliases=["candidate"])
    collections.add_alias(actor=admin, link=world.link(version=world.version(content=b"2")), alias="candidate")
    client.force_login(admin)
    if page == "org":
        url = reverse("org_audit", args=[world.org.slug])
    else:
        url = reverse("registries:registry_audit", args=[world.org.slug, world.registry.slug])
    html = client.get(url).content.decode()
    assert '<span class="before">viewer</span> → <span class="after">member</span>' in html
    assert (
        f'<span class="muted">moved</span> <span class="before">v{link.index}</span> → <span class="after">v1</span>'
        in html
    )
    assert "{&#x27;" not in html and "{'" not in html and "&#x27;moved_from&#x27;" not in html
