"""Registry settings: read-only for viewers, one POST endpoint per action for admins."""

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEvent
from apps.orgs.permissions import direct_role
from apps.registries import services as registries
from apps.registries.models import Registry, Visibility
from tests.conftest import assert_fragment, assert_status, statuses


def url(registry, action=None):
    name = "registry_settings" + (f"_{action}" if action else "")
    return reverse(f"registries:{name}", args=[registry.org.slug, registry.slug])


@pytest.mark.parametrize(("persona", "status"), statuses(200))
def test_settings_page_permissions(login, world, persona, status):
    assert_status(login(persona).get(url(world.registry)), persona, status)


@pytest.mark.parametrize(
    ("persona", "controls"), [("registry_admin", True), ("member", False), ("restricted_viewer", False)]
)
def test_settings_controls_only_for_admins(login, world, persona, controls):
    html = login(persona).get(url(world.registry)).content.decode()
    assert ("Add access" in html) is controls
    assert ("Delete registry" in html) is controls
    assert ("Rename" in html) is controls
    assert "production" in html  # everyone sees the protected aliases
    assert "Read only" in html or controls


def test_settings_lists_users_and_teams_with_effective_roles_but_not_org_groups(login, world):
    # team_member is a Member through team vision; their own role is lower.
    registries.grant_registry_role(
        actor=world["org_admin"], registry=world.registry, principal=world["team_member"], role="restricted_viewer"
    )
    html = login("viewer").get(url(world.registry)).content.decode()
    assert "vision" in html
    assert "org:acme" not in html
    row = html[html.index("team_member") :][:600]
    assert "Restricted Viewer" in row and "effective: Member" in row


def test_core_registry_has_no_rename_or_delete(login, world):
    models = world.org.registries.get(slug="model")
    html = login("org_admin").get(url(models)).content.decode()
    assert 'id="settings-danger"' not in html
    assert "core registries keep their name" in html


# (action, data, what the registry looks like afterwards, audit action)
ACTIONS = [
    (
        "description",
        {"description": "Promoted models"},
        lambda r: r.description == "Promoted models",
        Action.REGISTRY_UPDATE,
    ),
    (
        "types",
        {"artifact_types": "onnx, checkpoint"},
        lambda r: r.artifact_types == ["model", "onnx", "checkpoint"],
        Action.REGISTRY_ADD_TYPES,
    ),
    (
        "alias_add",
        {"alias": "staging"},
        lambda r: r.protected_aliases.filter(alias="staging").exists(),
        Action.PROTECTED_ALIAS_CREATE,
    ),
    (
        "alias_remove",
        {"alias": "production"},
        lambda r: not r.protected_aliases.exists(),
        Action.PROTECTED_ALIAS_DELETE,
    ),
    ("member_add", {"kind": "team", "name": "vision", "role": "viewer"}, None, Action.ROLE_UPDATE),
    ("member_role", {"kind": "user", "name": "viewer", "role": "member"}, None, Action.ROLE_UPDATE),
    ("member_remove", {"kind": "user", "name": "restricted_viewer"}, None, Action.ROLE_DELETE),
    ("owner", {"username": "member"}, lambda r: r.owner.username == "member", Action.REGISTRY_SET_OWNER),
]
SECTIONS = {
    "description": "settings-general",
    "types": "settings-types",
    "alias_add": "settings-protected-aliases",
    "alias_remove": "settings-protected-aliases",
    "member_add": "settings-members",
    "member_role": "settings-members",
    "member_remove": "settings-members",
    "owner": "settings-members",
}


