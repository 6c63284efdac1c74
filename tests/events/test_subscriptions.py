"""GraphQL subscriptions over graphql-transport-ws against a real uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from websockets.exceptions import ConnectionClosed

from app.db.session import Database
from app.main import create_app
from app.settings import Settings
from tests.events.conftest import REDEEM
from tests.stack import factories as f

SUBPROTOCOL = "graphql-transport-ws"


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serving(settings: Settings, db: Database) -> AsyncIterator[str]:
    """The app on a free 127.0.0.1 port, in this process; stopped at the end."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, database=db), log_level="warning",
                            lifespan="on", ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        sock.close()


@pytest.fixture(autouse=True)
def _no_dispatcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMOGATE_DISPATCHER", "false")


class Subscriber:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, host: str, key: str) -> AsyncIterator[Subscriber]:
        async with websockets.connect(f"ws://{host}/graphql", subprotocols=[SUBPROTOCOL],
                                      open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {key}"}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ack["type"] == "connection_ack", ack
            yield cls(ws)

    async def subscribe(self, query: str, **variables: Any) -> None:
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe",
                                       "payload": {"query": query, "variables": variables}}))
        await asyncio.sleep(0.4)  # the operation starts in its own task on the server

    async def next(self, timeout: float = 8) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert message["type"] == "next", message
        return message["payload"]

    async def nothing_within(self, seconds: float) -> bool:
        try:
            message = await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")


async def redeem_over_http(host: str, key: str, code: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=10) as http:
        response = await http.post("/graphql", headers={"Authorization": f"Bearer {key}"}, json={
            "query": REDEEM, "variables": {"i": {
                "redeemables": [{"object": "VOUCHER", "id": code}], "order": {"amount": 900}}},
        })
    return response.json()["data"]["redeemStack"]


EVENTS = """subscription($t: [String!]) { events(types: $t) { id type aggregateId data } }"""
REDEMPTIONS = """subscription($c: ID) { redemptionEvents(campaignId: $c) {
  type redemptionId redemption { id status amount } } }"""


