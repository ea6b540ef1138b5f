"""Forms for the user's own settings. They check the shape of input; services enforce the rules."""

from django import forms

from apps.orgs.models import OrgRole, Team, TeamRole


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=64, label="Key name", help_text="Where the key is used, e.g. “laptop” or “ci-deploy”."
    )


class MemberAddForm(forms.Form):
    name = forms.CharField(
        max_length=254,
        label="Username or email",
        help_text="An existing user is added at once; an email address without an account gets an invitation link.",
    )
    role = forms.ChoiceField(choices=OrgRole.choices, initial=OrgRole.MEMBER)


class OrgRoleForm(forms.Form):
    role = forms.ChoiceField(choices=OrgRole.choices)


class TeamCreateForm(forms.Form):
    name = forms.CharField(max_length=64, label="Team name", help_text="Lowercase letters, digits, '-' or '_'.")


class TeamMemberAddForm(forms.Form):
    name = forms.CharField(max_length=254, label="Username or email", help_text="A member of the organization.")
    role = forms.ChoiceField(choices=TeamRole.choices, initial=TeamRole.MEMBER)


class TeamRoleForm(forms.Form):
    role = forms.ChoiceField(choices=TeamRole.choices)


class ServiceAccountCreateForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="Lowercase letters, digits, '-' or '_', e.g. “ci-deploy”.")
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="The whole organization",
        help_text="A team's service account also joins that team (to log artifacts to its projects).",
    )
    description = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = org.teams.order_by("name")


class InvitationSignupForm(forms.Form):
    username = forms.CharField(max_length=64, help_text="Lowercase letters, digits, '-' or '_'.")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
