"""Failed sign-ins, counted per hub for security.failed_sign_ins (and for
throttling later): Django's ``user_login_failed`` signal, connected in
PortalConfig.ready. An email of an account counts for the hubs of its
tenants; an unknown email, or an account without a tenant, for the control
plane. Nothing of the credentials is kept."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from hubs.models import Tenant
from hubs.monitoring.attacks import sign_in_failure_observe
from hubs.monitoring.sign_ins import FAILED, sign_in_event_record


def hubs_of_email(email: str) -> list[str]:
    user_model = get_user_model()
    user_ids = user_model._default_manager.filter(email__iexact=email.strip()).values_list("pk", flat=True)
    return sorted(
        set(
            Tenant.objects.customers()
            .filter(memberships__user_id__in=list(user_ids))
            .values_list("hub_id", flat=True)
            .distinct()
        )
    )


def sign_in_failed_receiver(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    email = credentials.get("username") or credentials.get("email") or ""
    hub_codes: list[str | None] = list(hubs_of_email(email)) if isinstance(email, str) and email else []
    for hub_code in hub_codes or [None]:
        sign_in_event_record(hub_code=hub_code, kind=FAILED)
    # The detectors: spraying (one address, many accounts) and stuffing (one
    # account, many addresses), from the address ClientAddressMiddleware decided.
    address = getattr(request, "META", {}).get("REMOTE_ADDR", "") if request is not None else ""
    if isinstance(email, str) and email:
        sign_in_failure_observe(address=address, account=email, hub_codes=hub_codes)