class TestSubscriptions:
    async def test_subscribe_redeem_over_http_receive(self, settings, db, tenant) -> None:
        camp = await f.campaign(db, tenant.project_id)
        await f.voucher(db, tenant.project_id, "LIVE", campaign_id=camp.id,
                        discount={"type": "AMOUNT", "amount_off": 100})
        async with serving(settings, db) as host, Subscriber.connect(
            host, tenant.secret_key
        ) as sub:
            await sub.subscribe(REDEMPTIONS, c=camp.id)
            redeemed = await redeem_over_http(host, tenant.secret_key, "LIVE")
            first = (await sub.next())["data"]["redemptionEvents"]
            second = (await sub.next())["data"]["redemptionEvents"]
        child = redeemed["redemption"]["children"][0]["id"]
        assert [first["redemptionId"], second["redemptionId"]] == [
            child, redeemed["redemption"]["id"]
        ]
        assert first["type"] == "redemption.succeeded"
        assert first["redemption"] == {"id": child, "status": "SUCCEEDED", "amount": 100}

    async def test_events_filtered_by_type_and_tenant(self, settings, db, make_tenant) -> None:
        a, b = await make_tenant("A"), await make_tenant("B")
        for t in (a, b):
            await f.voucher(db, t.project_id, "MINE", discount={"type": "AMOUNT",
                                                                  "amount_off": 100})
        async with serving(settings, db) as host, Subscriber.connect(
            host, a.secret_key
        ) as sub:
            await sub.subscribe(EVENTS, t=["order.*"])
            await redeem_over_http(host, b.secret_key, "MINE")  # another project's
            redeemed = await redeem_over_http(host, a.secret_key, "MINE")
            created = (await sub.next())["data"]["events"]
            paid = (await sub.next())["data"]["events"]
            assert await sub.nothing_within(0.5)
        assert (created["type"], paid["type"]) == ("order.created", "order.paid")
        assert created["aggregateId"] == redeemed["order"]["id"]

    async def test_wrong_key_is_rejected_at_connection_init(self, settings, db) -> None:
        async with serving(settings, db) as host, websockets.connect(
            f"ws://{host}/graphql", subprotocols=[SUBPROTOCOL], open_timeout=5
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": "Bearer sk_nope"}}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403

    async def test_publishable_key_may_not_subscribe(self, settings, db, tenant) -> None:
        async with serving(settings, db) as host, Subscriber.connect(
            host, tenant.publishable_key
        ) as sub:
            await sub.ws.send(json.dumps({"id": "1", "type": "subscribe",
                                          "payload": {"query": EVENTS}}))
            message = json.loads(await asyncio.wait_for(sub.ws.recv(), 5))
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.skipif(not os.environ.get("PROMOGATE_TEST_DATABASE_URL"),
                    reason="two processes share one database only on PostgreSQL")
class TestTwoProcesses:
    async def test_subscriber_on_b_sees_a_redemption_made_through_a(
        self, settings, db, database_url, tenant
    ) -> None:
        if db.is_sqlite:
            pytest.skip("SQLite delivers in-process only")
        await f.voucher(db, tenant.project_id, "FANOUT", discount={"type": "AMOUNT",
                                                                    "amount_off": 100})
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        env = {**os.environ, "PROMOGATE_DATABASE_URL": database_url,
               "PROMOGATE_DISPATCHER": "false"}
        process_b = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            host_b = f"127.0.0.1:{port}"
            async with httpx.AsyncClient() as http:
                for _ in range(150):
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(f"http://{host_b}/health")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
            async with serving(settings, db) as host_a, Subscriber.connect(
                host_b, tenant.secret_key
            ) as sub:
                await sub.subscribe(REDEMPTIONS)
                redeemed = await redeem_over_http(host_a, tenant.secret_key, "FANOUT")
                got = [(await sub.next())["data"]["redemptionEvents"]["redemptionId"]
                       for _ in range(2)]
            assert got[-1] == redeemed["redemption"]["id"]
        finally:
            process_b.terminate()
            try:
                process_b.wait(5)
            except subprocess.TimeoutExpired:
                process_b.kill()
                process_b.wait(5)


class TestOperationsOverWebSocket:
    async def test_the_publishable_key_rules_hold_for_queries_and_mutations_too(
        self, settings, db, tenant
    ) -> None:
        async with serving(settings, db) as host, Subscriber.connect(
            host, tenant.publishable_key
        ) as sub:
            await sub.ws.send(json.dumps({"id": "m", "type": "subscribe", "payload": {
                "query": 'mutation { createWebhookEndpoint(input: {url: "https://x.example"})'
                         " { secret } }"}}))
            message = json.loads(await asyncio.wait_for(sub.ws.recv(), 5))
        # refused before validation and execution: an `error` message (graphql-transport-ws)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


class TestBroker:
    async def test_a_burst_larger_than_a_page_reaches_the_subscriber_once(
        self, db, make_tenant, monkeypatch
    ) -> None:
        from app.events import broker as broker_module
        from app.events.outbox import emit

        monkeypatch.setattr(broker_module, "PAGE", 3)
        a, b = await make_tenant("A"), await make_tenant("B")
        broker = broker_module.Broker(db, poll_interval=0.05)
        try:
            async with broker.subscribe(a.project_id) as queue:
                async with db.write() as session:
                    for n in range(7):
                        for tenant in (a, b):
                            await emit(session, tenant.project_id, "customer.created",
                                       {"n": n}, aggregate=("customer", f"cust_burst{n}"))
                got = [await asyncio.wait_for(queue.get(), 5) for _ in range(7)]
                await asyncio.sleep(0.3)
                assert queue.empty()
        finally:
            await broker.stop()
        assert [e.data["n"] for e in got] == list(range(7))
        assert {e.project_id for e in got} == {a.project_id}
