"""The admin site class. Outside the portal.admin package on purpose: Django builds
the default site by importing this module, and importing the package first would
register every ModelAdmin on a site that is then thrown away."""

from django_otp.admin import OTPAdminSite


class HubportAdminSite(OTPAdminSite):
    """Staff sign in with password and a verified two-factor device."""

    site_header = "Hubport support"
    site_title = "Hubport support"
    index_title = "Run the service"
