"""Status subscriptions: subscribe, confirm, unsubscribe. No sign-in.

Following a link from an email never changes anything by itself: the GET shows
a page with a button, and the POST acts, so a mail scanner that fetches every
link neither confirms nor unsubscribes. The one exception the standard asks
for is RFC 8058's one-click POST (``List-Unsubscribe=One-Click``), which mail
clients send without a CSRF token: the signed token in the URL is the
authority there, so that view is exempt from CSRF.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from hubs.errors import StatusLinkInvalid, StatusSubscriptionRefused
from hubs.services.status_subscriptions import (
    status_subscribe,
    status_subscription_confirm,
    status_unsubscribe,
    status_unsubscription_read,
)
from hubs.status_links import confirmation_read
from portal.forms.status import StatusSubscribeForm
from portal.problems import log_refusal, status_for


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = StatusSubscribeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            status_subscribe(
                email=form.cleaned_data["email"],
                hub_codes=form.cleaned_data["hubs"],
                all_hubs=form.cleaned_data["all_hubs"],
            )
        except StatusSubscriptionRefused as refusal:
            form.add_error("hubs", refusal.detail)
        else:
            # The same answer whether the address was new, pending, subscribed or
            # throttled: the page never tells who is subscribed.
            return render(request, "status/subscribe_sent.html", {"email": form.cleaned_data["email"]})
    status = 400 if request.method == "POST" else 200
    return render(request, "status/subscribe.html", {"form": form}, status=status)


def _invalid_link(request: HttpRequest, refusal: StatusLinkInvalid) -> HttpResponse:
    response = render(request, "status/link_invalid.html", {"detail": refusal.detail}, status=status_for(refusal.code))
    return log_refusal(request, response, code=refusal.code)


@require_http_methods(["GET", "POST"])
def subscribe_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            subscription = status_subscription_confirm(token=token)
            return render(request, "status/confirmed.html", {"subscription": subscription})
        confirmation = confirmation_read(token)
    except StatusLinkInvalid as refusal:
        return _invalid_link(request, refusal)
    return render(request, "status/confirm.html", {"confirmation": confirmation})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            subscription = status_unsubscribe(token=token)
            return render(request, "status/unsubscribed.html", {"subscription": subscription})
        subscription = status_unsubscription_read(token)
    except StatusLinkInvalid as refusal:
        return _invalid_link(request, refusal)
    return render(request, "status/unsubscribe.html", {"subscription": subscription})
