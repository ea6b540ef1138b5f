"""Forms for registry pages. They check the shape of input; services enforce the rules."""

from django import forms

from apps.artifacts.models import ArtifactSequence, ArtifactVersion, Project
from apps.orgs.models import Team
from apps.orgs.permissions import Role
from apps.registries.models import Visibility


def split_list(value: str) -> list[str]:
    """Split a comma-separated input into its non-empty, de-duplicated items."""
    return list(dict.fromkeys(item.strip() for item in (value or "").split(",") if item.strip()))


class RegistryCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Spaces allowed; not / \\ # ? % or :.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(
        choices=Visibility.choices,
        initial=Visibility.ORGANIZATION,
        widget=forms.RadioSelect,
        help_text="Organization: every member can view. Restricted: only people you add.",
    )
    types_mode = forms.ChoiceField(
        label="Accepted artifact types",
        choices=[("all", "All types"), ("specific", "Specific types")],
        initial="all",
        widget=forms.RadioSelect,
    )
    artifact_types = forms.CharField(
        required=False,
        label="Types",
        help_text="Comma-separated, e.g. model, dataset. Types can be added later but never removed.",
    )

    def clean(self):
        data = super().clean()
        if data.get("types_mode") == "specific":
            data["type_list"] = split_list(data.get("artifact_types", ""))
            if not data["type_list"]:
                self.add_error("artifact_types", "Name at least one type, or choose “All types”.")
        else:
            data["type_list"] = None
        return data


class CollectionFilterForm(forms.Form):
    """The registry page's filters. Invalid values fall back to no filter."""

    q = forms.CharField(required=False, label="Search collections")
    tag = forms.ChoiceField(required=False, label="Tag")
    type = forms.ChoiceField(required=False, label="Type")
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

    def __init__(self, *args, user, registry, **kwargs):
        super().__init__(*args, **kwargs)
        projects = Project.objects.visible_to(user).filter(team__org=registry.org)
        self.fields["team"].queryset = Team.objects.filter(pk__in=projects.values("team")).order_by("name")
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
        """Yield (bound field, options) for the four chained selects; each list costs at most one query."""
        for name in ["team", "project", "artifact", "version"]:
            yield self[name], [(str(value), label) for value, label in self.fields[name].choices]

    def clean_aliases(self) -> list[str]:
        return split_list(self.cleaned_data.get("aliases", ""))


class DescriptionForm(forms.Form):
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))


class RenameForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")


class VisibilityForm(forms.Form):
    visibility = forms.ChoiceField(choices=Visibility.choices)


class TypesForm(forms.Form):
    artifact_types = forms.CharField(label="Add types", help_text="Comma-separated. Types cannot be removed later.")

    def clean_artifact_types(self) -> list[str]:
        types = split_list(self.cleaned_data["artifact_types"])
        if not types:
            raise forms.ValidationError("Name at least one type.")
        return types


class ProtectedAliasForm(forms.Form):
    alias = forms.CharField(max_length=200, label="Protected alias")


class MemberAddForm(forms.Form):
    kind = forms.ChoiceField(choices=[("user", "User"), ("team", "Team")], label="Add a")
    name = forms.CharField(max_length=150, label="Username or team name")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.RESTRICTED_VIEWER)


class MemberRoleForm(forms.Form):
    kind = forms.ChoiceField(choices=[("user", "User"), ("team", "Team")])
    name = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


class MemberRemoveForm(forms.Form):
    kind = forms.ChoiceField(choices=[("user", "User"), ("team", "Team")])
    name = forms.CharField(max_length=150)


class OwnerForm(forms.Form):
    username = forms.CharField(max_length=150)


class DeleteForm(forms.Form):
    confirm_name = forms.CharField(label="Type the registry name to confirm")
