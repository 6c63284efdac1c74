"""Event tests: a real HTTP receiver on 127.0.0.1 and dispatchers with a fast backoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.db.events import WebhookEndpoint
from app.db.session import Database
from app.events import egress
from app.events.dispatcher import Dispatcher

FAST_BACKOFF = (timedelta(milliseconds=50), timedelta(milliseconds=50),
                timedelta(milliseconds=50))

CREATE_ENDPOINT = """mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) {
  webhookEndpoint { id url events active } secret errors { code message field } } }"""

REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id result status children { id } } order { id status } errors { code } } }"""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A tiny HTTP/1.1 server: records every request, answers from `statuses` then 200."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering (a slow receiver)
    requests: list[Received] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks"

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            if not request_line:
                return
            headers: dict[str, str] = {}
            while True:
                line = await asyncio.wait_for(reader.readline(), 5)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self.statuses.pop(0) if self.statuses else 200
            if self.delay:
                await asyncio.sleep(self.delay)
            self.requests.append(Received(request_line.split()[1].decode(), headers, body))
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.requests if r.json()["type"] == event_type]


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def make_dispatcher(db: Database) -> AsyncIterator[Callable[..., Any]]:
    """Started dispatchers with a fast backoff; stopped (and their endpoints idle) at the end."""
    made: list[Dispatcher] = []
    client = egress.webhook_client(allow_private=True)  # what deliveries use by default

    async def make(**options: Any) -> Dispatcher:
        options.setdefault("backoff", FAST_BACKOFF)
        options.setdefault("poll_interval", 0.05)
        options.setdefault("client", client)
        dispatcher = Dispatcher(db, **options)
        await dispatcher.start()
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        await dispatcher.stop()
    await client.aclose()


@pytest.fixture(autouse=True)
async def _quiet_endpoints(db: Database) -> AsyncIterator[None]:
    """Endpoints a test made stop receiving when it ends (the database is shared)."""
    yield
    async with db.write() as session:
        await session.execute(sa.update(WebhookEndpoint).values(active=False))


async def create_endpoint(api: Any, url: str, events: list[str] | None = None) -> dict[str, Any]:
    data = (await api(CREATE_ENDPOINT, i={"url": url, "events": events}))["createWebhookEndpoint"]
    assert data["errors"] == [], data
    return data


@pytest.fixture(autouse=True)
async def _dump_tasks_if_stuck() -> AsyncIterator[None]:
    """A test still running after 40 s prints every asyncio task's stack (to find a hang)."""
    import sys

    loop = asyncio.get_running_loop()

    def dump() -> None:
        print("\n--- test still running after 40 s; asyncio tasks: ---", file=sys.stderr)
        for task in asyncio.all_tasks(loop):
            task.print_stack(file=sys.stderr)

    handle = loop.call_later(40, dump)
    yield
    handle.cancel()
