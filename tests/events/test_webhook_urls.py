"""Where webhooks may go (issue 12, item 18): URL rules when an endpoint is saved, and the
same address rules on the connection a delivery actually opens (DNS rebinding)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx
import pytest

from app.db.session import Database
from app.events import egress
from app.main import create_app
from app.settings import Settings
from tests.conftest import Api
from tests.events.conftest import create_endpoint, eventually

CREATE = """mutation($u: String!) { createWebhookEndpoint(input: {url: $u}) {
  webhookEndpoint { id url } secret errors { code message field } } }"""
UPDATE = """mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) {
  webhookEndpoint { url } errors { code field } } }"""
DELIVERIES = """query($f: WebhookDeliveryFilter) { webhookDeliveries(filter: $f, first: 50) {
  edges { node { status attempts responseCode lastError nextAttemptAt } } } }"""
ENDPOINT = """query($id: ID!) { node(id: $id) { ... on WebhookEndpoint {
  active consecutiveDeadLetters } } }"""

MALFORMED = [
    "http://hooks.example.com:99999/x",       # port out of range
    "http://hooks.example.com:0/x",
    "http://hooks.example.com:http/x",
    "http://hooks.example.com/x\r\nX-Injected: 1",
    "http://hooks.example.com/a b",
    "http://user:secret@hooks.example.com/x",  # credentials
    "http://user@hooks.example.com/x",
    "ftp://hooks.example.com/x",                # not http(s)
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "http:///x",                                # no host
    "hooks.example.com/x",
    "http://[::1/x",
    "http://2852039166/",                       # 169.254.169.254 in legacy spellings
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://hooks.exa%6dple.com/",
    "http://hooks.example.com/x#frag",
]
ALWAYS_REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.0.1:8080/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://100.100.100.200/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://0.0.0.0:8080/",
    "http://[::]/",
    "http://224.0.0.1/",
]
PRIVATE = [
    "http://10.0.0.1/hooks",
    "http://127.0.0.1:9000/hooks",
    "http://[::1]:9000/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://192.168.1.5/hooks",
    "http://172.16.0.9/hooks",
    "http://[fd12:3456::1]/hooks",
    "http://localhost:9000/hooks",
    "http://hooks.localhost/hooks",
]
PUBLIC = ["https://hooks.example.com/promogate", "http://203.0.113.7:8443/x",
          "https://[2001:db8::1]/x", "https://bücher.example/hook"]


async def outcome(api: Api, url: str) -> list[tuple[str, list[str] | None]]:
    data = (await api(CREATE, u=url))["createWebhookEndpoint"]
    if data["errors"]:
        assert data["webhookEndpoint"] is None and data["secret"] is None
    return [(e["code"], e["field"]) for e in data["errors"]]


@pytest.fixture
async def strict_api(settings: Settings, db: Database, tenant: Any) -> AsyncIterator[Api]:
    """The same tenant through an app started with PROMOGATE_WEBHOOKS_ALLOW_PRIVATE=false."""
    strict = Settings(database_url=settings.database_url, webhooks_allow_private=False)
    app = create_app(strict, database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://promogate.test") as client:
        yield Api(client, tenant.secret_key)


class TestEndpointUrls:
    async def test_malformed_urls_are_refused(self, tenant) -> None:
        for url in MALFORMED:
            assert await outcome(tenant.api, url) == [("invalid_url", ["url"])], url

    async def test_link_local_and_metadata_targets_are_refused_always(
        self, tenant, strict_api
    ) -> None:
        for url in ALWAYS_REFUSED:
            assert await outcome(tenant.api, url) == [("invalid_url", ["url"])], url
            assert await outcome(strict_api, url) == [("invalid_url", ["url"])], url

    async def test_private_targets_are_allowed_by_default_and_refused_when_turned_off(
        self, tenant, strict_api
    ) -> None:
        for url in PRIVATE:
            assert await outcome(tenant.api, url) == [], url
            assert await outcome(strict_api, url) == [("invalid_url", ["url"])], url
        for url in PUBLIC:
            assert await outcome(strict_api, url) == [], url
        listed = await tenant.api("{ webhookEndpoints { totalCount } }")
        assert listed["webhookEndpoints"]["totalCount"] == len(PRIVATE) + len(PUBLIC)

    async def test_update_checks_the_url_too(self, tenant) -> None:
        endpoint = await create_endpoint(tenant.api, "https://hooks.example.com/x")
        endpoint_id = endpoint["webhookEndpoint"]["id"]

        refused = (await tenant.api(UPDATE, i={"id": endpoint_id,
                                               "url": "http://169.254.169.254/"}))
        kept = await tenant.api("query($id: ID!) { node(id: $id) { ... on WebhookEndpoint "
                                "{ url } } }", id=endpoint_id)

        assert refused["updateWebhookEndpoint"]["errors"] == [
            {"code": "invalid_url", "field": ["url"]}
        ]
        assert kept["node"]["url"] == "https://hooks.example.com/x"


def resolving(mapping: dict[str, list[str]]) -> Any:
    real = egress.resolve

    async def resolve(host: str, port: int) -> list[str]:
        return mapping[host] if host in mapping else await real(host, port)

    return resolve


async def emit_one(tenant: Any, source_id: str) -> None:
    await tenant.api("mutation($i: UpsertCustomerInput!) { createCustomer(input: $i) "
                     "{ customer { id } } }", i={"sourceId": source_id})


async def deliveries(tenant: Any, endpoint: dict[str, Any], status: str) -> Any:
    data = await tenant.api(DELIVERIES, f={"endpointId": endpoint["webhookEndpoint"]["id"]})
    nodes = [e["node"] for e in data["webhookDeliveries"]["edges"]]
    return nodes if nodes and all(n["status"] == status for n in nodes) else None


class TestDeliveryTimeCheck:
    async def test_a_name_rebound_to_the_metadata_address_is_refused_not_retried(
        self, tenant, receiver, make_dispatcher, monkeypatch
    ) -> None:
        port = receiver.url.split(":")[2].split("/")[0]
        endpoint = await create_endpoint(tenant.api, f"http://hooks.rebind.test:{port}/hooks")
        monkeypatch.setattr(egress, "resolve",
                            resolving({"hooks.rebind.test": ["169.254.169.254"]}))
        await emit_one(tenant, "rebind")
        await make_dispatcher()

        (dead,) = await eventually(lambda: deliveries(tenant, endpoint, "DEAD"))
        assert dead["attempts"] == 1 and dead["responseCode"] is None
        assert dead["nextAttemptAt"] is None
        assert dead["lastError"].startswith("refused: ")
        assert "169.254.169.254 is a link-local address" in dead["lastError"]
        assert receiver.requests == []
        state = await tenant.api(ENDPOINT, id=endpoint["webhookEndpoint"]["id"])
        assert state["node"]["consecutiveDeadLetters"] == 1

    async def test_a_name_is_delivered_to_the_address_checked_with_its_host_header(
        self, tenant, receiver, make_dispatcher, monkeypatch
    ) -> None:
        port = receiver.url.split(":")[2].split("/")[0]
        endpoint = await create_endpoint(tenant.api, f"http://hooks.internal.test:{port}/hooks")
        monkeypatch.setattr(egress, "resolve", resolving(
            {"hooks.internal.test": ["169.254.10.10", "127.0.0.1"]}
        ))
        await emit_one(tenant, "internal")
        await make_dispatcher()

        (delivered,) = await eventually(lambda: deliveries(tenant, endpoint, "DELIVERED"))
        assert delivered["attempts"] == 1 and delivered["responseCode"] == 200
        assert receiver.requests[0].headers["host"] == f"hooks.internal.test:{port}"

    async def test_private_receivers_are_refused_when_turned_off(
        self, tenant, receiver, make_dispatcher, monkeypatch
    ) -> None:
        port = receiver.url.split(":")[2].split("/")[0]
        named = await create_endpoint(tenant.api, f"http://hooks.internal.test:{port}/hooks")
        literal = await create_endpoint(tenant.api, receiver.url)
        monkeypatch.setattr(egress, "resolve",
                            resolving({"hooks.internal.test": ["127.0.0.1"]}))
        await emit_one(tenant, "strict")
        client = egress.webhook_client(allow_private=False)
        try:
            await make_dispatcher(client=client)
            for endpoint in (named, literal):
                (dead,) = await eventually(lambda e=endpoint: deliveries(tenant, e, "DEAD"))
                assert "127.0.0.1 is a private or loopback address" in dead["lastError"]
        finally:
            await client.aclose()
        assert receiver.requests == []


class FakeStream(httpcore.AsyncNetworkStream):
    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.closed = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        return None

    async def aclose(self) -> None:
        self.closed = True

    def get_extra_info(self, info: str) -> Any:
        return (self.peer, 80) if info == "server_addr" else None


class FakeBackend(httpcore.AsyncNetworkBackend):
    """Connects anywhere it is asked, but the socket ends up at `peer`."""

    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.asked: list[str] = []
        self.streams: list[FakeStream] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        self.asked.append(host)
        self.streams.append(FakeStream(self.peer))
        return self.streams[-1]


class TestGuardedBackend:
    async def test_connects_by_checked_address_and_checks_the_peer(self, monkeypatch) -> None:
        monkeypatch.setattr(egress, "resolve", resolving({"hooks.test": ["203.0.113.5"]}))
        good = FakeBackend("203.0.113.5")
        bad = FakeBackend("169.254.169.254")

        stream = await egress.GuardedBackend(allow_private=False, inner=good).connect_tcp(
            "hooks.test", 80)
        with pytest.raises(egress.BlockedAddress, match="169.254.169.254 is a link-local"):
            await egress.GuardedBackend(allow_private=True, inner=bad).connect_tcp(
                "hooks.test", 80)

        assert good.asked == ["203.0.113.5"] and stream is good.streams[0]
        assert bad.asked == ["203.0.113.5"] and bad.streams[0].closed
