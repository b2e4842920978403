"""The one outbound-URL policy: every server-side fetch of a URL that someone
other than the operator chose (a webhook target, an identity provider's JWKS,
anything later) goes through ``OutboundPolicy`` and ``fetch``.

Such a URL is a way into the platform's own network (server-side request
forgery), so, unless the policy was built with ``allow_private=True``
(development only, always an explicit setting):

1. **Parse strictly** (``parse_target``): one parser (httpx's) for the check
   and for the request; at most ``MAX_URL_LENGTH`` characters; no whitespace or
   control characters; ``https`` only; a host; no credentials (``user@``), so
   ``https://good.example@10.0.0.1/`` is refused rather than read either way.
   Host names are IDNA-encoded by the parser, so what is checked is what is
   looked up.
2. **Read the host as an address when it is one**, in every spelling the
   system would accept (``ip_literal``): ``127.1``, ``0x7f.1``,
   ``2130706433``, ``017700000001`` (``inet_aton`` rules), ``[::ffff:127.0.0.1]``,
   a trailing dot. Names in special-use domains that never resolve publicly
   (``localhost``, ``*.localhost``, ``*.local``, ``*.internal``,
   ``*.home.arpa``, ``*.localdomain``) are refused without a lookup.
3. **Resolve** any other name and **check every address** it resolves to
   (``refusal``): loopback, private (RFC 1918, unique local, which includes the
   AWS metadata ``fd00:ec2::254``), link-local (169.254.169.254), shared
   (CGNAT 100.64/10), unspecified, multicast, reserved, site-local and
   documentation ranges are refused, and so is an IPv6 address embedding such
   an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``,
   NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4, Teredo). One bad answer
   refuses the URL: a client may pick any of them.
4. **Connect to the checked address** (``pinned_request``), never to the name:
   no second lookup can slip another address in (DNS rebinding). The name is
   kept for the ``Host`` header and for TLS (SNI and the certificate check).
   No environment proxy is used (it would resolve the name itself).
5. **Never follow a redirect**; **bound the time** (the whole fetch, lookup
   included) and **the size** of the answer.

Refusals raise ``TargetRefused`` whose ``reason`` is safe to show and store;
callers answer 422 naming the field at registration, and a 4xx or 503 at fetch
time, never a 500.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache

import certifi
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2048
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Special-use names (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal) that are
# never public hosts.
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")


class TargetRefused(Exception):
    """The URL may not be fetched; ``reason`` says why (safe to show and store)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ResponseTooLarge(Exception):
    """The answer was larger than the fetch allows."""


def parse_target(url: str, *, allow_private: bool = False) -> httpx.URL:
    """Syntax only: length, characters, scheme, host, no credentials. Raises TargetRefused."""
    if not isinstance(url, str):
        raise TargetRefused("not a valid URL")
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in url):
        raise TargetRefused("the URL contains whitespace or control characters")
    try:
        parsed = httpx.URL(url)
        port, host, userinfo = parsed.port, parsed.raw_host.decode("ascii"), parsed.userinfo
    except (httpx.InvalidURL, TypeError, ValueError, UnicodeError):  # IDNA errors are UnicodeErrors
        raise TargetRefused("not a valid URL") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in allowed:
        raise TargetRefused("the URL must use https" if not allow_private else "the URL must use http or https")
    if not host:
        raise TargetRefused("the URL has no host")
    if userinfo:
        raise TargetRefused("the URL must not contain credentials")
    if port is not None and not 0 < port < 65536:
        raise TargetRefused("the URL has an invalid port")
    return parsed


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        embedded.append(ip.sixtofour)
    if ip.teredo is not None:
        embedded.extend(ip.teredo)
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 0xFFFF):
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return embedded


def refusal(ip: IPAddress) -> str | None:
    """Why this address may not be fetched from, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            reason = refusal(ip.ipv4_mapped)
            return None if reason is None else f"{reason} (IPv4-mapped)"
        for inner in _embedded_ipv4(ip):
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


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names when it is an address, in any spelling the
    system would accept (``inet_aton``: ``127.1``, ``0x7f.1``, ``2130706433``,
    ``017700000001``), with or without a trailing dot; else None."""
    candidate = host[:-1] if host.endswith(".") else host
    if not candidate:
        return None
    try:
        return ipaddress.ip_address(candidate.split("%", 1)[0] if ":" in candidate else candidate)
    except ValueError:
        pass
    if ":" in candidate or not all(c in "0123456789abcdefxABCDEFX." for c in candidate):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(candidate))
    except OSError:
        return None


