"""Form plumbing shared by the artifact and collection pages. Forms check shape; services enforce rules."""

from django import forms
from django.core.exceptions import ValidationError


class ServiceForm(forms.Form):
    """A form that can show a service's ValidationError next to the right field."""

    def add_service_error(self, error: ValidationError) -> None:
        errors = error.error_dict if hasattr(error, "error_dict") else {None: error.error_list}
        for field, messages in errors.items():
            self.add_error(field if field in self.fields else None, messages)
