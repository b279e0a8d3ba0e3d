"""The compose form: clear errors for bad input, before anything is saved or sent."""

from django import forms
from django.core.validators import validate_email
from django.utils import timezone
from unfold.contrib.forms.widgets import WysiwygWidget
from unfold.widgets import UnfoldAdminSplitDateTimeWidget, UnfoldBooleanSwitchWidget

from notifications.compose import FIELDS, compile_template
from notifications.models import Notification, Suppression
from notifications.recipients import address_key, parse_addresses

Audience = Notification.Audience
SHOW_INVALID = 5
# The audience each field belongs to; the compose page shows it only for that audience.
AUDIENCE_FIELDS = {"groups": Audience.GROUPS, "users": Audience.USERS,
                   "addresses": Audience.ADDRESSES, "skip_invalid": Audience.ADDRESSES}
PERSONAL_FIELDS_HELP = (
    "Personal fields: " + ", ".join("{{ " + field + " }}" for field in FIELDS)
    + '; a fallback for an empty one: {{ first_name|default:"there" }}. Nothing else is '
    "accepted.")
CHOSEN_FIELDS = {"groups": "groups are chosen", "users": "users are chosen",
                 "addresses": "addresses are pasted"}


class NotificationForm(forms.ModelForm):
    skip_invalid = forms.BooleanField(
        required=False, widget=UnfoldBooleanSwitchWidget,
        label="Record invalid pasted addresses as failed instead of refusing the list",
    )

    class Meta:
        model = Notification
        fields = ("subject", "topic", "audience", "groups", "users", "addresses",
                  "skip_invalid", "html_body", "text_body")
        widgets = {"html_body": WysiwygWidget}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "topic" in self.fields:  # absent when the page is read-only
            self.fields["topic"].required = False  # left out: the default topic
        for name in ("subject", "html_body", "text_body"):
            if name in self.fields:
                self.fields[name].help_text = PERSONAL_FIELDS_HELP

    def clean_topic(self):
        return self.cleaned_data.get("topic") or Notification._meta.get_field("topic").default

    def clean_subject(self):
        subject = self.cleaned_data["subject"]
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError("The subject must be a single line (no line breaks).")
        if not subject.strip():
            raise forms.ValidationError("The subject is empty.")
        compile_template(subject, label="subject")
        return subject.strip()

    def clean_html_body(self):
        html = self.cleaned_data.get("html_body") or ""
        compile_template(html, label="HTML body")
        return html

    def clean_text_body(self):
        text = self.cleaned_data.get("text_body") or ""
        compile_template(text, label="text body")
        return text

    def clean(self):
        cleaned = super().clean()
        audience = cleaned.get("audience")
        self._check_unrelated_fields(cleaned, audience)
        if audience == Audience.GROUPS and not cleaned.get("groups"):
            self.add_error("groups", "Choose at least one group for this audience.")
        if audience == Audience.USERS and not cleaned.get("users"):
            self.add_error("users", "Choose at least one user for this audience.")
        if audience == Audience.ADDRESSES:
            self._check_addresses(cleaned)
        if not (cleaned.get("html_body") or "").strip() and not (
                cleaned.get("text_body") or "").strip():
            raise forms.ValidationError("Write the message: an HTML body or a text body.")
        return cleaned

    def _check_unrelated_fields(self, cleaned, audience):
        """Refuse groups, users or addresses that the chosen audience would ignore."""
        for field, what in CHOSEN_FIELDS.items():
            value = cleaned.get(field)
            has_value = value.strip() if isinstance(value, str) else value
            if audience and has_value and AUDIENCE_FIELDS[field] != audience:
                self.add_error("audience", (
                    f"{what.capitalize()}, but the audience is “{Audience(audience).label}”, "
                    f"which does not use them. Clear them (choose “"
                    f"{Audience(AUDIENCE_FIELDS[field]).label}” to see them), or pick that "
                    "audience."))

    def _check_addresses(self, cleaned):
        parsed = parse_addresses(cleaned.get("addresses", ""))
        if not parsed.valid:
            self.add_error("addresses", "Paste at least one valid email address.")
            return
        if parsed.invalid and not cleaned.get("skip_invalid"):
            shown = "; ".join(f"{typed!r} ({reason.removeprefix('invalid address: ')})"
                              for typed, reason in parsed.invalid[:SHOW_INVALID])
            more = len(parsed.invalid) - SHOW_INVALID
            self.add_error("addresses", (
                f"{len(parsed.invalid)} line(s) are not valid addresses: {shown}"
                + (f" and {more} more" if more > 0 else "")
                + ". Fix them, or tick the switch to record them as failed."))


class ScheduleForm(forms.Form):
    when = forms.SplitDateTimeField(widget=UnfoldAdminSplitDateTimeWidget,
                                    label="Send at")

    def clean_when(self):
        when = self.cleaned_data["when"]
        if when <= timezone.now():
            raise forms.ValidationError("Choose a time in the future.")
        return when


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ("email", "reason", "detail")

    def clean_email(self):
        email = address_key(self.cleaned_data["email"])
        validate_email(email)
        return email
