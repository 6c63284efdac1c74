"""Where webhooks may be sent: URL rules, address classes, and a connection guard.

A webhook URL is given by whoever holds a secret key, and the server then sends requests to
it: without rules that is a way to reach the cloud metadata service or internal hosts from
inside the deployment (SSRF). The rules:

- malformed URLs are refused always: not http(s), no host, a bad port, embedded credentials,
  spaces or control characters (CR/LF), a fragment, legacy IPv4 spellings (`2852039166`,
  `0251.0376.0251.0376`) that resolvers read as addresses;
- link-local and cloud-metadata targets are refused always (169.254.0.0/16, fe80::/10,
  fd00:ec2::254, 100.100.100.200, metadata.google.internal), as are addresses that are not a
  single host (0.0.0.0/8, ::, multicast, 240.0.0.0/4) — in IPv6 spellings too (IPv4-mapped
  `::ffff:a.b.c.d`, IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`);
- private and loopback targets (127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, 100.64/10,
  198.18/15, fc00::/7, `localhost`) are allowed unless `PROMOGATE_WEBHOOKS_ALLOW_PRIVATE=false`:
  self-hosted receivers are usually internal.

`url_problem` applies them when an endpoint is saved (to literal addresses; names are not
resolved then). `GuardedBackend` applies them again on every connection a delivery opens: it
resolves the name itself, connects only to an allowed address (so the address checked is the
address used; TLS still verifies the name) and checks the connected socket's peer, so a name
that later resolves to a blocked address (DNS rebinding) is refused, not delivered to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import anyio
import httpcore
import httpx

MAX_URL = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ALWAYS: tuple[tuple[str, str], ...] = (
    ("169.254.0.0/16", "a link-local address"),
    ("fe80::/10", "a link-local address"),
    ("fd00:ec2::254/128", "a cloud metadata address"),
    ("100.100.100.200/32", "a cloud metadata address"),
    ("0.0.0.0/8", "not a single host"),
    ("224.0.0.0/4", "not a single host"),
    ("240.0.0.0/4", "not a single host"),
    ("::/128", "not a single host"),
    ("ff00::/8", "not a single host"),
)
_PRIVATE: tuple[str, ...] = (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "198.18.0.0/15", "192.0.0.0/24", "::1/128", "fc00::/7", "fec0::/10",
)
ALWAYS_BLOCKED = tuple((ipaddress.ip_network(n), why) for n, why in _ALWAYS)
PRIVATE = tuple(ipaddress.ip_network(n) for n in _PRIVATE)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog",
                            "instance-data.ec2.internal"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class BlockedAddress(Exception):
    """A delivery would connect to an address the policy refuses; never worth retrying."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 spelling carries (mapped, compatible, NAT64, 6to4)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why a delivery must not go to `ip` (None: it may)."""
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
            candidates = [ip]
        embedded = _embedded_v4(ip)
        if embedded is not None:
            candidates.append(embedded)
    for candidate in candidates:
        for network, why in ALWAYS_BLOCKED:
            if candidate.version == network.version and candidate in network:
                return f"{ip} is {why}"
    if not allow_private:
        for candidate in candidates:
            if any(candidate.version == n.version and candidate in n for n in PRIVATE):
                return (f"{ip} is a private or loopback address "
                        "(PROMOGATE_WEBHOOKS_ALLOW_PRIVATE is false)")
    return None


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _legacy_ipv4(host: str) -> bool:
    """`2852039166`, `0xa9.0xfe.0xa9.0xfe`, `169.254.43518`: resolvers read these as IPv4."""
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def _host_problem(host: str) -> str | None:
    if host.endswith("."):
        host = host[:-1]
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return "the host is not a valid name"
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in ascii_host.split(".")):
        return "the host is not a valid name"
    if _legacy_ipv4(ascii_host):
        return "write an IPv4 address as four decimal numbers (a.b.c.d)"
    return None


def _split(url: str) -> tuple[SplitResult, int | None]:
    parts = urlsplit(url)
    return parts, parts.port  # .port raises ValueError for a bad port


def url_problem(url: Any, *, allow_private: bool) -> str | None:
    """Why `url` cannot be a webhook endpoint (None: it can)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        return f"a URL of 1-{MAX_URL} characters is required"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "the URL must not contain spaces or control characters"
    try:
        parts, port = _split(url)
    except ValueError as exc:
        return f"the URL is malformed: {exc}"
    if parts.scheme not in ("http", "https"):
        return "the URL must be http:// or https://"
    if "@" in parts.netloc:
        return "the URL must not carry credentials (user:password@); use the signing secret"
    host = parts.hostname
    if not host:
        return "the URL needs a host"
    if port == 0:
        return "the port must be 1-65535"
    if parts.fragment or url.endswith("#"):
        return "a webhook URL has no #fragment"
    ip = _ip_literal(host)
    if ip is None:
        if problem := _host_problem(host):
            return problem
        name = host.rstrip(".").lower()
        if name in METADATA_NAMES:
            return f"{name} is a cloud metadata service"
        if not allow_private and (name == "localhost" or name.endswith(".localhost")):
            return (f"{name} is a loopback name "
                    "(PROMOGATE_WEBHOOKS_ALLOW_PRIVATE is false)")
        return None
    return address_problem(ip, allow_private=allow_private)


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, in the resolver's order (tests replace this function)."""
    if _ip_literal(host) is not None:
        return [host]
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, checking the socket actually connected."""

    def __init__(self, *, allow_private: bool,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allow_private = allow_private
        self.inner = inner or httpcore.AnyIOBackend()

    def _problem(self, address: str) -> str | None:
        ip = _ip_literal(address)
        if ip is None:
            return f"{address} is not an IP address"
        return address_problem(ip, allow_private=self.allow_private)

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        refused: list[str] = []
        last_error: Exception | None = None
        for address in addresses:
            problem = self._problem(address)
            if problem is not None:
                refused.append(problem)
                continue
            try:
                stream = await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            peer = stream.get_extra_info("server_addr")
            problem = self._problem(str(peer[0])) if peer else None
            if problem is not None:
                await stream.aclose()
                refused.append(problem)
                continue
            return stream
        if last_error is not None:
            raise last_error
        if refused:
            raise BlockedAddress(f"refused to connect to {host}: {'; '.join(refused)}")
        raise httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("webhooks are not delivered over unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connections made by `GuardedBackend`; no proxy from the
    environment (a proxy would be the peer, and the receiver's address would go unchecked)."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20,
                              keepalive_expiry=5.0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=True, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_private=allow_private),
        )


def webhook_client(*, allow_private: bool) -> httpx.AsyncClient:
    """The HTTP client deliveries use: every connection is checked against the rules."""
    return httpx.AsyncClient(transport=GuardedTransport(allow_private=allow_private),
                             trust_env=False)
