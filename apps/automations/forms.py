"""Input shapes for automations, webhooks and secrets; the services enforce the rules."""

from django import forms

from apps.automations.models import (
    AUTOMATION_NAME_MAX,
    DEFAULT_PAYLOAD,
    WEBHOOK_NAME_MAX,
    Automation,
    EventType,
    Secret,
    Webhook,
)
from apps.collections.models import Collection

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


class WebhookTestForm(forms.Form):
    payload = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "code"}),
        help_text="Optional JSON to send (not saved). Empty: a small test message.",
    )


class AutomationForm(forms.Form):
    event_type = forms.ChoiceField(label="Event", choices=EventType.choices)
    alias_regex = forms.CharField(
        label="Alias regex",
        max_length=255,
        required=False,
        help_text="Only for “An artifact alias is added”: fire when the alias matches (e.g. ^production$). "
        "Empty: any alias.",
    )
    # A name, not a select: a registry may hold many thousands of collections.
    collection = forms.CharField(
        label="Scope: collection",
        max_length=128,
        required=False,
        help_text="Empty: the whole registry, including collections created later.",
    )
    webhook = forms.ModelChoiceField(queryset=Webhook.objects.none())
    payload_template = forms.CharField(
        label="Payload",
        initial=DEFAULT_PAYLOAD,
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

    def __init__(self, *args, registry, webhooks, **kwargs):
        super().__init__(*args, **kwargs)
        self.registry = registry
        self.fields["webhook"].queryset = webhooks

    def clean_collection(self) -> Collection | None:
        name = self.cleaned_data["collection"].strip()
        if not name:
            return None
        collection = self.registry.collections.filter(name__iexact=name).first()
        if collection is None:
            raise forms.ValidationError(f"{self.registry.name} has no collection “{name}”.")
        return collection

    @classmethod
    def initial_for(cls, automation: Automation) -> dict:
        return {
            "event_type": automation.event_type,
            "alias_regex": automation.alias_regex,
            "collection": automation.collection.name if automation.collection else "",
            "webhook": automation.webhook_id,
            "payload_template": automation.payload_template,
            "name": automation.name,
            "description": automation.description,
            "rate_limit_per_minute": automation.rate_limit_per_minute,
            "cooldown_seconds": automation.cooldown_seconds,
        }
