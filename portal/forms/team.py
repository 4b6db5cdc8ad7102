"""Forms of the members page and of accepting an invitation: shapes only; the
services in ``hubs.services`` decide who may do what."""

from __future__ import annotations

from django import forms

from hubs.models import Membership
from portal.forms.passwords import NEW_PASSWORD_HELP, NewPasswordTwice, new_password_field

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


class InvitationSignupForm(NewPasswordTwice):
    password1 = new_password_field("Choose a password", help_text=NEW_PASSWORD_HELP)
    password2 = new_password_field("Password again")
