"""Forms for the user's own settings. They check the shape of input; services enforce the rules."""

from django import forms


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=64, label="Key name", help_text="Where the key is used, e.g. “laptop” or “ci-deploy”."
    )
