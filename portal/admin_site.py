"""The admin site class. Outside the portal.admin package on purpose: Django builds
the default site by importing this module, and importing the package first would
register every ModelAdmin on a site that is then thrown away."""

from __future__ import annotations

from typing import Any

from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from portal.two_factor import device_for_code, normalise_code


class StaffAuthenticationForm(OTPAdminAuthenticationForm):
    """django-otp's admin login form, which wants the device chosen from a list
    it fills only after a POST has checked the password: the first POST, with the
    right password and code, named no device and failed ("Please select a
    device."). With no device chosen, the code picks it (``device_for_code``):
    the person's only device, or their one authenticator app for six digits,
    their backup codes for a backup code. With two of a kind they still choose."""

    def clean_otp(self, user: Any) -> None:
        token = normalise_code(self.cleaned_data.get("otp_token") or "")
        self.cleaned_data["otp_token"] = token
        if user is not None and token and not self.cleaned_data.get("otp_device"):
            device = device_for_code(user=user, code=token)
            if device is not None:
                self.cleaned_data["otp_device"] = device.persistent_id
        super().clean_otp(user)


class HubportAdminSite(OTPAdminSite):
    """Staff sign in with password and a verified two-factor device."""

    login_form = StaffAuthenticationForm
    site_header = "Hubport support"
    site_title = "Hubport support"
    index_title = "Run the service"
