"""Small action forms of the legacy Model Registry pages (services enforce the rules)."""

from django import forms

from apps.automations.models import Webhook


class AliasForm(forms.Form):
    alias = forms.CharField(max_length=128)


class TagForm(forms.Form):
    tag = forms.CharField(max_length=128)


class DescriptionForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)


class UserForm(forms.Form):
    username = forms.CharField(max_length=150)


class NotifyForm(forms.Form):
    """The "New version linked" toggle: a webhook of the organization, or none to turn it off."""

    webhook = forms.ModelChoiceField(queryset=Webhook.objects.none(), required=False, empty_label="Off")

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["webhook"].queryset = Webhook.objects.filter(org=org).order_by("name")
