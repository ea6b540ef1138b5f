"""lib.forms.QuickSelect writes the HTML Django's Select writes through its templates (issue 17)."""

import re

import pytest
from django import forms

from lib.forms import QuickSelect

CHOICES = [
    ("", "Any action"),
    ("registry:", "registry:*"),
    ("registry:create", 'Registry created <&> "quoted"'),
    ("Group", [("a", "A"), (1, "One")]),
]


def normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


@pytest.mark.parametrize("value", ["", "registry:create", "a", "1", None, "missing"])
@pytest.mark.parametrize("attrs", [None, {"id": "id_action", "required": True, "disabled": False, "data-x": "<y>"}])
def test_quick_select_writes_what_django_select_writes(value, attrs):
    django_html = forms.Select(choices=CHOICES).render("action", value, attrs=attrs)
    quick_html = QuickSelect(choices=CHOICES).render("action", value, attrs=attrs)
    assert normalized(quick_html) == normalized(django_html)
    assert ("selected" in quick_html) == (value != "missing")  # None selects the empty choice


def test_a_form_field_renders_with_quick_select():
    class Form(forms.Form):
        action = forms.ChoiceField(required=False, choices=CHOICES[:3], widget=QuickSelect)

    html = str(Form({"action": "registry:"})["action"])
    assert normalized(html) == normalized(
        '<select name="action" id="id_action"><option value="">Any action</option>'
        '<option value="registry:" selected>registry:*</option>'
        '<option value="registry:create">Registry created &lt;&amp;&gt; &quot;quoted&quot;</option></select>'
    )
