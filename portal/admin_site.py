from django_otp.admin import OTPAdminSite


class HubportAdminSite(OTPAdminSite):
    """Staff sign in with password and a verified two-factor device."""

    site_header = "Hubport support"
    site_title = "Hubport support"
    index_title = "Run the service"