def local_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses a request to it may connect to."""

    url: httpx.URL
    host: str  # as written in the URL (ASCII, IDNA-encoded), without brackets
    port: int
    addresses: tuple[IPAddress, ...]


class OutboundPolicy:
    """Which URLs the platform may fetch. ``allow_private``: development only
    (plain http, any address). ``resolver``: None uses ``system_resolver``
    (looked up at call time)."""

    def __init__(self, *, allow_private: bool = False, resolver: Resolver | None = None, timeout: float = 5.0) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self.timeout = timeout

    def check_syntax(self, url: str) -> httpx.URL:
        """What can be decided without a lookup: the syntax, an address
        literal and special-use names. Raises TargetRefused."""
        parsed = parse_target(url, allow_private=self.allow_private)
        if self.allow_private:
            return parsed
        host = parsed.raw_host.decode("ascii")
        literal = ip_literal(host)
        if literal is not None:
            if "%" in host:
                raise TargetRefused("the URL names an IPv6 zone")
            reason = refusal(literal)
            if reason is not None:
                raise TargetRefused(f"the URL names {reason}")
        elif local_name(host):
            raise TargetRefused("the URL names a local host")
        return parsed

    async def check(self, url: str) -> Target:
        """Parse, resolve and check; the addresses that may be called. Raises
        TargetRefused (also when the name does not resolve)."""
        parsed = self.check_syntax(url)
        host = parsed.raw_host.decode("ascii")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        literal = ip_literal(host)
        if literal is not None:
            if "%" in host:
                raise TargetRefused("the URL names an IPv6 zone")
            return Target(url=parsed, host=host, port=port, addresses=(literal,))
        resolve = self.resolver or system_resolver
        try:
            answers = await asyncio.wait_for(resolve(host, port), timeout=self.timeout)
        except (OSError, TimeoutError, UnicodeError, ValueError):
            raise TargetRefused("the host name does not resolve") from None
        addresses: list[IPAddress] = []
        for answer in answers:
            ip = ip_literal(answer) if "%" not in answer else None
            if ip is None:
                raise TargetRefused("the host name resolves to an unusable address")
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise TargetRefused("the host name does not resolve")
        if not self.allow_private:
            for ip in addresses:
                reason = refusal(ip)
                if reason is not None:
                    raise TargetRefused(f"the host resolves to {reason}")
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


@cache
def default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    headers: httpx.Headers
    body: bytes


async def fetch(
    policy: OutboundPolicy,
    url: str,
    *,
    method: str = "GET",
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int,
    truncate: bool = False,
    timeout: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
) -> OutboundResponse:
    """One request under the policy: checked, pinned, no redirect, no proxy,
    at most ``timeout`` seconds in all (lookup included) and ``max_bytes`` of
    answer (more raises ``ResponseTooLarge``, or with ``truncate`` is cut off).

    Raises ``TargetRefused``, ``ResponseTooLarge``, ``TimeoutError`` or an
    ``httpx.HTTPError``; a status other than 2xx is returned, not raised."""
    async with asyncio.timeout(timeout):
        target = await policy.check(url)
        client_timeout = httpx.Timeout(timeout, connect=min(5.0, timeout))
        last_error: httpx.ConnectError | None = None
        for address in target.addresses:  # the checked addresses only; the next one if a connection is refused
            pinned, host, extensions = pinned_request(target, address)
            transport = httpx.AsyncHTTPTransport(verify=ssl_context or default_ssl_context(), retries=0)
            async with httpx.AsyncClient(
                transport=transport, timeout=client_timeout, follow_redirects=False, trust_env=False
            ) as client:
                try:
                    async with client.stream(
                        method, pinned, content=content, headers={**(headers or {}), **host}, extensions=extensions
                    ) as resp:
                        declared = resp.headers.get("content-length", "")
                        if not truncate and declared.isdigit() and int(declared) > max_bytes:
                            raise ResponseTooLarge(f"the answer is larger than {max_bytes} bytes")
                        body = bytearray()
                        async for chunk in resp.aiter_bytes():
                            body += chunk
                            if len(body) > max_bytes:
                                if not truncate:
                                    raise ResponseTooLarge(f"the answer is larger than {max_bytes} bytes")
                                break
                        return OutboundResponse(resp.status_code, resp.headers, bytes(body[:max_bytes]))
                except httpx.ConnectError as exc:
                    last_error = exc
        assert last_error is not None
        raise last_error
