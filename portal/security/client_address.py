"""Who the client is: one decision, made once per request by
``ClientAddressMiddleware`` (portal.middleware.client_address).

``X-Forwarded-For`` is believed only from the proxies named in
``HUBPORT_TRUSTED_PROXIES`` (CIDRs): walking the header from the right, the
first address that is not one of them is the client. Anyone else's header is
ignored, so a client cannot choose the address its failures are counted
against. The decision replaces ``REMOTE_ADDR`` (the peer is kept as
``HUBPORT_PEER_ADDR``), so everything after it, DRF's throttles included
(``NUM_PROXIES = 0``), sees the same address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "HUBPORT_TRUSTED_PROXIES", ())))


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Iterable[Network]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address_decide(*, peer: str, forwarded_for: str | None) -> str:
    """The client's address, given the peer's and the X-Forwarded-For header."""
    networks = trusted_networks()
    peer_address = _parse(peer)
    if peer_address is None:
        return peer
    if not forwarded_for or not _trusted(peer_address, networks):
        return str(peer_address)
    client = peer_address
    for hop in reversed(forwarded_for.split(",")):
        hop_address = _parse(hop)
        if hop_address is None:
            break  # garbage from beyond the proxies: the last address we could believe stands
        client = hop_address
        if not _trusted(hop_address, networks):
            break
    return str(client)
