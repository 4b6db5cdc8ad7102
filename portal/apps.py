from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    default = True
    name = "portal"
    verbose_name = "Customers"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from portal.sign_in_failures import sign_in_failed_receiver

        user_login_failed.connect(sign_in_failed_receiver, dispatch_uid="portal.sign_in_failed")
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from portal.sign_in_history import signed_in_receiver, signed_out_receiver, wrong_password_receiver

        user_logged_in.connect(signed_in_receiver, dispatch_uid="portal.sign_in_history.signed_in")
        user_login_failed.connect(wrong_password_receiver, dispatch_uid="portal.sign_in_history.wrong_password")
        user_logged_out.connect(signed_out_receiver, dispatch_uid="portal.sign_in_history.signed_out")
        from portal.metrics import metrics_collector_register

        metrics_collector_register()
        from hubs.services.memberships import membership_removed_hook_register
        from portal.tokens import api_tokens_revoke_for_membership

        membership_removed_hook_register(api_tokens_revoke_for_membership)


class HubportAdminConfig(admin_apps.AdminConfig):
    """The Django admin as an OTP admin site: staff need a verified device."""

    default = False

    default_site = "portal.admin_site.HubportAdminSite"
