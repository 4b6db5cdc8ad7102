"""One decision of the client's address: X-Forwarded-For believed only from
the trusted proxies, through the middleware, for every later step."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.security.client_address import client_address_decide


@pytest.fixture(autouse=True)
def proxies(settings):
    settings.HUBPORT_TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        # An untrusted peer's header is ignored, whatever it says.
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        # A trusted proxy: the first untrusted hop from the right is the client.
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "192.0.2.66, 198.51.100.1, 10.1.1.1", "198.51.100.1"),
        # Only proxies: the leftmost is as far as we can see.
        ("10.0.0.2", "10.9.9.9, 10.1.1.1", "10.9.9.9"),
        # Garbage beyond the proxies: the last believable address stands.
        ("10.0.0.2", "not-an-address, 10.1.1.1", "10.1.1.1"),
        ("fd00::1", "2001:db8::5", "2001:db8::5"),
        ("::ffff:203.0.113.7", "198.51.100.1", "203.0.113.7"),
    ],
)
def test_the_decision(peer: str, forwarded: str | None, client: str) -> None:
    assert client_address_decide(peer=peer, forwarded_for=forwarded) == client


@given(st.ip_addresses(v=4).filter(lambda a: not a.is_private), st.lists(st.ip_addresses(v=4), max_size=4))
def test_an_untrusted_peer_is_always_the_client(peer, hops) -> None:
    header = ", ".join(str(hop) for hop in hops)
    assert client_address_decide(peer=str(peer), forwarded_for=header) == str(peer)


@pytest.mark.django_db(databases="__all__")
def test_the_middleware_rewrites_remote_addr_for_everything_after_it(client, settings) -> None:
    settings.HUBPORT_TRUSTED_PROXIES = ["127.0.0.0/8"]
    seen = {}
    from django.test import RequestFactory

    from portal.middleware.client_address import ClientAddressMiddleware

    def view(request):
        seen.update(remote=request.META["REMOTE_ADDR"], peer=request.META["HUBPORT_PEER_ADDR"])
        from django.http import HttpResponse

        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    ClientAddressMiddleware(view)(request)
    assert seen == {"remote": "198.51.100.1", "peer": "127.0.0.1"}
