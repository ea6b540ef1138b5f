"""Forms for registry pages. They check the shape of input; services enforce the rules."""

from django import forms

from apps.orgs.permissions import Role
from apps.registries.models import Visibility
from lib.forms import split_list


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
    name = forms.CharField(max_length=254, label="Username, email or team name")
    role = forms.ChoiceField(choices=[("", "Default role"), *Role.choices], required=False)


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
