"""Small action forms for collection and version pages. Services enforce the rules."""

from html import escape

from django import forms
from django.db.models import QuerySet
from django.utils.safestring import mark_safe

from apps.artifacts.models import ArtifactSequence, ArtifactVersion, Project
from apps.collections.services import DESCRIPTION_MAX
from apps.orgs.models import Team
from apps.orgs.permissions import has_perm
from apps.registries.models import Registry
from lib.forms import QuickSelect, split_list
from lib.text import loads


class AliasForm(forms.Form):
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


class TagForm(forms.Form):
    tag = forms.CharField(
        max_length=128,
        error_messages={"required": "A tag cannot be empty."},
        widget=forms.TextInput(attrs={"placeholder": "tag", "size": 12, "aria-label": "New tag"}),
    )


class DescriptionForm(forms.Form):
    description = forms.CharField(
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "placeholder": "Markdown: summary, license, references…"}),
    )


class DeleteCollectionForm(forms.Form):
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


class LinkToRegistryForm(forms.Form):
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


class CollectionFilterForm(forms.Form):
    """The registry page's filters. Invalid values fall back to no filter."""

    q = forms.CharField(required=False, label="Search collections")
    tag = forms.ChoiceField(required=False, label="Tag", widget=QuickSelect)  # up to 200 tags
    type = forms.ChoiceField(required=False, label="Type", widget=QuickSelect)
    sort = forms.ChoiceField(required=False, label="Sort", choices=[("updated", "Recently updated"), ("name", "Name")])

    def __init__(self, *args, tags=(), types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "Any tag")] + [(t, t) for t in tags]
        self.fields["type"].choices = [("", "Any type")] + [(t, t) for t in types]

    def filters(self) -> dict:
        """The valid filters, with defaults for missing or invalid ones."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "q": (data.get("q") or "").strip(),
            "tag": data.get("tag") or "",
            "type": data.get("type") or "",
            "sort": data.get("sort") or "updated",
        }


class CollectionCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Up to 128 characters, no / or :.")
    type = forms.CharField(max_length=200, label="Artifact type")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="Markdown.")
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. vision, baseline.")

    def __init__(self, *args, registry, **kwargs):
        super().__init__(*args, **kwargs)
        if not registry.allow_all_types:
            # The registry limits the types: offer exactly those.
            self.fields["type"] = forms.ChoiceField(
                label="Artifact type", choices=[(t, t) for t in registry.artifact_types]
            )


def linkable_teams(user, org, projects: QuerySet | None = None) -> QuerySet:
    """Teams of `org` with projects `user` may see (`projects`, if built already): where a version to link comes from."""
    if projects is None:
        projects = Project.objects.visible_to(user).filter(team__org=org)
    return Team.objects.filter(pk__in=projects.values("team")).order_by("name")


def linkable_team_options(user, org) -> list[tuple[str, str]]:
    """`linkable_teams` as (value, label) options, for the forms of one page to share (one query)."""
    return [(str(pk), name) for pk, name in linkable_teams(user, org).values_list("pk", "name")]


class LinkVersionForm(forms.Form):
    """Team → project → artifact → version, chained: each choice narrows the next list.

    Every list starts from what the user may see (`visible_to`), so no option leaks.
    """

    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label="Choose a team…")
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label="Choose a project…")
    artifact = forms.ModelChoiceField(queryset=ArtifactSequence.objects.none(), empty_label="Choose an artifact…")
    version = forms.ModelChoiceField(queryset=ArtifactVersion.objects.none(), empty_label="Choose a version…")
    collection = forms.CharField(
        max_length=200, help_text="Pick an existing collection or type a new name to create it."
    )
    aliases = forms.CharField(required=False, help_text="Comma-separated, e.g. staging, candidate.")

    def __init__(self, *args, user, registry, team_options: list[tuple[str, str]] | None = None, **kwargs):
        """`team_options`: `linkable_team_options()` when the page has read them already (the registry
        page shows two of these forms, unbound: they then build no query at all)."""
        super().__init__(*args, **kwargs)
        self.team_options = team_options
        if team_options is not None and not self.is_bound:
            return  # nothing chosen: the other lists stay empty (`none()`)
        projects = Project.objects.visible_to(user).filter(team__org=registry.org)
        self.fields["team"].queryset = linkable_teams(user, registry.org, projects)
        team = self._chosen("team")
        if team:
            self.fields["project"].queryset = projects.filter(team=team).order_by("name")
        project = self._chosen("project")
        if project:
            sequences = ArtifactSequence.objects.filter(project=project).order_by("name")
            if not registry.allow_all_types:
                sequences = sequences.filter(type__in=registry.artifact_types)
            self.fields["artifact"].queryset = sequences
        artifact = self._chosen("artifact")
        if artifact:
            self.fields["version"].queryset = (
                ArtifactVersion.objects.visible_to(user).committed().filter(sequence=artifact).order_by("-index")
            )
        self.fields["version"].label_from_instance = lambda v: f"{v.version_label} · {v.created_at:%Y-%m-%d %H:%M}"
        self.fields["artifact"].label_from_instance = lambda s: f"{s.name} ({s.type})"
        self.fields["project"].label_from_instance = lambda p: p.name

    def _chosen(self, name: str):
        """The valid choice for field `name` so far, or None (used to narrow the next list)."""
        field = self.fields[name]
        raw = self.data.get(self.add_prefix(name)) if self.is_bound else None
        if not raw:
            return None
        try:
            return field.queryset.filter(pk=int(raw)).first()
        except (TypeError, ValueError):
            return None

    def chained(self):
        """Yield (bound field, number of options, the `<option>` tags) for the four chained selects;
        each list costs at most one query.

        The options are written here, not in a template loop: an org admin's team list holds every
        team (100 at company size), and the registry page shows it twice (link, create).
        """
        for name in ["team", "project", "artifact", "version"]:
            field, choice = self[name], self.fields[name]
            value = field.value()
            chosen = "" if value in (None, "") else str(value)
            options = [("", choice.empty_label)]
            if name == "team":  # names only, no Team instances (an org admin's list holds every team)
                if self.team_options is None:
                    self.team_options = [(str(pk), team) for pk, team in choice.queryset.values_list("pk", "name")]
                options += self.team_options
            elif not choice.queryset.query.is_empty():  # a list not chosen into yet reads nothing
                options += [(str(row.pk), choice.label_from_instance(row)) for row in choice.queryset]
            tags = "".join(
                f'<option value="{escape(key)}"{" selected" if key and key == chosen else ""}>{escape(label)}</option>'
                for key, label in options
            )
            yield field, len(options), mark_safe(tags)  # noqa: S308 (every value escaped above)

    def clean_aliases(self) -> list[str]:
        return split_list(self.cleaned_data.get("aliases", ""))


class RenameCollectionForm(forms.Form):
    name = forms.CharField(max_length=200, label="New name", help_text="Up to 128 characters, no / or :.")


class FirstVersionForm(LinkVersionForm):
    """The create-collection wizard's last step: optionally, a first version to link (chained selects).

    The same lists as "Link new version" (what the user may see), narrowed to the collection's type.
    """

    prefix = "first"

    def __init__(self, *args, user, registry, type_: str = "", **kwargs):
        super().__init__(*args, user=user, registry=registry, **kwargs)
        del self.fields["collection"]
        for field in self.fields.values():
            field.required = False
        if type_:
            self.fields["artifact"].queryset = self.fields["artifact"].queryset.filter(type=type_)

    def clean(self) -> dict:
        data = super().clean()
        started = any(data.get(name) for name in ("team", "project", "artifact"))
        if started and not data.get("version"):
            self.add_error("version", "Choose a version to link, or leave this step empty.")
        if data.get("aliases") and not data.get("version"):
            self.add_error("aliases", "Aliases need a version to go on.")
        return data


class MetadataForm(forms.Form):
    """A version's metadata as JSON text; the service checks the rules (keys, size, numbers)."""

    metadata = forms.CharField(
        required=False,
        max_length=2 * 1024 * 1024,  # the service's limit is 1 MB of JSON; indentation takes room
        widget=forms.Textarea(
            attrs={"rows": 18, "spellcheck": "false", "class": "mono", "data-json-editor": "", "autocomplete": "off"}
        ),
        label="Metadata (a JSON object)",
    )

    def clean_metadata(self) -> dict:
        raw = (self.cleaned_data.get("metadata") or "").strip()
        if not raw:
            return {}
        try:
            value = loads(raw)
        except ValueError as error:
            raise forms.ValidationError(f"This is not valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Metadata must be a JSON object: {"key": value, …}.')
        return value
