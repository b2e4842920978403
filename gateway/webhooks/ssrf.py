"""Which webhook targets the gateway may call (server-side request forgery).

A subscriber chooses the URL the gateway POSTs to, from inside the platform's
network. Unless ``GATEWAY_WEBHOOKS_ALLOW_PRIVATE_TARGETS`` is set (development
only), the target must be ``https`` and every address its host resolves to
must be globally routable: loopback, private (RFC 1918, unique local),
link-local (cloud metadata at 169.254.169.254), site-local, shared (100.64/10),
unspecified (0.0.0.0, ::), multicast, reserved and documentation ranges are
refused, and so is an IPv6 address embedding such an IPv4 one (IPv4-mapped
``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4, Teredo).

The check runs when a subscription is created or changed, and again before
every attempt: a DNS answer can change between the two (rebinding). The
attempt then connects to the address that was checked (``pinned_request``), so
no second lookup can slip another address in; the name is kept for the Host
header and for TLS (SNI and certificate check). Redirects are never followed.
Odd spellings of an address (``2130706433``, ``0x7f.1``, ``127.1``) are
resolved by the system like any name and their result is checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2048
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class TargetRefused(Exception):
    """The URL may not be called; ``reason`` says why (safe to show and store)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_target(url: str, *, allow_private: bool) -> httpx.URL:
    """Syntax only: scheme, host, no credentials. Raises TargetRefused."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise TargetRefused("the URL contains whitespace or control characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise TargetRefused("not a valid URL") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in allowed:
        raise TargetRefused("the URL must use https" if not allow_private else "the URL must use http or https")
    if not parsed.host:
        raise TargetRefused("the URL has no host")
    if parsed.userinfo:
        raise TargetRefused("the URL must not contain credentials")
    return parsed


def refusal(ip: IPAddress) -> str | None:
    """Why this address may not be a webhook target, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            reason = refusal(ip.ipv4_mapped)
            return None if reason is None else f"{reason} (IPv4-mapped)"
        embedded: list[ipaddress.IPv4Address] = []
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if any(ip in net for net in _NAT64):
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for inner in embedded:
            reason = refusal(inner)
            if reason is not None:
                return f"{reason} (embedded in an IPv6 address)"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a globally routable address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    url: httpx.URL
    host: str  # as written in the URL (ASCII, IDNA-encoded), without brackets
    port: int
    addresses: tuple[IPAddress, ...]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0] if ":" in host else host)
    except ValueError:
        return None


class TargetGuard:
    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver, timeout: float = 5.0) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self.timeout = timeout

    async def check(self, url: str) -> Target:
        """Parse, resolve and check; the addresses that may be called. Raises
        TargetRefused (also when the name does not resolve)."""
        parsed = parse_target(url, allow_private=self.allow_private)
        host = parsed.raw_host.decode("ascii")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        literal = _literal(host)
        if literal is not None:
            if "%" in host:
                raise TargetRefused("the URL names an IPv6 zone")
            addresses: list[IPAddress] = [literal]
        else:
            try:
                answers = await asyncio.wait_for(self.resolver(host, port), timeout=self.timeout)
            except (OSError, TimeoutError, UnicodeError):
                raise TargetRefused("the host name does not resolve") from None
            addresses = []
            for answer in answers:
                ip = _literal(answer)
                if ip is None or "%" in answer:
                    raise TargetRefused("the host name resolves to an unusable address")
                if ip not in addresses:
                    addresses.append(ip)
            if not addresses:
                raise TargetRefused("the host name does not resolve")
        if not self.allow_private:
            for ip in addresses:
                reason = refusal(ip)
                if reason is not None:
                    # Every answer must pass: a client may pick any of them.
                    raise TargetRefused(f"the host resolves to {reason}" if literal is None else f"the URL names {reason}")
        return Target(url=parsed, host=host, port=port, addresses=tuple(addresses))


def pinned_request(target: Target, address: IPAddress) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL to connect to (the checked address), the Host header and the
    request extensions (TLS server name) that keep the original name."""
    url = target.url.copy_with(host=str(address))
    default = 443 if target.url.scheme == "https" else 80
    shown = f"[{target.host}]" if ":" in target.host else target.host
    host_header = shown if target.port == default else f"{shown}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    return url, {"Host": host_header}, extensions
