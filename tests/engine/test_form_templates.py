"""templates/django/forms/ overrides Django's form templates only to inline their includes and skip empty error
lists (issue 17: each include is a template render per field); the HTML must stay Django's, byte for byte."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, TemplatesSetting

HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"


class SampleForm(forms.Form):
    name = forms.CharField(max_length=20, help_text="Up to <b>20</b> characters.")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4, "data-x": HOSTILE}))
    count = forms.IntegerField(min_value=0, label=HOSTILE)
    when = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    flag = forms.BooleanField(required=False)
    kind = forms.ChoiceField(choices=[("a", "A"), ("b", HOSTILE)])
    secret = forms.CharField(required=False, widget=forms.HiddenInput)
    choices = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, choices=[("x", "X")])


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"name": HOSTILE * 3, "note": HOSTILE, "count": "-1", "kind": "zzz"},
        {"name": "ok", "count": "3", "kind": "a"},
    ],
)
@pytest.mark.parametrize("prefix", [None, "first"])
def test_our_form_templates_write_what_djangos_write(data, prefix):
    ours = SampleForm(data, prefix=prefix, renderer=TemplatesSetting())
    djangos = SampleForm(data, prefix=prefix, renderer=DjangoTemplates())
    # (div.html is ours on purpose, with a "field" class: the form as a whole differs from Django's.)
    for name in SampleForm.base_fields:
        assert ours[name].as_field_group() == djangos[name].as_field_group()
        assert str(ours[name].label_tag()) == str(djangos[name].label_tag())
        assert str(ours[name].errors) == str(djangos[name].errors)
        assert str(ours[name]) == str(djangos[name])
    assert str(ours.non_field_errors()) == str(djangos.non_field_errors())
