"""Forms of the members page and of accepting an invitation: shapes only; the
services in ``hubs.services`` decide who may do what."""

from __future__ import annotations

from typing import Any

from django import forms

from hubs.models import Membership

ROLE_CHOICES = Membership.Role.choices
ROLE_HELP = (
    "Owners manage everything; admins invite and manage members; members change files; read-only members browse."
)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Colleague's email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, initial=Membership.Role.MEMBER, help_text=ROLE_HELP)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES)


class InvitationSignupForm(forms.Form):
    password1 = forms.CharField(
        label="Choose a password",
        strip=False,
        max_length=128,
        help_text="At least 10 characters; not a common password and not all digits.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password1") and cleaned.get("password2") and cleaned["password1"] != cleaned["password2"]:
            self.add_error("password2", "The two passwords differ; type the same password twice.")
        return cleaned
