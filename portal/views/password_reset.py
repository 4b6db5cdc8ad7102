"""The password reset request page: Django's, with its requests counted per
email and per address (``portal.security.guards.password_reset_guard``).

Every request counts for its email whether or not an account has it, so the
429 says no more than the "sent" page does: nothing about who has an account.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import PasswordResetView
from django.http import HttpResponse

from portal.security.guards import password_reset_guard, slowed_down

RESET_SLOWED_MESSAGE = (
    "Too many password reset requests for this email or from your network. Wait {wait} and try again; "
    "any reset link already sent still works."
)


class ThrottledPasswordResetView(PasswordResetView):
    template_name = "registration/password_reset_form.html"

    def form_valid(self, form: Any) -> HttpResponse:
        guard = password_reset_guard(self.request, email=form.cleaned_data["email"])
        if guard.wait:
            context = self.get_context_data(form=self.get_form_class()())
            return slowed_down(self.request, str(self.template_name), context, guard.wait, message=RESET_SLOWED_MESSAGE)
        guard.counted()
        return super().form_valid(form)
