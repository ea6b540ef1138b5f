"""Small action forms for collection and version pages. Services enforce the rules."""

from django import forms

from apps.artifacts.forms import ServiceForm
from apps.collections.services import DESCRIPTION_MAX
from apps.orgs.permissions import has_perm
from apps.registries.models import Registry


class AliasForm(ServiceForm):
    alias = forms.CharField(
        max_length=128,
        error_messages={"required": "An alias cannot be empty."},
        widget=forms.TextInput(attrs={"placeholder": "alias", "size": 12, "aria-label": "New alias"}),
    )

    def __init__(self, *args, locked: frozenset[str] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.locked = locked

    def clean_alias(self) -> str:
        # A friendly message in place of a 403 the page could not show; the service still decides.
        alias = self.cleaned_data["alias"].strip()
        if alias in self.locked:
            raise forms.ValidationError(f"“{alias}” is a protected alias; only registry admins can apply it.")
        return alias


class TagForm(ServiceForm):
    tag = forms.CharField(
        max_length=128,
        error_messages={"required": "A tag cannot be empty."},
        widget=forms.TextInput(attrs={"placeholder": "tag", "size": 12, "aria-label": "New tag"}),
    )


class DescriptionForm(ServiceForm):
    description = forms.CharField(
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "placeholder": "Markdown: summary, license, references…"}),
    )


class DeleteCollectionForm(ServiceForm):
    """Deleting asks for the collection's name, typed out, as GitHub does for repositories."""

    confirm = forms.CharField(max_length=128, label="Type the collection name to confirm")

    def __init__(self, *args, collection_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.collection_name = collection_name

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"].strip() != self.collection_name:
            raise forms.ValidationError(f"Type “{self.collection_name}” exactly to delete this collection.")
        return self.cleaned_data["confirm"]


def split_names(value: str) -> list[str]:
    """'a, b c' → ['a', 'b', 'c']: aliases are typed as one comma- or space-separated field."""
    return [part for part in value.replace(",", " ").split() if part]


class LinkToRegistryForm(ServiceForm):
    """Link a source version into a registry collection, existing or new."""

    registry = forms.ModelChoiceField(queryset=Registry.objects.none(), empty_label=None)
    collection = forms.CharField(
        max_length=128,
        help_text="An existing collection, or a new name to create one.",
        widget=forms.TextInput(attrs={"list": "collection-names", "autocomplete": "off"}),
    )
    aliases = forms.CharField(
        max_length=1000,
        required=False,
        help_text="Optional; separate with commas or spaces (e.g. staging, candidate).",
    )

    def __init__(self, *args, registries, user, **kwargs):
        super().__init__(*args, **kwargs)
        # SECURITY: only registries where the user may link are offered, or accepted.
        self.fields["registry"].queryset = registries
        self.fields["registry"].label_from_instance = lambda registry: registry.name
        self.user = user

    def clean_aliases(self) -> list[str]:
        return split_names(self.cleaned_data["aliases"])

    def clean(self) -> dict:
        # A friendly message in place of a 403 the dialog could not show; link_version still decides.
        registry, aliases = self.cleaned_data.get("registry"), self.cleaned_data.get("aliases") or []
        if registry and aliases and not has_perm(self.user, "registries.admin_registry", registry):
            protected = sorted(set(aliases) & registry.protected_alias_names())
            if protected:
                self.add_error("aliases", f"Only registry admins can apply protected aliases: {', '.join(protected)}.")
        return self.cleaned_data
