"""Input shapes for automations, webhooks and secrets; the services enforce the rules."""

from django import forms

from apps.automations.models import (
    AUTOMATION_NAME_MAX,
    DEFAULT_PAYLOAD,
    REGISTRY_EVENTS,
    WEBHOOK_NAME_MAX,
    Automation,
    EventType,
    Scope,
    Secret,
    Webhook,
)
from apps.collections.models import Collection
from apps.orgs.models import Team

# A collection picker lists this many collections (by name); its search box fetches others.
COLLECTION_OPTIONS = 100

PAYLOAD_HELP = (
    "JSON. Variables: ${event_type}, ${event_author}, ${alias}, ${tag}, ${artifact_collection_name}, "
    "${artifact_version_string}, ${artifact_version_index}, ${artifact_version}, ${artifact_metadata.KEY}, "
    "${entity_name}, ${project_name}, ${automation_name}, and the webhook's secrets: ${ACCESS_TOKEN}, "
    "${SECRET_NAME}. A variable that does not apply to the event is empty."
)


class SecretForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="Capital letters, digits and underscores, e.g. GITHUB_TOKEN.")
    value = forms.CharField(
        max_length=10_000,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted; it is never shown again.",
    )


class SecretValueForm(forms.Form):
    value = forms.CharField(
        label="New value",
        max_length=10_000,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=WEBHOOK_NAME_MAX)
    url = forms.URLField(label="Endpoint URL", max_length=2000, assume_scheme="https")
    access_token = forms.ModelChoiceField(
        queryset=Secret.objects.none(),
        required=False,
        help_text="Sent as “Authorization: Bearer …”; ${ACCESS_TOKEN} in payloads.",
    )
    signing_secret = forms.ModelChoiceField(
        label="Secret",
        queryset=Secret.objects.none(),
        required=False,
        help_text="Signs each request: X-Wandb-Signature = base64(HMAC-SHA256(body, secret)); ${SECRET_NAME} in payloads.",
    )

    def __init__(self, *args, secrets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["access_token"].queryset = secrets
        self.fields["signing_secret"].queryset = secrets


class SlackChannelForm(forms.Form):
    name = forms.CharField(
        label="Channel name", max_length=WEBHOOK_NAME_MAX, help_text="How automations name it, e.g. ml-releases."
    )
    url = forms.CharField(
        label="Incoming-webhook URL",
        max_length=2000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="From Slack: Apps → Incoming Webhooks → Add to channel (https://hooks.slack.com/services/…). "
        "Stored encrypted as a secret; never shown again.",
    )


class WebhookTestForm(forms.Form):
    payload = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "code"}),
        help_text="Optional JSON to send (not saved). Empty: a small test message.",
    )


class ActionChoiceField(forms.ModelChoiceField):
    """A webhook or a Slack channel, labelled with which it is."""

    def label_from_instance(self, obj: Webhook) -> str:
        return obj.label


class CollectionChoiceField(forms.ModelChoiceField):
    """A collection chosen from a list (never typed): the options shown are the first COLLECTION_OPTIONS by
    name plus the chosen one; any collection of the queryset validates (the search box fetches others)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, empty_label="The whole registry (and collections created later)", **kwargs)

    def limit_options(self, selected_pk) -> None:
        shown = list(self.queryset.order_by("name").values_list("pk", "name")[:COLLECTION_OPTIONS])
        if selected_pk and str(selected_pk).isdigit() and int(selected_pk) not in {pk for pk, _ in shown}:
            shown += list(self.queryset.filter(pk=int(selected_pk)).values_list("pk", "name"))
        self.widget.choices = [("", self.empty_label), *shown]


class _AutomationFields(forms.Form):
    """What every automation has: an event, an action (webhook or Slack channel), a name and limits."""

    event_type = forms.ChoiceField(label="Event", choices=EventType.choices)
    alias_regex = forms.CharField(
        label="Alias regex",
        max_length=255,
        required=False,
        help_text="Only for “An artifact alias is added”: fire when the alias matches (e.g. ^production$). "
        "Empty: any alias.",
    )
    webhook = ActionChoiceField(
        label="Action",
        queryset=Webhook.objects.none(),
        help_text="A webhook gets the JSON payload below; a Slack channel gets a message with a link to the version.",
    )
    payload_template = forms.CharField(
        label="Payload (webhooks)",
        initial=DEFAULT_PAYLOAD,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "code"}),
        help_text=PAYLOAD_HELP,
    )
    name = forms.CharField(max_length=AUTOMATION_NAME_MAX)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    rate_limit_per_minute = forms.IntegerField(
        label="Rate limit (runs per minute)", min_value=1, required=False, help_text="Empty: no limit."
    )
    cooldown_seconds = forms.IntegerField(
        label="Cooldown (seconds)",
        min_value=0,
        initial=0,
        required=False,
        help_text="After the automation fires, skip events for this long.",
    )

    def __init__(self, *args, webhooks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["webhook"].queryset = webhooks.order_by("kind", "name")

    @classmethod
    def initial_for(cls, automation: Automation) -> dict:
        return {
            "event_type": automation.event_type,
            "alias_regex": automation.alias_regex,
            "collection": automation.collection_id,
            "webhook": automation.webhook_id,
            "payload_template": automation.payload_template or DEFAULT_PAYLOAD,
            "name": automation.name,
            "description": automation.description,
            "rate_limit_per_minute": automation.rate_limit_per_minute,
            "cooldown_seconds": automation.cooldown_seconds,
        }


class AutomationForm(_AutomationFields):
    """A registry's automation: the whole registry or one collection, picked from a list (or fixed)."""

    collection = CollectionChoiceField(label="Scope", queryset=Collection.objects.none(), required=False)

    def __init__(self, *args, registry, webhooks, collections, fixed_collection: Collection | None = None, **kwargs):
        super().__init__(*args, webhooks=webhooks, **kwargs)
        self.registry = registry
        self.fixed_collection = fixed_collection
        self.fields["event_type"].choices = [(e.value, e.label) for e in REGISTRY_EVENTS]
        field = self.fields["collection"]
        if fixed_collection is not None:
            field.queryset = collections.filter(pk=fixed_collection.pk)
            field.required = True
            field.widget = forms.HiddenInput()
            self.initial["collection"] = fixed_collection.pk
        else:
            field.queryset = collections
            field.limit_options(self.data.get("collection") if self.is_bound else self.initial.get("collection"))


class OrgAutomationForm(_AutomationFields):
    """An automation for a team's projects or the whole organization."""

    scope = forms.ChoiceField(
        choices=[(Scope.ORGANIZATION.value, "The whole organization"), (Scope.TEAM.value, "A team's projects")],
        help_text="The organization: every registry and project (organization admins). "
        "A team: versions created in its projects, and their links into organization-visible registries.",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="Pick a team")

    def __init__(self, *args, teams, org_admin: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        if not org_admin:  # team members: their teams only
            self.fields["scope"].choices = [(Scope.TEAM.value, "A team's projects")]
            self.initial["scope"] = Scope.TEAM

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == Scope.TEAM and not cleaned.get("team"):
            self.add_error("team", "Pick the team whose projects this automation watches.")
        return cleaned
