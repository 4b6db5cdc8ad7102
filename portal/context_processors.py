from django.http import HttpRequest


def tenant_context(request: HttpRequest) -> dict:
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": getattr(request, "membership", None),
    }
