"""Signing up and in, password reset, workspaces, two-factor and the profile; included at the root."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from portal.views import accounts, credentials, password_reset, security, sign_in_link, two_factor

urlpatterns = [
    path("signup/", accounts.signup, name="signup"),
    path("login/", accounts.login_view, name="login"),
    path("login/code/", accounts.login_code, name="login_code"),
    path("login/link/<str:token>/", sign_in_link.login_link, name="login_link"),
    path("logout/", accounts.HubportLogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        password_reset.ThrottledPasswordResetView.as_view(
            template_name="registration/password_reset_form.html",
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        credentials.HubportPasswordResetConfirmView.as_view(success_url=reverse_lazy("password_reset_complete")),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("tenants/choose/", accounts.tenant_choose, name="tenant_choose"),
    path("account/two-factor/", two_factor.overview, name="two_factor"),
    path("account/two-factor/setup/", two_factor.setup, name="two_factor_setup"),
    path("account/two-factor/backup-codes/", two_factor.backup_codes, name="two_factor_backup_codes"),
    path("account/two-factor/remove/", two_factor.remove, name="two_factor_remove"),
    path("settings/security/", two_factor.tenant_security, name="tenant_security"),
    path("settings/profile/", accounts.profile, name="profile"),
    path("account/security/", security.account_security, name="account_security"),
    path("account/security/sessions/end-others/", security.sessions_end_others, name="sessions_end_others"),
    path("account/security/sessions/<str:key_hash>/end/", security.session_end, name="session_end"),
    path("settings/password/", credentials.password_change, name="password_change"),
    path("settings/email/", credentials.email_change, name="email_change"),
    path("settings/email/confirm/<str:token>/", credentials.email_change_confirm, name="email_change_confirm"),
]
