"""Forms of the customer side: they check the shape of input; services decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from hubs.models import Hub
from portal.forms.passwords import NEW_PASSWORD_HELP, NewPasswordTwice, new_password_field
from portal.models import User
from portal.selectors import time_zone_names

# Ids are 64-bit (BigAutoField); a bigger number must be a form error, not a database error.
MAX_ID = 2**63 - 1
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Service error keys that are named differently on the signup form.
SIGNUP_FIELD_FOR_SERVICE_KEY = {"password": "password1", "name": "company_name", "owner_email": "email"}


class HubChoiceField(forms.ChoiceField):
    """The hubs as radio buttons, in their display order, none chosen in advance."""

    widget = forms.RadioSelect

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self._hub_choices, **kwargs)

    @staticmethod
    def _hub_choices() -> list[tuple[str, str]]:
        return [(hub.code, hub.label) for hub in Hub.objects.order_by("sort_order", "code")]


class SignupForm(NewPasswordTwice):
    company_name = forms.CharField(
        label="Company name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "organization"})
    )
    slug = forms.CharField(
        label="Workspace address",
        required=False,
        max_length=63,
        help_text="Lower-case letters, digits and dashes. Leave blank to make one from the company name.",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false", "placeholder": "acme"}),
    )
    email = forms.EmailField(
        label="Your work email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = new_password_field("Password", help_text=NEW_PASSWORD_HELP)
    password2 = new_password_field("Password again")
    hub = HubChoiceField(
        label="Hub",
        error_messages={
            "required": "Choose the hub where your company's files will live.",
            "invalid_choice": "There is no such hub. Choose one of the hubs listed.",
        },
    )

    def clean_slug(self) -> str | None:
        slug = self.cleaned_data["slug"].strip().lower()
        if not slug:
            return None
        if len(slug) < 3 or not SLUG_PATTERN.match(slug):
            raise ValidationError(
                "Use 3 to 63 lower-case letters, digits and dashes, starting and ending with a letter or digit."
            )
        return slug

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the field errors tenant_create raised onto this form's fields."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.message_dict.items():
            field_name = SIGNUP_FIELD_FOR_SERVICE_KEY.get(key, key)
            self.add_error(field_name if field_name in self.fields else None, messages)


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": "That email and password do not match an account. Check both and try again.",
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user_cache: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            user = authenticate(self.request, username=email.strip().lower(), password=password)
            if user is None:
                raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")
            self.user_cache = user
        return cleaned

    def get_user(self) -> User:
        assert self.user_cache is not None
        return self.user_cache


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autofocus": True,
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )


class EnrolmentConfirmForm(forms.Form):
    device_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=MAX_ID)
    code = forms.CharField(
        label="Code from your app",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": r"[0-9 ]*", "autofocus": True}
        ),
    )


class PasswordConfirmForm(forms.Form):
    """Asked before a step that weakens the account, such as removing its authenticator."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError("That is not your password.")
        return password


class DeviceRemoveForm(PasswordConfirmForm):
    device_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=MAX_ID)


class RequireTwoFactorForm(forms.Form):
    required = forms.BooleanField(
        label="Require two-factor authentication for every member",
        required=False,
        help_text="Members without an authenticator app are asked to set one up before they can do anything else.",
    )


class TenantChoiceForm(forms.Form):
    tenant_id = forms.IntegerField(min_value=1, max_value=MAX_ID)


class ProfileForm(forms.Form):
    """The person's time zone: blank is their workspace hub's."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Every time on every page is shown in this zone, with its abbreviation or UTC offset.",
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )

    def __init__(self, *args: Any, hub_time_zone: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = f"Your hub’s time zone: {hub_time_zone}" if hub_time_zone else "UTC (you have no workspace yet)"
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", default), *((name, name) for name in time_zone_names())]


class PasswordChangeForm(NewPasswordTwice):
    """The current password, then the new one twice; the service judges its strength."""

    new_password_names = ("new_password1", "new_password2")
    passwords_differ = "The two new passwords differ."

    old_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new_password1 = new_password_field("New password", help_text=NEW_PASSWORD_HELP)
    new_password2 = new_password_field("New password again")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_old_password(self) -> str:
        password = self.cleaned_data["old_password"]
        if not self.user.check_password(password):
            raise ValidationError("That is not your current password.", code="password_incorrect")
        return password


class EmailChangeForm(PasswordConfirmForm):
    """A new address, confirmed with the current password before a link goes to it."""

    new_email = forms.EmailField(
        label="New email address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    field_order = ["new_email", "password"]

    def clean_new_email(self) -> str:
        return self.cleaned_data["new_email"].strip().lower()
