"""Consumes inbound orders and custom events from NATS JetStream (`promogate worker`).

Subject: `<subject>.<project_id>.order` or `<subject>.<project_id>.event`; body: JSON (an
OrderInput-shaped order, or `{event, customer, metadata}`); header `Nats-Msg-Id`: the
message id that makes processing idempotent. What a message does is not decided here: the
caller passes the handler (`app.services.inbound.handle`). Messages the handler refuses
(`Refused`) or that are not JSON are logged and acknowledged (retrying cannot fix them);
unexpected failures are redelivered later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.db.session import Database
from app.events.tasks import cancel

log = logging.getLogger("promogate.events")

InboundHandler = Callable[[Database, str, str, Any, str], Awaitable[object]]
"""`(db, project_id, kind, body, message_id)`: apply one inbound message. It raises `Refused`
for a message that retrying cannot fix; any other exception means "try again later"."""


class Refused(Exception):
    """An inbound message that retrying cannot fix (bad subject, body or content)."""


class BusConsumer:
    def __init__(
        self, db: Database, url: str, *, handle: InboundHandler,
        subject: str = "promogate_in", stream: str = "PROMOGATE_IN", durable: str = "promogate",
    ) -> None:
        self.db = db
        self.handle_message = handle
        self.url = url
        self.subject = subject
        self.stream = stream
        self.durable = durable
        self._nc: Any = None
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import nats
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(self.url, connect_timeout=5, max_reconnect_attempts=-1)
        js = self._nc.jetstream()
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(name=self.stream, subjects=[f"{self.subject}.>"])
        self._sub = await js.pull_subscribe(f"{self.subject}.>", durable=self.durable,
                                            stream=self.stream)
        self._task = asyncio.create_task(self._run(), name="promogate-bus-consumer")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), 5)
            self._nc = None

    async def _run(self) -> None:
        from nats.errors import TimeoutError as NatsTimeout

        while True:
            try:
                messages = await self._sub.fetch(20, timeout=1)
            except (NatsTimeout, TimeoutError):
                continue
            except Exception:
                log.exception("bus consumer: fetch failed")
                await asyncio.sleep(1)
                continue
            for message in messages:
                await self.handle(message)

    async def handle(self, message: Any) -> None:
        parts = message.subject.split(".")
        headers = message.headers or {}
        message_id = headers.get("Nats-Msg-Id") or f"stream-seq-{message.metadata.sequence.stream}"
        try:
            if len(parts) < 3:
                raise Refused("subject is <subject>.<project>.<kind>")
            project_id, kind = parts[-2], parts[-1]
            await self.handle_message(self.db, project_id, kind, json.loads(message.data),
                                      message_id)
        except (Refused, ValueError) as exc:
            log.warning("bus consumer: refused %s (%s): %s", message.subject, message_id, exc)
            await message.ack()
            return
        except Exception:
            log.exception("bus consumer: %s (%s) failed; redelivering", message.subject,
                          message_id)
            await message.nak(delay=5)
            return
        await message.ack()
