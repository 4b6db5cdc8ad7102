"""A new password typed twice: the one shape of every form that sets a password
(sign-up, accepting an invitation, changing it). The forms only check that the
two match; the account services judge the password's strength."""

from __future__ import annotations

from typing import Any

from django import forms

NEW_PASSWORD_HELP = "At least 10 characters; not a common password and not all digits."


def new_password_field(label: str, *, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=128,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class NewPasswordTwice(forms.Form):
    """Declares nothing itself: a form names its two fields (made with
    ``new_password_field``) and the message shown under the second when they differ."""

    new_password_names: tuple[str, str] = ("password1", "password2")
    passwords_differ = "The two passwords differ; type the same password twice."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first_name, second_name = self.new_password_names
        first, second = cleaned.get(first_name), cleaned.get(second_name)
        if first and second and first != second:
            self.add_error(second_name, self.passwords_differ)
        return cleaned
