"""Form plumbing: a service's ValidationError shown on the form that fed it. Forms check shape; services rules."""

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError


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
