"""Decides the client's address once, first thing (portal.security.client_address)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.security.client_address import client_address_decide


class ClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        peer = request.META.get("REMOTE_ADDR", "")
        request.META["HUBPORT_PEER_ADDR"] = peer
        request.META["REMOTE_ADDR"] = client_address_decide(
            peer=peer, forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR")
        )
        return self.get_response(request)
