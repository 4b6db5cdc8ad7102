from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal.selectors import memberships_for_user


def tenant_context(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)

    def memberships() -> list:
        if user is None or not user.is_authenticated:
            return []
        return list(memberships_for_user(user=user))

    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": getattr(request, "membership", None),
        # Lazy: one query with the tenants joined, and only on pages that show the switcher.
        "user_memberships": SimpleLazyObject(memberships),
    }