@pytest.mark.parametrize("action", [a[0] for a in ACTIONS] + ["rename", "delete", "visibility"])
@pytest.mark.parametrize(("persona", "status"), statuses(302, writers=403, org_viewers=403))
def test_settings_action_permissions(login, world, action, persona, status):
    data = dict(next((a[1] for a in ACTIONS if a[0] == action), {}))
    data |= {
        "rename": {"name": "Gold"},
        "delete": {"confirm_name": "Golden Models"},
        "visibility": {"visibility": "restricted"},
    }.get(action, {})
    events = AuditEvent.objects.count()
    response = login(persona).post(url(world.registry, action), data)
    assert_status(response, persona, status)
    if status != 302 or persona == "anonymous":
        assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("action", "data", "check", "audit_action"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_settings_action_changes_data_audits_and_returns_section(login, world, action, data, check, audit_action):
    response = login("registry_admin").post(url(world.registry, action), data, headers={"HX-Request": "true"})
    assert_fragment(response, SECTIONS[action])
    registry = Registry.objects.get(pk=world.registry.pk)
    if check:
        assert check(registry)
    assert AuditEvent.objects.filter(
        action=audit_action, registry_pk=registry.pk, actor=world["registry_admin"]
    ).exists()


def test_member_actions_change_roles(login, world):
    client = login("registry_admin")
    client.post(url(world.registry, "member_add"), {"kind": "team", "name": "vision", "role": "viewer"})
    assert direct_role(world.team.group, world.registry) == "viewer"
    client.post(url(world.registry, "member_role"), {"kind": "user", "name": "viewer", "role": "member"})
    assert direct_role(world["viewer"], world.registry) == "member"
    client.post(url(world.registry, "member_remove"), {"kind": "user", "name": "restricted_viewer"})
    assert direct_role(world["restricted_viewer"], world.registry) is None
    assert not Registry.objects.visible_to(world["restricted_viewer"]).filter(pk=world.registry.pk).exists()


def test_settings_action_without_htmx_redirects_back(login, world):
    response = login("registry_admin").post(url(world.registry, "description"), {"description": "x"})
    assert response.status_code == 302 and response["Location"] == url(world.registry)


def test_rename_reloads_the_page(login, world):
    response = login("registry_admin").post(
        url(world.registry, "rename"), {"name": "Gold"}, headers={"HX-Request": "true"}
    )
    assert response["HX-Redirect"] == url(world.registry)
    assert Registry.objects.get(pk=world.registry.pk).name == "Gold"
    assert AuditEvent.objects.filter(action=Action.REGISTRY_RENAME).exists()


def test_visibility_becomes_restricted_one_way(login, world):
    registry = registries.create_registry(actor=world["registry_admin"], org=world.org, name="Open")
    client = login("registry_admin")
    response = client.post(url(registry, "visibility"), {"visibility": "restricted"}, headers={"HX-Request": "true"})
    assert_fragment(response, "settings-visibility")
    registry.refresh_from_db()
    assert registry.visibility == Visibility.RESTRICTED
    assert AuditEvent.objects.filter(action=Action.REGISTRY_VISIBILITY, registry_pk=registry.pk).exists()
    response = client.post(url(registry, "visibility"), {"visibility": "organization"}, headers={"HX-Request": "true"})
    assert "cannot be made Organization-visible again" in response.content.decode()
    registry.refresh_from_db()
    assert registry.visibility == Visibility.RESTRICTED


def test_delete_registry_with_the_right_name(login, world):
    response = login("registry_admin").post(url(world.registry, "delete"), {"confirm_name": "Golden Models"})
    assert response.status_code == 302
    assert response["Location"] == reverse("collections:landing", args=["acme"])
    assert not Registry.objects.filter(pk=world.registry.pk).exists()
    assert AuditEvent.objects.filter(action=Action.REGISTRY_DELETE, registry_pk=world.registry.pk).exists()


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("rename", {"name": ""}, "This field is required"),
        ("rename", {"name": "a/b"}, "cannot contain"),
        ("rename", {"name": "model"}, "already exists"),
        ("delete", {"confirm_name": "golden models"}, "to confirm"),
        ("delete", {"confirm_name": ""}, "This field is required"),
        ("types", {"artifact_types": "model"}, "already accepted"),
        ("types", {"artifact_types": "wandb-x"}, "reserved"),
        ("types", {"artifact_types": " , "}, "Name at least one type"),
        ("alias_add", {"alias": "a/b"}, "cannot contain"),
        ("alias_add", {"alias": "production"}, "already protected"),
        ("alias_remove", {"alias": "nope"}, "is not a protected alias"),
        ("member_add", {"kind": "user", "name": "outsider", "role": "viewer"}, "There is no member"),
        ("member_add", {"kind": "team", "name": "ghosts", "role": "viewer"}, "There is no team"),
        ("member_add", {"kind": "user", "name": "viewer", "role": "owner"}, "Select a valid choice"),
        ("member_remove", {"kind": "user", "name": "team_member"}, "has no role of their own"),
        ("owner", {"username": "nobody"}, "There is no member"),
        ("description", {"description": "x" * 10_001}, "10,000 characters"),
    ],
)
def test_settings_invalid_input_shows_error_and_writes_nothing(login, world, action, data, message):
    events = AuditEvent.objects.count()
    before = Registry.objects.values().get(pk=world.registry.pk)
    response = login("registry_admin").post(url(world.registry, action), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert AuditEvent.objects.count() == events
    assert Registry.objects.values().get(pk=world.registry.pk) == before


def test_settings_invalid_input_with_htmx_returns_the_section(login, world):
    response = login("registry_admin").post(
        url(world.registry, "alias_add"), {"alias": "a:b"}, headers={"HX-Request": "true"}
    )
    assert_fragment(response, "settings-protected-aliases")
    assert "cannot contain" in response.content.decode()


def test_deleting_a_core_registry_is_refused(login, world):
    models = world.org.registries.get(slug="model")
    response = login("org_admin").post(url(models, "delete"), {"confirm_name": "Model"})
    assert response.status_code == 200
    assert "Core registries cannot be deleted" in response.content.decode()
    assert Registry.objects.filter(pk=models.pk).exists()


def test_settings_action_on_another_orgs_registry_is_404(login, world):
    other = world.other_org.registries.get(slug="model")
    response = login("org_admin").post(url(other, "description"), {"description": "mine now"})
    assert response.status_code == 404


def test_settings_actions_need_post(login, world):
    assert login("registry_admin").get(url(world.registry, "description")).status_code == 405


# --- add-member suggestions ---


def suggest(client, registry, **params):
    return client.get(url(registry, "member_suggest"), params, headers={"HX-Request": "true"})


@pytest.mark.parametrize(("persona", "status"), statuses(200, writers=403, org_viewers=403))
def test_member_suggestions_permissions(login, world, persona, status):
    assert_status(suggest(login(persona), world.registry, name="v"), persona, status)


def test_member_suggestions_are_the_orgs_users_and_teams_matching_what_was_typed(login, world):
    from apps.orgs import services as orgs

    orgs.create_team(actor=world["org_admin"], org=world.org, name="vision-eval")
    client = login("registry_admin")
    html = suggest(client, world.registry, kind="user", name="VIEW").content.decode()
    assert '<option value="viewer">' in html and '<option value="restricted_viewer">' in html
    assert "member" not in html
    html = suggest(client, world.registry, kind="user", name="").content.decode()
    assert '<option value="org_admin">' in html and "outsider" not in html  # only this org's members
    html = suggest(client, world.registry, kind="team", name="vis").content.decode()
    assert html.count("<option") == 2 and '<option value="vision-eval">' in html
    assert suggest(client, world.registry, kind="team", name="zzz").content.decode().strip() == ""


@pytest.mark.parametrize("extra", [1, 10])
def test_member_suggestions_query_count_is_constant(login, world, django_assert_num_queries, extra):
    from apps.orgs import services as orgs
    from tests.factories import UserFactory

    for i in range(extra):
        orgs.add_org_member(
            actor=world["org_admin"], org=world.org, user=UserFactory(username=f"ann{i}"), role="member"
        )
    client = login("registry_admin")
    # session, user, registry, permissions, suggestions
    with django_assert_num_queries(5):
        assert suggest(client, world.registry, name="ann").content.decode().count("<option") == extra


def test_settings_page_offers_suggestions_to_admins(login, world):
    html = login("registry_admin").get(url(world.registry)).content.decode()
    assert 'list="member-suggestions"' in html and url(world.registry, "member_suggest") in html
