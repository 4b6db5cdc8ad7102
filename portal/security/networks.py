"""The network an address belongs to, for telling a new network from a
familiar one (the sign-in emails), and an address checked before it is stored."""

from __future__ import annotations

import ipaddress

# Networks a "new network" is judged by. IPv4 /24: a home or office line
# whose provider hands out a new address now and then usually stays within
# its /24, while a different provider, city or VPN exit does not. IPv6 /48:
# the largest prefix RFC 6177 has providers delegate to one site; the low 64
# bits change daily with privacy addresses (RFC 8981), and many providers
# rotate the /64 within the site's /56 or /48, so anything narrower would
# call every day's address new.
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def address_network(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to, as text; blank
    for anything that is not an address."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = IPV4_PREFIX if parsed.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def valid_address(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None
