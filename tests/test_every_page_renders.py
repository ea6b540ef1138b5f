"""Every page renders as an org admin sees it, with no template syntax leaking into the HTML.

Django comments `{# … #}` end at the line's end: a two-line one is printed as text. An unclosed
`{{`/`{%` is printed too. Each named URL of the site is either requested here (one representative
URL per page, on a world with a version, lineage, an automation and its run) or listed as
answering something other than an HTML page; a new URL fails the coverage test until it is added.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.artifacts import services as artifacts
from apps.automations import services as automations
from apps.collections import services as collections
from apps.legacy import services as legacy
from apps.orgs import services as orgs

pytestmark = pytest.mark.django_db

LEAKS = ("{#", "{{", "{%")

# Not HTML pages: POST-only actions (they answer GET with 405), files, exports and APIs.
POST_ONLY = {
    "api_key_revoke",
    "registries:registry_star",
    "registries:registry_ui_preference",
    "registries:registry_settings_description",
    "registries:registry_settings_rename",
    "registries:registry_settings_visibility",
    "registries:registry_settings_types",
    "registries:registry_settings_alias_add",
    "registries:registry_settings_alias_remove",
    "registries:registry_settings_member_add",
    "registries:registry_settings_member_role",
    "registries:registry_settings_member_remove",
    "registries:registry_settings_owner",
    "registries:registry_settings_delete",
    "automations:run_replay",
    "automations:automation_toggle",
    "automations:webhook_create",
    "automations:webhook_delete",
    "automations:secret_create",
    "automations:secret_update",
    "automations:secret_delete",
    "automations:collection_notify",
    "automations:slack_create",
    "automations:org_automation_toggle",
    "automations:org_run_replay",
    "collections:collection_tag_add",
    "collections:collection_tag_remove",
    "collections:collection_delete",
    "collections:collection_rename",
    "artifacts:version_ttl",
    "artifacts:version_restore",
    "collections:version_alias_add",
    "collections:version_alias_remove",
    "collections:version_tag_add",
    "collections:version_tag_remove",
    "collections:version_unlink",
    "demo_webhook_receiver",
    "legacy:preference",
    "legacy:model_description",
    "legacy:model_tags",
    "legacy:model_notify",
    "legacy:version_aliases",
    "legacy:version_unlink",
    "org_member_add",
    "org_member_role",
    "org_member_remove",
    "invitation_revoke",
    "team_create",
    "team_member_add",
    "team_member_role",
    "team_member_remove",
    "service_account_create",
    "service_account_key_create",
    "service_account_key_revoke",
    "service_account_deactivate",
}
NOT_HTML = {
    "logout",  # POST only, redirects
    "home",  # redirects to the organization's Registry
    "org_switch",  # redirects
    "audit_logs",  # JSON for scripts
    "org_audit_export",
    "registries:registry_audit_export",
    "collections:registry_deep_link",  # redirects to the registry's page
    "collections:version_file",
    "collections:version_thumbnail",
    "artifacts:version_file",
    "artifacts:version_thumbnail",
    "ops:healthz",  # JSON for probes
    "ops:readyz",
    "ops:metrics",  # Prometheus text
}


def _url_names(resolver=None, namespace=None) -> set[str]:
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            # Django's admin and the APIs (`api`, and the faces for other clients: `wandb_api`, `mlflow_api`)
            # render no templates of ours.
            if pattern.namespace != "admin" and not (pattern.namespace or "").endswith("api"):
                names |= _url_names(pattern, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names


@pytest.fixture
def pages(world, settings, django_capture_on_commit_callbacks):
    """One representative URL per page, on a world with content on every tab."""
    settings.AUTOMATION_ALLOW_PRIVATE_URLS = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    admin = world["org_admin"]
    org, registry = world.org.slug, world.registry
    reg = [org, registry.slug]
    webhook = automations.create_webhook(actor=admin, org=world.org, name="hook", url="http://127.0.0.1:9/hook")
    secret = automations.create_secret(actor=admin, org=world.org, name="TOKEN", value="t0k3n")
    automation = automations.create_automation(
        actor=admin,
        registry=registry,
        name="notify",
        event_type="LINK_ARTIFACT",
        webhook=webhook,
        payload_template='{"version": "${artifact_version_string}"}',
    )
    slack = automations.create_slack_channel(
        actor=admin, org=world.org, name="releases", url="http://127.0.0.1:9/services/T/B/x"
    )
    org_wide = automations.create_automation(
        actor=admin, org=world.org, name="everything", event_type="LINK_ARTIFACT", webhook=slack
    )
    dataset = world.version(name="train-set", type="dataset", files={"labels.csv": b"id,label\n1,a\n"})
    run = artifacts.create_run(actor=admin, project=world.project, name="train")
    collections.use_artifact(actor=admin, run=run, version=dataset)
    version = world.version(metadata={"accuracy": 0.9, "loss": 0.2}, run=run, description="A **model**.")
    with django_capture_on_commit_callbacks(execute=True):  # queues the automation's run
        link = world.link(version=version, aliases=["candidate"])
    world.link(version=world.version(metadata={"accuracy": 0.8, "loss": 0.3}))
    collections.add_version_tag(actor=admin, link=link, tag="validated")
    collections.add_collection_tag(actor=admin, collection=link.collection, tag="vision")
    orgs.create_api_key(actor=admin, user=admin, name="laptop")
    legacy_link = legacy.link_model_version(actor=admin, version=version, team=world.team, model_name="resnet")
    legacy_model = [world.team.name, legacy_link.model.name]
    account = orgs.create_service_account(actor=admin, org=world.org, name="ci-bot", team=world.team)
    orgs.create_api_key(actor=admin, user=account.user, name="ci")
    _, token = orgs.invite_org_member(actor=admin, org=world.org, email="new@example.com")
    coll = [*reg, link.collection.name]
    source = [world.team.name, world.project.name, version.sequence.name]
    urls = {
        "login": None,  # drawn for the anonymous visitor below
        "api_keys": reverse("api_keys"),
        "org_audit": reverse("org_audit", args=[org]),
        "org_members": reverse("org_members", args=[org]),
        "people_suggest": reverse("people_suggest", args=[org]) + "?name=ci",
        "team_list": reverse("team_list", args=[org]),
        "team_detail": reverse("team_detail", args=[org, world.team.name]),
        "service_account_list": reverse("service_account_list", args=[org]),
        "service_account_detail": reverse("service_account_detail", args=[org, account.pk]),
        "invitation_accept": reverse("invitation_accept", args=[token]),
        "registries:registry_create": reverse("registries:registry_create", args=[org]),
        "registries:legacy_registry": reverse("registries:legacy_registry", args=[org]),
        "registries:registry_audit": reverse("registries:registry_audit", args=reg),
        "registries:registry_settings": reverse("registries:registry_settings", args=reg),
        "registries:registry_settings_member_suggest": reverse("registries:registry_settings_member_suggest", args=reg)
        + "?q=vi",
        "automations:automation_list": reverse("automations:automation_list", args=reg),
        "automations:automation_create": reverse("automations:automation_create", args=reg),
        "automations:automation_history": reverse("automations:automation_history", args=reg),
        "automations:automation_detail": reverse("automations:automation_detail", args=[*reg, automation.pk]),
        "automations:automation_edit": reverse("automations:automation_edit", args=[*reg, automation.pk]),
        "automations:automation_delete": reverse("automations:automation_delete", args=[*reg, automation.pk]),
        "automations:webhook_list": reverse("automations:webhook_list", args=[org]),
        "automations:webhook_test": reverse("automations:webhook_test", args=[org, webhook.pk]),
        "automations:secret_list": reverse("automations:secret_list", args=[org]),
        "automations:collection_options": reverse("automations:collection_options", args=reg) + "?q=cl",
        "automations:collection_automations": reverse(
            "automations:collection_automations", args=[*reg, link.collection.pk]
        ),
        "automations:automation_hub": reverse("automations:automation_hub", args=[org]),
        "automations:org_automation_create": reverse("automations:org_automation_create", args=[org]),
        "automations:org_automation_detail": reverse("automations:org_automation_detail", args=[org, org_wide.pk]),
        "automations:org_automation_edit": reverse("automations:org_automation_edit", args=[org, org_wide.pk]),
        "automations:org_automation_delete": reverse("automations:org_automation_delete", args=[org, org_wide.pk]),
        "collections:landing": reverse("collections:landing", args=[org]),
        "collections:search": reverse("collections:search", args=[org]) + "?q=a",
        "collections:registry_detail": reverse("collections:registry_detail", args=reg),
        "collections:collection_create": reverse("collections:collection_create", args=reg),
        "collections:registry_link": reverse("collections:registry_link", args=reg),
        "collections:collection_detail": reverse("collections:collection_detail", args=coll) + "?compare=0&compare=1",
        "collections:collection_description": reverse("collections:collection_description", args=coll),
        "collections:version_detail": reverse("collections:version_detail", args=[*coll, link.index]),
        "collections:version_description": reverse("collections:version_description", args=[*coll, link.index]),
        "collections:version_metadata": reverse("collections:version_metadata", args=[*coll, link.index]),
        "collections:version_link": reverse("collections:version_link", args=[*source, "v0"]),
        "collections:source_version_delete": reverse("collections:source_version_delete", args=[*source, "v0"]),
        "artifacts:artifact_list": reverse("artifacts:artifact_list", args=source[:2]),
        "artifacts:sequence_detail": reverse("artifacts:sequence_detail", args=source),
        "artifacts:version_detail": reverse("artifacts:version_detail", args=[*source, "v0"]),
        "legacy:model_list": reverse("legacy:model_list", args=[world.team.name]),
        "legacy:registry_settings": reverse("legacy:registry_settings", args=[world.team.name]),
        "legacy:model_detail": reverse("legacy:model_detail", args=legacy_model),
        "legacy:version_detail": reverse("legacy:version_detail", args=[*legacy_model, 0]),
    }
    version_page = urls["collections:version_detail"]
    extra = [f"{version_page}?tab={tab}" for tab in ("metadata", "usage", "files", "lineage", "history")]
    extra += [f"{urls['legacy:version_detail']}?tab={tab}" for tab in ("metadata", "usage", "files")]
    assert secret.pk
    return urls, extra


def test_every_url_is_a_page_here_or_listed_as_no_page(pages):
    urls, _ = pages
    assert _url_names() - set(urls) - POST_ONLY - NOT_HTML == set(), "add the new page to this test"
    assert (set(urls) | POST_ONLY | NOT_HTML) - _url_names() == set(), "a listed URL no longer exists"


def test_post_only_urls_refuse_get(client, world):
    client.force_login(world["org_admin"])
    kwargs = {"org_slug": "acme", "reg_slug": world.registry.slug, "name": "c", "index": 0, "pk": 1}
    for name in POST_ONLY:
        pattern_kwargs = _kwargs_for(name, kwargs)
        assert client.get(reverse(name, kwargs=pattern_kwargs)).status_code == 405, name


def _kwargs_for(name: str, kwargs: dict) -> dict:
    """The subset of `kwargs` the URL takes (plus run_pk/key_id where it needs them)."""
    resolver = get_resolver()
    possibilities = resolver.reverse_dict.getlist(name.split(":")[-1]) if ":" not in name else None
    if possibilities is None:
        namespace, short = name.split(":")
        ns_resolver = resolver.namespace_dict[namespace][1]
        possibilities = ns_resolver.reverse_dict.getlist(short)
    params = possibilities[0][0][0][1]
    return {param: kwargs.get(param, 1) for param in params}


def test_every_page_renders_without_template_syntax(client, world, pages):
    urls, extra = pages
    client.force_login(world["org_admin"])
    rendered = 0
    for name, url in [*urls.items(), *(("version tab", url) for url in extra)]:
        if url is None:
            continue
        response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        html = response.content.decode()
        for leak in LEAKS:
            assert leak not in html, f"{name} ({url}) prints {leak!r}: …{html[max(0, html.find(leak) - 80) :][:200]}…"
        rendered += 1
    # The error pages, the login page and a bad URL as an anonymous visitor.
    for response in (client.get("/orgs/acme/registry/no-such-registry/"), client.get("/no/such/page/")):
        assert response.status_code == 404
        assert not any(leak in response.content.decode() for leak in LEAKS)
    client.logout()
    login = client.get(reverse("login"))
    assert login.status_code == 200
    assert not any(leak in login.content.decode() for leak in LEAKS)
    assert rendered == len(urls) - 1 + len(extra)
