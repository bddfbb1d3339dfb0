"""The SSRF guard: which addresses the fetcher may connect to.

Feed URLs come from users; without this a feed could point the fetcher at a
cloud metadata endpoint or an internal admin page. The check runs on the
resolved address at connect time (a resolver wrapper), so DNS tricks that
resolve to a private address are refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from services.common.errors import BlockedAddressError

# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052)
# and the deprecated IPv4-compatible form. 6to4 (2002::/16) has its own accessor.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local use, never global
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def _effective(ip: IP) -> list[IP]:
    """The address, plus the IPv4 address it reaches through if it embeds one."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return [ip]
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip, ip.sixtofour]
    if (ip in NAT64 or ip in IPV4_COMPATIBLE) and int(ip) > 1:
        return [ip, ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return [ip]


def is_blocked(address: str, *, allow_private: bool) -> bool:
    """True for loopback, private, link-local, multicast, reserved and unspecified addresses,
    also when reached through an IPv6 form that embeds one (mapped, NAT64, 6to4)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip in NAT64_LOCAL and not allow_private:
        return True
    return any(_blocked(one, allow_private=allow_private) for one in _effective(ip))


def _blocked(ip: IP, *, allow_private: bool) -> bool:
    if allow_private:
        # Even when private targets are allowed, these never are article servers.
        return ip.is_multicast or ip.is_unspecified
    return not ip.is_global or ip.is_multicast


def check_host_literal(host: str, *, allow_private: bool) -> None:
    """Refuse an IP-literal host up front (aiohttp does not resolve literals)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if is_blocked(host.strip("[]"), allow_private=allow_private):
        raise BlockedAddressError(f"address {host} is not allowed")


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default, then drops addresses the guard refuses."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: Any = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [
            r for r in results if not is_blocked(r["host"], allow_private=self._allow_private)
        ]
        if not allowed:
            raise BlockedAddressError(f"{host} resolves only to addresses that are not allowed")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
