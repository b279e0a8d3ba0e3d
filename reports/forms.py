"""The charts page's range picker."""

import datetime as dt

from django import forms
from unfold.widgets import UnfoldAdminDateWidget

RANGE_CHOICES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "365 days")]
DEFAULT_DAYS = 30
MAX_CUSTOM_DAYS = 731


class ChartRangeForm(forms.Form):
    """Either a preset number of days ending yesterday, or a custom start and end."""

    days = forms.TypedChoiceField(choices=RANGE_CHOICES, coerce=int, required=False)
    start = forms.DateField(required=False, widget=UnfoldAdminDateWidget)
    end = forms.DateField(required=False, widget=UnfoldAdminDateWidget)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if bool(start) != bool(end):
            raise forms.ValidationError("A custom range needs both a start and an end date.")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if (end - start).days + 1 > MAX_CUSTOM_DAYS:
                raise forms.ValidationError(f"A range can cover at most {MAX_CUSTOM_DAYS} days.")
        return cleaned

    def period(self, *, last_day: dt.date) -> tuple[dt.date, dt.date, str]:
        """(start, end, label) chosen by the form, or the default range when invalid."""
        if self.is_bound and self.is_valid():
            data = self.cleaned_data
            if data.get("start"):
                return data["start"], data["end"], "custom"
            days = data.get("days") or DEFAULT_DAYS
        else:
            days = DEFAULT_DAYS
        return last_day - dt.timedelta(days=days - 1), last_day, str(days)
