"""A demo tenant with a few folders and files, and a support user, for the
embedded default. Safe to run again: it finds what it made before.

The support user is a superuser whose password is published (README.md), so
the command refuses to run unless the settings allow it (HUBPORT_DEMO_ALLOWED:
the embedded default and the tests do, production does not)."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from hubs.links import absolute_url
from hubs.models import Membership
from portal.services.provisioning import tenant_ensure_provisioned
from portal.services.staff import staff_user_ensure
from portal.services.tenants import tenant_create
from snapshots import selectors, services

DEMO_EMAIL = "demo@hubport.localhost"
DEMO_PASSWORD = "hubport-demo-2026"
STAFF_EMAIL = "support@hubport.localhost"
STAFF_PASSWORD = "hubport-support-2026"

DEMO_FILES = {
    "/README.txt": b"Welcome to Hubport. Everything here is kept for 28 days after it changes.\n",
    "/Contracts/Acme master services agreement.txt": b"Master services agreement between Acme Ltd and Demo Company.\n",
    "/Contracts/NDA 2026.txt": b"Mutual non-disclosure agreement, 2026.\n",
    "/Finance/2026/budget.csv": b"quarter,budget_gbp\nQ1,120000\nQ2,135000\nQ3,128000\nQ4,150000\n",
    "/Finance/2026/invoices/INV-0001.txt": b"Invoice INV-0001: 12 hours consulting.\n",
    "/Marketing/brand guide.md": b"# Brand guide\n\nUse the blue.\n",
}


class Command(BaseCommand):
    help = "Create (or find) the demo tenant with a few files, and a support staff user with a TOTP device."

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "HUBPORT_DEMO_ALLOWED", False):  # settings without the flag refuse too
            raise CommandError(
                "seed_demo makes a superuser whose password is published, so these settings "
                f"({settings.SETTINGS_MODULE}) do not allow it: HUBPORT_DEMO_ALLOWED is off. "
                "It is for the embedded default (make run) only."
            )
        user = get_user_model().objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            tenant = tenant_create(
                name="Demo Company", hub_code="uk", owner_email=DEMO_EMAIL, owner_password=DEMO_PASSWORD, slug="demo"
            ).tenant
            user = get_user_model().objects.get(email=DEMO_EMAIL)
        else:
            tenant = Membership.objects.select_related("tenant").get(user=user, role=Membership.Role.OWNER).tenant
        tenant_ensure_provisioned(tenant=tenant)
        if not selectors.tree_as_of(tenant=tenant):
            services.folder_create(tenant=tenant, path="/Shared", acting_user=user)
            for path, content in DEMO_FILES.items():
                services.file_write(
                    tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user
                )
        staff = staff_user_ensure(email=STAFF_EMAIL, password=STAFF_PASSWORD, superuser=True)
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"Hubport demo: {absolute_url('home')}",
                    f"  Customer login: {DEMO_EMAIL}  password: {DEMO_PASSWORD}",
                    f"  (tenant {tenant.slug}, hub {tenant.hub_id})",
                    f"  Support admin:  {absolute_url('admin:index')}  {STAFF_EMAIL}  password: {STAFF_PASSWORD}",
                    f"  Support TOTP (add to an authenticator app): {staff.device.config_url}",
                    "",
                ]
            )
        )
