from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    default = True
    name = "portal"
    verbose_name = "Customers"


class HubportAdminConfig(admin_apps.AdminConfig):
    """The Django admin as an OTP admin site: staff need a verified device."""

    default = False

    default_site = "portal.admin_site.HubportAdminSite"
