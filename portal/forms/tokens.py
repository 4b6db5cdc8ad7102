"""The form for making a personal access token (Settings → API tokens)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from portal.tokens import MAX_NAME_LENGTH, SCOPE_API, SCOPE_DAV

EXPIRY_CHOICES = [
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    ("7", "In 7 days"),
    ("never", "Never"),
]


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=MAX_NAME_LENGTH,
        help_text="What will use it, e.g. “Nightly backup on the office NAS”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scope = forms.ChoiceField(
        label="Use",
        choices=[(SCOPE_API, "REST API (scripts)"), (SCOPE_DAV, "WebDAV app password (Explorer, Finder, rclone)")],
        initial=SCOPE_API,
        required=False,  # a form without it (a script posting the page) makes an API token, as before
        help_text="An app password opens WebDAV only: use it with your email address instead of your password.",
    )
    expires = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, initial="30")

    def chosen_scope(self) -> str:
        return self.cleaned_data.get("scope") or SCOPE_API

    def expires_at(self) -> datetime | None:
        choice = self.cleaned_data["expires"]
        return None if choice == "never" else timezone.now() + timedelta(days=int(choice))
