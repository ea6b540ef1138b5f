"""Forms of the source-artifact pages. Services enforce the rules."""

from django import forms


class TtlForm(forms.Form):
    """A source version's time-to-live in days; empty (or "Clear") means none."""

    ttl_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=36500,
        label="Time-to-live (days)",
        widget=forms.NumberInput(attrs={"min": 1, "max": 36500, "size": 6}),
    )
    clear = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def ttl_seconds(self) -> int | None:
        days = None if self.cleaned_data.get("clear") else self.cleaned_data.get("ttl_days")
        return days * 86400 if days else None
