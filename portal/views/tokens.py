"""Settings → API tokens: a person's personal access tokens in the current
workspace. A new token is shown once, on the page after it is made."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.forms.tokens import ApiTokenCreateForm
from portal.signed_in import signed_in_user
from portal.tokens import api_token_create, api_token_of_user, api_token_revoke, api_tokens_for
from portal.views.two_factor import verified_if_enrolled

# The new token waits in the session only between the POST that made it and
# the page that shows it (post/redirect/get), then is gone for good.
NEW_TOKEN_SESSION_KEY = "hubport_new_api_token"


@login_required
@never_cache
@verified_if_enrolled
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return redirect(f"{reverse('tenant_choose')}?{urlencode({'next': request.get_full_path()})}")
    form = ApiTokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = api_token_create(
                user=signed_in_user(request),
                tenant=tenant,
                name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
                scope=form.chosen_scope(),
            )
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            request.session[NEW_TOKEN_SESSION_KEY] = {"id": token.pk, "token": raw, "scope": token.scope}
            return redirect("api_tokens")
    new_token = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    return render(
        request,
        "portal/tokens/list.html",
        {
            "tenant": tenant,
            "tokens": api_tokens_for(user=signed_in_user(request), tenant=tenant),
            "form": form,
            "new_token": new_token,
            "api_base_url": request.build_absolute_uri("/api/v1/"),
            # WebDAV is served beside Django's URLs (portal.wsgi), so its address is built, not reversed.
            "dav_url": request.build_absolute_uri(f"/dav/{tenant.slug}/"),
            "now": timezone.now(),
        },
    )


@login_required
@never_cache
@verified_if_enrolled
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = api_token_of_user(user=signed_in_user(request), token_id=token_id)
    if token is None:
        raise Http404("No such token.")
    api_token_revoke(token=token, acting_user=signed_in_user(request))
    messages.success(request, f"The token “{token.name}” is revoked; it no longer works.")
    return redirect("api_tokens")
