"""The outbound-URL policy (servicekit.outbound): hostile URLs in every
spelling, names that resolve to private addresses, and fetches that must
connect to the checked address only, never follow a redirect, and stay within
their size and time. No test uses real DNS: resolution goes through a table."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from servicekit import outbound
from servicekit.outbound import OutboundPolicy, ResponseTooLarge, TargetRefused, fetch, parse_target, pinned_request

PUBLIC_V4, PUBLIC_V6 = "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"


def table(answers: dict[str, list[str]]):
    """A resolver answering from a table; any other name does not resolve."""
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def check(url: str, *, allow_private: bool = False, dns: dict[str, list[str]] | None = None) -> outbound.Target:
    return asyncio.run(OutboundPolicy(allow_private=allow_private, resolver=table(dns or {})).check(url))


def refused(url: str, **kw: Any) -> str:
    with pytest.raises(TargetRefused) as info:
        check(url, **kw)
    return info.value.reason


# -- addresses in every spelling: decided without a lookup ---------------------------------

HOSTILE_LITERALS = [
    # loopback, in the spellings inet_aton accepts
    ("https://127.0.0.1/x", "loopback"),
    ("https://127.8.9.10/x", "loopback"),
    ("https://127.1/x", "loopback"),
    ("https://127.0.1/x", "loopback"),
    ("https://0x7f.1/x", "loopback"),
    ("https://0x7f000001/x", "loopback"),
    ("https://2130706433/x", "loopback"),
    ("https://2130706433./x", "loopback"),
    ("https://017700000001/x", "loopback"),
    ("https://127.0.0.1./x", "loopback"),
    ("https://127。0。0。1/x", "loopback"),  # ideographic full stops, mapped by IDNA
    ("https://[::1]/x", "loopback"),
    ("https://[::1]:8443/x", "loopback"),
    ("https://[0:0:0:0:0:0:0:1]/x", "loopback"),
    # IPv6 carrying an IPv4 address
    ("https://[::ffff:127.0.0.1]/x", "loopback"),
    ("https://[::ffff:7f00:1]/x", "loopback"),
    ("https://[0:0:0:0:0:ffff:127.0.0.1]/x", "loopback"),
    ("https://[::127.0.0.1]/x", "loopback"),  # IPv4-compatible
    ("https://[::ffff:10.0.0.1]/x", "private"),
    ("https://[::ffff:169.254.169.254]/x", "link-local"),
    ("https://[64:ff9b::a00:1]/x", "private"),  # NAT64 of 10.0.0.1
    ("https://[64:ff9b::7f00:1]/x", "loopback"),
    ("https://[64:ff9b:1::a00:1]/x", "private"),  # local-use NAT64
    ("https://[2002:7f00:1::1]/x", "loopback"),  # 6to4 of 127.0.0.1
    ("https://[2002:a9fe:a9fe::1]/x", "link-local"),  # 6to4 of the metadata address
    ("https://[2001:0:a00:1::1]/x", "private"),  # Teredo, server 10.0.0.1
    # unspecified
    ("https://0.0.0.0/x", "unspecified"),
    ("https://0/x", "unspecified"),
    ("https://0x0/x", "unspecified"),
    ("https://[::]/x", "unspecified"),
    # private, shared, link-local, metadata
    ("https://10.1.2.3/x", "private"),
    ("https://172.16.0.1/x", "private"),
    ("https://192.168.1.1:8443/x", "private"),
    ("https://3232235777/x", "private"),  # 192.168.1.1
    ("https://[fc00::1]/x", "private"),
    ("https://[fd12:3456::1]/x", "private"),
    ("https://[fd00:ec2::254]/latest/meta-data", "private"),  # AWS metadata over IPv6
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://0xa9fea9fe/latest/meta-data", "link-local"),
    ("https://[fe80::1]/x", "link-local"),
    ("https://[fec0::1]/x", "site-local"),
    ("https://100.64.0.1/x", "not a globally routable"),  # CGNAT
    ("https://192.0.2.1/x", "address"),  # documentation
    ("https://198.18.0.1/x", "address"),  # benchmarking
    # multicast, reserved, broadcast
    ("https://224.0.0.1/x", "multicast"),
    ("https://[ff02::1]/x", "multicast"),
    ("https://240.0.0.1/x", "reserved"),
    ("https://255.255.255.255/x", "address"),
    # special-use names
    ("https://localhost/x", "local host"),
    ("https://LOCALHOST./x", "local host"),
    ("https://api.localhost/x", "local host"),
    ("https://printer.local/x", "local host"),
    ("https://metadata.google.internal/x", "local host"),
    ("https://router.home.arpa/x", "local host"),
]


@pytest.mark.parametrize("url, reason", HOSTILE_LITERALS)
def test_every_spelling_of_a_non_public_address_is_refused_without_a_lookup(url: str, reason: str) -> None:
    resolve = table({})
    with pytest.raises(TargetRefused) as info:
        asyncio.run(OutboundPolicy(resolver=resolve).check(url))
    assert reason in info.value.reason, (url, info.value.reason)
    assert resolve.calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://93.184.216.34/x", "https"),  # plain http only in development
        ("ftp://93.184.216.34/x", "https"),
        ("file:///etc/passwd", "https"),
        ("gopher://93.184.216.34/x", "https"),
        ("//93.184.216.34/x", "https"),
        ("https:/93.184.216.34/x", "no host"),
        ("https:///x", "no host"),
        ("https://user:pw@93.184.216.34/x", "credentials"),
        ("https://good.example@127.0.0.1/x", "credentials"),
        ("https://127.0.0.1:443@good.example/x", "credentials"),
        ("https://good.example\\@127.0.0.1/x", "credentials"),
        ("https://127.0.0.1%2f@good.example/x", "credentials"),
        ("https://93.184.216.34/a b", "whitespace"),
        ("https://93.184.216.34/x\n", "whitespace"),
        ("https://93.184.216.34/\x00", "control"),
        ("https://93.184.216.34/\x85", "control"),
        ("https://93.184.216.34/\ud800", "control"),
        ("https://good.example\u2028/", "whitespace"),
        ("https://93.184.216.34/" + "a" * 2100, "longer"),
        ("https://93.184.216.34:99999/x", "port"),
        ("https://93.184.216.34:0/x", "port"),
        ("https://good.example:0x1bb/x", "not a valid URL"),
        ("https://[::1/x", "not a valid URL"),
        ("https://[v1.x]/x", "not a valid URL"),
        ("https://0177.0.0.1/x", "not a valid URL"),
        ("https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/x", "not a valid URL"),
        ("https://１２７.０.０.１/x", "not a valid URL"),
        ("https://xn--localhost-/x", "does not resolve"),
        ("https://\U0001f600.example/x", "not a valid URL"),
    ],
)
def test_url_syntax_is_strict(url: str, reason: str) -> None:
    assert reason in refused(url), url


def test_the_fragment_never_moves_the_host() -> None:
    target = check("https://good.example#@127.0.0.1/x", dns={"good.example": [PUBLIC_V4]})
    assert target.host == "good.example" and [str(a) for a in target.addresses] == [PUBLIC_V4]


# -- names: resolved, and every answer checked ---------------------------------------------

PRIVATE_ANSWERS = {
    "intranet.uni.example": (["10.0.0.5"], "private"),
    "db.uni.example": (["192.168.10.4"], "private"),
    "loop.uni.example": (["127.0.0.1"], "loopback"),
    "loop6.uni.example": (["::1"], "loopback"),
    "metadata.uni.example": (["169.254.169.254"], "link-local"),
    "metadata6.uni.example": (["fd00:ec2::254"], "private"),
    "mapped.uni.example": (["::ffff:192.168.0.7"], "private"),
    "nat64.uni.example": (["64:ff9b::a9fe:a9fe"], "link-local"),
    "cgnat.uni.example": (["100.100.100.200"], "not a globally routable"),
    "zero.uni.example": (["0.0.0.0"], "unspecified"),
    "multicast.uni.example": (["239.1.2.3"], "multicast"),
    "mixed.uni.example": ([PUBLIC_V4, "127.0.0.1"], "loopback"),  # one bad answer is enough
    "mixed6.uni.example": ([PUBLIC_V6, "fe80::1"], "link-local"),
    "zoned.uni.example": (["fe80::1%eth0"], "unusable"),
    "garbage.uni.example": (["not-an-address"], "unusable"),
    "empty.uni.example": ([], "does not resolve"),
}


@pytest.mark.parametrize("name", sorted(PRIVATE_ANSWERS))
def test_names_resolving_to_non_public_addresses_are_refused(name: str) -> None:
    answers, reason = PRIVATE_ANSWERS[name]
    assert reason in refused(f"https://{name}/hook", dns={name: answers})
    assert reason in refused(f"https://{name}./hook", dns={f"{name}.": answers})


def test_a_name_that_does_not_resolve_or_resolves_too_slowly_is_refused() -> None:
    assert "does not resolve" in refused("https://nowhere.uni.example/hook")

    async def stall(host: str, port: int) -> list[str]:
        await asyncio.sleep(30)
        return [PUBLIC_V4]

    async def run() -> None:
        with pytest.raises(TargetRefused) as info:
            await OutboundPolicy(resolver=stall, timeout=0.05).check("https://slow.uni.example/hook")
        assert "does not resolve" in info.value.reason

    asyncio.run(asyncio.wait_for(run(), timeout=10))


def test_public_names_and_addresses_pass_with_every_address_kept() -> None:
    dns = {"public.uni.example": [PUBLIC_V4, PUBLIC_V6, PUBLIC_V4]}
    target = check("https://public.uni.example/hook", dns=dns)
    assert [str(a) for a in target.addresses] == [PUBLIC_V4, PUBLIC_V6]
    assert str(check(f"https://[{PUBLIC_V6}]:8443/x").addresses[0]) == PUBLIC_V6
    assert str(check("https://1572395042/x").addresses[0]) == PUBLIC_V4  # a public address, spelled as a number


def test_the_system_resolver_is_the_default_and_can_be_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound, "system_resolver", table({"hooks.uni.example": ["10.0.0.1"]}))
    with pytest.raises(TargetRefused, match="private"):
        asyncio.run(OutboundPolicy().check("https://hooks.uni.example/x"))


def test_the_development_setting_allows_private_targets_and_http_only_when_asked() -> None:
    target = check("http://127.0.0.1:9000/hook", allow_private=True)
    assert [str(a) for a in target.addresses] == ["127.0.0.1"]
    assert check("https://intranet.uni.example/x", allow_private=True, dns={"intranet.uni.example": ["10.0.0.5"]})
    assert "IPv6 zone" in refused("https://[fe80::1%25eth0]/hook", allow_private=True)
    with pytest.raises(TargetRefused):
        parse_target("ftp://127.0.0.1/", allow_private=True)
    assert OutboundPolicy().allow_private is False  # the default is the strict policy


def test_the_request_goes_to_the_checked_address_and_keeps_the_name() -> None:
    target = check("https://hooks.uni.example:8443/in?x=1", dns={"hooks.uni.example": [PUBLIC_V6]})
    url, host, extensions = pinned_request(target, target.addresses[0])
    assert str(url) == f"https://[{PUBLIC_V6}]:8443/in?x=1"
    assert host == {"Host": "hooks.uni.example:8443"} and extensions == {"sni_hostname": "hooks.uni.example"}
    plain = check("http://127.0.0.1/x", allow_private=True)
    assert pinned_request(plain, plain.addresses[0]) == (plain.url, {"Host": "127.0.0.1"}, {})


# -- fetch: pinned, no redirect, no proxy, bounded -------------------------------------------


class Server:
    """A plain HTTP server on 127.0.0.1 recording what it was sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                owner.requests.append(
                    {"method": self.command, "path": self.path, "host": self.headers.get("host"), "body": self.rfile.read(length)}
                )
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/ok")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/slow":
                    time.sleep(2)
                if self.path == "/huge":
                    body = b"x" * (1 << 20)
                elif self.path == "/unsized":
                    self.send_response(200)
                    self.end_headers()  # no length: read until close
                    self.wfile.write(b"y" * 200_000)
                    self.close_connection = True
                    return
                else:
                    body = json.dumps({"keys": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.stop()


def run_fetch(policy: OutboundPolicy, url: str, **kw: Any) -> outbound.OutboundResponse:
    kw.setdefault("max_bytes", 64 * 1024)
    kw.setdefault("timeout", 5.0)
    return asyncio.run(fetch(policy, url, **kw))


def test_fetch_connects_to_the_address_it_checked_and_resolves_once(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name resolves to the test server once; a second lookup would give an
    address nothing listens on (DNS rebinding). A proxy in the environment
    would see the name and resolve it itself: it is never used."""
    answers = iter([["127.0.0.1"], ["10.255.255.1"]])
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    policy = OutboundPolicy(allow_private=True, resolver=rebinding)
    resp = run_fetch(policy, f"http://hooks.uni.example:{server.port}/ok", method="POST", content=b"{}")
    assert resp.status_code == 200 and json.loads(resp.body) == {"keys": []}
    assert calls == ["hooks.uni.example"]
    assert server.requests[-1]["host"] == f"hooks.uni.example:{server.port}" and server.requests[-1]["body"] == b"{}"


def test_fetch_checks_the_target_again_and_never_connects_to_a_refused_one(server: Server) -> None:
    before = len(server.requests)
    policy = OutboundPolicy(resolver=table({"hooks.uni.example": ["127.0.0.1"]}))
    for url in (f"https://hooks.uni.example:{server.port}/ok", f"https://127.1:{server.port}/ok", f"http://127.0.0.1:{server.port}/ok"):
        with pytest.raises(TargetRefused):
            run_fetch(policy, url)
    assert len(server.requests) == before


def test_fetch_never_follows_a_redirect(server: Server) -> None:
    resp = run_fetch(OutboundPolicy(allow_private=True), f"http://127.0.0.1:{server.port}/redirect")
    assert resp.status_code == 302
    assert server.requests[-1]["path"] == "/redirect"  # /ok was not asked for


def test_fetch_bounds_the_size_of_the_answer(server: Server) -> None:
    policy = OutboundPolicy(allow_private=True)
    for path in ("/huge", "/unsized"):
        with pytest.raises(ResponseTooLarge):
            run_fetch(policy, f"http://127.0.0.1:{server.port}{path}", max_bytes=4096)
        cut = run_fetch(policy, f"http://127.0.0.1:{server.port}{path}", max_bytes=1024, truncate=True)
        assert cut.status_code == 200 and len(cut.body) == 1024


def test_fetch_bounds_its_time(server: Server) -> None:
    # The server answers after 2 s: a timeout means the fetch did not wait for it.
    with pytest.raises((TimeoutError, httpx.TimeoutException)):
        run_fetch(OutboundPolicy(allow_private=True), f"http://127.0.0.1:{server.port}/slow", timeout=0.3)
