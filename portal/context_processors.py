from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from hubs.roles import Action, role_permits
from hubs.selectors import open_incidents_for_hub
from portal.selectors import memberships_for_user


def tenant_context(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)

    def memberships() -> list:
        if user is None or not user.is_authenticated:
            return []
        return list(memberships_for_user(user=user))

    membership = getattr(request, "membership", None)
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": membership,
        # Pages hide what the role may not do (the server refuses it anyway: portal.permissions).
        "can_change_files": membership is not None and role_permits(membership.role, Action.CHANGE_FILES),
        # Lazy: one query with the tenants joined, and only on pages that show the switcher.
        "user_memberships": SimpleLazyObject(memberships),
    }


def incident_banner(request: HttpRequest) -> dict:
    """Open incidents of the signed-in customer's hub, for the banner on every
    portal page: read only when the template asks (one cached query, see
    ``hubs.selectors.open_incidents_for_hub``), never for anonymous pages."""
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)

    def incidents() -> list:
        if tenant is None or user is None or not user.is_authenticated:
            return []
        return open_incidents_for_hub(tenant.hub_id)

    return {"open_incidents": SimpleLazyObject(incidents)}
