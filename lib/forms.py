"""Form plumbing: a service's ValidationError shown on the form that fed it. Forms check shape; services rules."""

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import mark_safe


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one, else on top."""
    errors = error.error_dict if hasattr(error, "error_dict") else {None: error.error_list}
    for field, messages in errors.items():
        form.add_error(field if field in form.fields else None, ValidationError(messages))


def apply_service(form: forms.Form, service: Callable, **arguments) -> bool:
    """Run one service with `arguments` plus the form's data; True if it ran, else the error is on the form."""
    if not form.is_valid():
        return False
    try:
        service(**arguments, **form.cleaned_data)
    except ValidationError as error:
        add_service_error(form, error)
        return False
    return True


def split_list(value: str) -> list[str]:
    """Split a comma-separated input into its non-empty, de-duplicated items."""
    return list(dict.fromkeys(item.strip() for item in (value or "").split(",") if item.strip()))


class QuickSelect(forms.Select):
    """A `<select>` written in Python, with the HTML of Django's `select.html`.

    Django renders each `<option>` through two templates (`select_option.html`, `attrs.html`): the
    audit log's action filter (91 options) cost 10 ms a page that way, and a millisecond this way.
    For selects with many options; `tests/engine/test_quick_select.py` holds it to Django's output.
    """

    def render(self, name, value, attrs=None, renderer=None) -> str:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], _attrs(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            parts.extend(
                format_html(
                    '\n  <option value="{}"{}>{}</option>',
                    str(option["value"]),
                    _attrs(option["attrs"]),
                    option["label"],
                )
                for option in options
            )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every part above is format_html's, escaped)


def _attrs(attrs: dict) -> str:
    """HTML attributes as Django's `attrs.html` writes them: in order, `True` bare, `False` left out."""
    return mark_safe(  # noqa: S308 (format_html's parts, escaped)
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value))
            for name, value in attrs.items()
            if value is not False
        )
    )
