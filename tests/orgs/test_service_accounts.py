"""Service accounts: created by org admins, registry roles Member/Admin only, keys managed by org admins,
no UI login, named as service accounts wherever a user is named."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.artifacts import services as artifacts
from apps.audit.models import Action, AuditEvent
from apps.collections import services as collections
from apps.orgs import services as orgs
from apps.orgs.models import ApiKey, Membership, OrgRole, ServiceAccount, TeamMembership, is_service_account
from apps.orgs.permissions import direct_role, effective_role
from apps.registries import services as registries
from apps.registries.models import Registry


@pytest.fixture
def bot(world):
    return orgs.create_service_account(
        actor=world["org_admin"], org=world.org, name="ci-bot", team=world.team, description="deploys"
    )


def test_org_admin_creates_a_team_service_account(world, bot):
    user = bot.user
    assert is_service_account(user)
    assert not user.has_usable_password()
    assert Membership.objects.get(org=world.org, user=user).role == OrgRole.MEMBER
    assert TeamMembership.objects.filter(team=world.team, user=user).exists()
    assert user.groups.filter(pk=world.team.group_id).exists()
    event = AuditEvent.objects.get(action=Action.SERVICE_ACCOUNT_CREATE)
    assert event.actor == world["org_admin"]
    assert event.org == world.org
    assert event.data == {"name": "ci-bot", "team": "vision"}


def test_org_service_account_has_no_team(world):
    account = orgs.create_service_account(actor=world["org_admin"], org=world.org, name="nightly")
    assert account.team is None
    assert not TeamMembership.objects.filter(user=account.user).exists()


@pytest.mark.parametrize("persona", ["registry_admin", "member", "viewer", "outsider"])
def test_only_org_admins_create_service_accounts(world, persona):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        orgs.create_service_account(actor=world[persona], org=world.org, name="sneaky")
    assert not ServiceAccount.objects.exists()
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("name", "message"),
    [("member", "taken"), ("vision", "taken"), ("globex", "taken"), ("Bad Name!", "lowercase"), ("", None)],
)
def test_service_account_names_share_the_entity_namespace(world, name, message):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match=message):
        orgs.create_service_account(actor=world["org_admin"], org=world.org, name=name)
    assert AuditEvent.objects.count() == before


def test_team_of_another_org_is_refused(world):
    other_team = orgs.create_team(actor=world["outsider"], org=world.other_org, name="other-team")
    with pytest.raises(ValidationError, match="not in"):
        orgs.create_service_account(actor=world["org_admin"], org=world.org, name="x-bot", team=other_team)


def test_service_accounts_are_member_or_admin_on_registries(world, bot):
    admin, registry = world["org_admin"], world.registry
    registries.grant_registry_role(actor=admin, registry=registry, principal=bot.user)  # default: Member
    assert direct_role(bot.user, registry) == "member"
    for role in ["viewer", "restricted_viewer"]:
        with pytest.raises(ValidationError, match="service account"):
            registries.grant_registry_role(actor=admin, registry=registry, principal=bot.user, role=role)
    assert direct_role(bot.user, registry) == "member"
    registries.grant_registry_role(actor=admin, registry=registry, principal=bot.user, role="admin")
    assert effective_role(bot.user, registry) == "admin"
    # People keep W&B's default: Restricted Viewer.
    newbie = orgs.create_service_account(actor=admin, org=world.org, name="other-bot")
    assert registries.default_role(newbie.user) == "member"
    assert registries.default_role(world["viewer"]) == "restricted_viewer"


def test_service_accounts_keep_their_org_role_and_membership(world, bot):
    membership = Membership.objects.get(org=world.org, user=bot.user)
    with pytest.raises(ValidationError, match="Member role"):
        orgs.change_org_role(actor=world["org_admin"], membership=membership, role=OrgRole.ADMIN)
    with pytest.raises(ValidationError, match="Deactivate"):
        orgs.remove_org_member(actor=world["org_admin"], membership=membership)
    with pytest.raises(ValidationError, match="service account"):
        orgs.remove_team_member(actor=world["org_admin"], team=world.team, user=bot.user)
    with pytest.raises(ValidationError, match="belong"):
        orgs.add_org_member(actor=world["outsider"], org=world.other_org, user=bot.user)


def test_org_admins_create_and_revoke_service_account_keys(world, bot):
    key, secret = orgs.create_api_key(actor=world["org_admin"], user=bot.user, name="github")
    assert ApiKey.objects.authenticate(secret).user == bot.user
    created = AuditEvent.objects.get(action=Action.API_KEY_CREATE, target_id=str(key.pk))
    assert created.org == world.org  # a service account's keys are its organization's business
    orgs.revoke_api_key(actor=world["org_admin"], key=key)
    assert ApiKey.objects.authenticate(secret) is None
    assert AuditEvent.objects.get(action=Action.API_KEY_REVOKE, target_id=str(key.pk)).org == world.org


@pytest.mark.parametrize("persona", ["registry_admin", "member", "viewer"])  # outsider is instance staff
def test_others_cannot_manage_service_account_keys(world, bot, persona):
    key, _ = orgs.create_api_key(actor=world["org_admin"], user=bot.user, name="github")
    with pytest.raises(PermissionDenied):
        orgs.create_api_key(actor=world[persona], user=bot.user, name="mine")
    with pytest.raises(PermissionDenied):
        orgs.revoke_api_key(actor=world[persona], key=key)
    assert ApiKey.objects.filter(user=bot.user, revoked_at__isnull=True).count() == 1


def test_a_service_account_cannot_mint_its_own_keys(world, bot):
    with pytest.raises(PermissionDenied):
        orgs.create_api_key(actor=bot.user, user=bot.user, name="more")


def test_deactivating_revokes_every_key_and_all_access(world, bot):
    admin = world["org_admin"]
    registries.grant_registry_role(actor=admin, registry=world.registry, principal=bot.user, role="admin")
    _, secret = orgs.create_api_key(actor=admin, user=bot.user, name="a")
    orgs.create_api_key(actor=admin, user=bot.user, name="b")
    orgs.deactivate_service_account(actor=admin, account=bot)
    bot.user.refresh_from_db()
    assert not bot.user.is_active
    assert ApiKey.objects.authenticate(secret) is None
    assert not ApiKey.objects.filter(user=bot.user, revoked_at__isnull=True).exists()
    assert not Registry.objects.visible_to(bot.user).exists()
    event = AuditEvent.objects.get(action=Action.SERVICE_ACCOUNT_DEACTIVATE)
    assert event.data == {"name": "ci-bot", "keys_revoked": 2}
    with pytest.raises(ValidationError, match="already"):
        orgs.deactivate_service_account(actor=admin, account=bot)
    with pytest.raises(ValidationError, match="deactivated"):
        orgs.create_api_key(actor=admin, user=bot.user, name="c")


def test_only_org_admins_deactivate(world, bot):
    with pytest.raises(PermissionDenied):
        orgs.deactivate_service_account(actor=world["registry_admin"], account=bot)
    bot.user.refresh_from_db()
    assert bot.user.is_active


def test_deleting_the_organization_switches_its_service_accounts_off(world):
    staff = world["outsider"]
    account = orgs.create_service_account(actor=staff, org=world.other_org, name="globex-bot")
    _, secret = orgs.create_api_key(actor=staff, user=account.user, name="k")
    orgs.delete_organization(actor=staff, org=world.other_org)
    account.user.refresh_from_db()
    assert not account.user.is_active
    assert ApiKey.objects.authenticate(secret) is None


# --- The UI refuses them; the API takes their keys ---


def test_password_login_is_refused_with_a_clear_message(client, world, bot):
    bot.user.set_password("pw")  # even a password set by hand (Django admin) does not open the UI
    bot.user.save()
    response = client.post(reverse("login"), {"username": "ci-bot", "password": "pw"})
    assert response.status_code == 200
    assert "is a service account: service accounts cannot log in" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # A wrong password gets the same clear answer; people keep the usual one.
    response = client.post(reverse("login"), {"username": "ci-bot", "password": "nope"})
    assert "service accounts cannot log in" in response.content.decode()
    response = client.post(reverse("login"), {"username": "member", "password": "nope"})
    assert "service account" not in response.content.decode()


def test_api_key_of_a_service_account_works(client, world, bot):
    registries.grant_registry_role(actor=world["org_admin"], registry=world.registry, principal=bot.user)
    _, secret = orgs.create_api_key(actor=world["org_admin"], user=bot.user, name="ci")
    response = client.get(reverse("api:registry_list"), {"org": "acme"}, headers={"authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    roles = {item["name"]: item["role"] for item in response.json()["items"]}
    assert roles["Golden Models"] == "member"


def test_audit_log_and_registry_members_name_service_accounts(client, world, bot):
    admin = world["org_admin"]
    registries.grant_registry_role(actor=admin, registry=world.registry, principal=bot.user)
    _, secret = orgs.create_api_key(actor=admin, user=bot.user, name="ci")
    # The bot acts through the API: its event is badged in the org's and the registry's logs.
    response = client.put(
        reverse("api:star", args=["acme", "Golden Models"]), headers={"authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 204
    client.force_login(admin)
    badge = '<span class="badge badge-service"'
    for url in [
        reverse("org_audit", args=["acme"]),
        reverse("registries:registry_audit", args=["acme", world.registry.slug]),
        reverse("registries:registry_settings", args=["acme", world.registry.slug]),
    ]:
        html = client.get(url).content.decode()
        assert badge in html, url
    members = client.get(reverse("registries:registry_settings", args=["acme", world.registry.slug]))
    rows = {m.name: m for m in members.context["members"]}
    assert rows["ci-bot"].is_service_account and not rows["member"].is_service_account


def test_pages_naming_a_creator_badge_service_accounts(client, world, bot):
    admin = world["org_admin"]
    registries.grant_registry_role(actor=admin, registry=world.registry, principal=bot.user)
    version = artifacts.log_artifact(
        actor=bot.user, project=world.project, name="bot-model", type="model", files={"m.bin": b"x"}
    )
    link = collections.link_version(actor=bot.user, version=version, registry=world.registry, collection_name="bots")
    client.force_login(admin)
    reg = ["acme", world.registry.slug]
    badge = '<span class="badge badge-service"'
    for url in [
        reverse("collections:collection_detail", args=[*reg, "bots"]),
        reverse("collections:version_detail", args=[*reg, "bots", link.index]),
        reverse("artifacts:version_detail", args=["vision", "detector", "bot-model", "v0"]),
        reverse("artifacts:sequence_detail", args=["vision", "detector", "bot-model"]),
    ]:
        html = client.get(url).content.decode()
        assert badge in html, url
    for url in [  # the History lists name the bot as the actor of the link
        reverse("collections:collection_detail", args=[*reg, "bots"]) + "?tab=history",
        reverse("collections:version_detail", args=[*reg, "bots", link.index]) + "?tab=history",
    ]:
        assert "<strong>ci-bot</strong> " + badge in client.get(url).content.decode(), url
    html = client.get(reverse("org_audit", args=["acme"])).content.decode()
    assert html.count(badge) >= 2  # the bot's log and link events


def test_a_team_with_service_accounts_is_kept_until_they_go_with_their_org(world):
    staff = world["outsider"]
    team = orgs.create_team(actor=staff, org=world.other_org, name="globex-ml")
    account = orgs.create_service_account(actor=staff, org=world.other_org, name="globex-ci", team=team)
    with pytest.raises(ValidationError, match="service accounts"):
        orgs.delete_team(actor=staff, team=team)
    assert ServiceAccount.objects.filter(pk=account.pk).exists()
    orgs.delete_organization(actor=staff, org=world.other_org)  # takes the team and its service account
    assert not ServiceAccount.objects.filter(pk=account.pk).exists()
    account.user.refresh_from_db()
    assert not account.user.is_active


def test_registry_settings_add_by_email_or_name_with_default_roles(client, world, bot):
    client.force_login(world["registry_admin"])
    reg = ["acme", world.registry.slug]
    add = reverse("registries:registry_settings_member_add", args=reg)
    assert client.post(add, {"kind": "user", "name": "ci-bot", "role": ""}).status_code == 302
    assert direct_role(bot.user, world.registry) == "member"  # a service account's default
    assert client.post(add, {"kind": "user", "name": "Team_Member@example.com", "role": ""}).status_code == 302
    assert direct_role(world["team_member"], world.registry) == "restricted_viewer"  # a person's default
    refused = client.post(add, {"kind": "user", "name": "ci-bot", "role": "viewer"})
    assert refused.status_code == 200 and "service accounts are Member or Admin" in refused.content.decode()
    assert direct_role(bot.user, world.registry) == "member"
    suggest = reverse("registries:registry_settings_member_suggest", args=reg)
    html = client.get(suggest, {"kind": "user", "name": "ci-"}).content.decode()
    assert '<option value="ci-bot">Service account</option>' in html
    assert 'value="viewer"' in client.get(suggest, {"kind": "user", "name": "viewer@ex"}).content.decode()
