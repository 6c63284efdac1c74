"""External event sinks (an event bus) and the relay that feeds them from the outbox.

A sink is anything with `name`, `start()`, `publish(event)` and `close()`. Every event is
queued for each enabled sink in the transaction that emitted it (`sink_deliveries`); the
relay claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL), publishes them in aggregate
order and retries failures with a capped backoff, forever: a bus outage delays events, it
never drops them. Publishing is at least once; sinks pass the event id on so the bus can
de-duplicate (JetStream `Nats-Msg-Id`, a Kafka key).

A Kafka sink is one class: `name = "kafka"`, `start()` makes an aiokafka producer,
`publish()` sends `envelope_json(event)` to a topic keyed by the aggregate (per-aggregate
order within a partition), `close()` stops the producer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.db.base import utcnow
from app.db.events import OPEN_DELIVERY, DeliveryStatus, Event, SinkDelivery
from app.db.session import Database
from app.events.tasks import cancel
from app.events.waker import Waker
from app.events.webhooks import envelope

log = logging.getLogger("promogate.events")
MAX_BACKOFF = timedelta(minutes=5)


class Sink(Protocol):
    name: str

    async def start(self) -> None: ...

    async def publish(self, event: Event) -> None: ...

    async def close(self) -> None: ...


def envelope_json(event: Event) -> bytes:
    return json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False).encode()


class NatsSink:
    """Publishes to JetStream subject `<prefix>.<project_id>.<event type>`."""

    name = "nats"

    def __init__(self, url: str, *, stream: str = "PROMOGATE", prefix: str = "promogate") -> None:
        self.url = url
        self.stream = stream
        self.prefix = prefix
        self._nc: object | None = None
        self._js: object | None = None

    def subject(self, event: Event) -> str:
        return f"{self.prefix}.{event.project_id}.{event.type}"

    async def start(self) -> None:
        import nats
        from nats.js.errors import NotFoundError

        nc = await nats.connect(self.url, connect_timeout=5, allow_reconnect=True,
                                max_reconnect_attempts=-1)
        js = nc.jetstream()
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(name=self.stream, subjects=[f"{self.prefix}.>"])
        self._nc, self._js = nc, js

    async def publish(self, event: Event) -> None:
        assert self._js is not None, "start() first"
        await self._js.publish(  # type: ignore[attr-defined]
            self.subject(event), envelope_json(event), timeout=5,
            headers={"Nats-Msg-Id": event.id},
        )

    async def close(self) -> None:
        if self._nc is not None:
            try:
                await asyncio.wait_for(self._nc.drain(), 5)  # type: ignore[attr-defined]
            except Exception:  # could not flush in time: just close
                with contextlib.suppress(Exception):
                    await self._nc.close()  # type: ignore[attr-defined]
            self._nc = self._js = None


class SinkRelay:
    """Moves queued events to one sink; several relays (processes) may run at once."""

    def __init__(
        self, db: Database, sink: Sink, *, poll_interval: float = 0.2, batch_size: int = 100,
        lease: timedelta = timedelta(seconds=60), clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.sink = sink
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.lease = lease
        self.clock = clock
        self._waker = Waker(db)
        self._task: asyncio.Task[None] | None = None
        self._claim_lock = asyncio.Lock()

    async def start(self) -> None:
        await self.sink.start()
        await self._waker.start()
        self._task = asyncio.create_task(self._run(), name=f"promogate-sink-{self.sink.name}")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        await self._waker.stop()
        await self.sink.close()

    async def _run(self) -> None:
        while True:
            self._waker.clear()
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("sink %s: a round failed", self.sink.name)
                handled = 0
            if handled < self.batch_size:
                await self._waker.wait(self.poll_interval)

    async def run_once(self) -> int:
        claimed = await self._claim()
        outcomes: list[tuple[SinkDelivery, str | None]] = []
        for delivery, event in claimed:
            try:
                await self.sink.publish(event)
                outcomes.append((delivery, None))
            except Exception as exc:  # any failure: retry later, in order
                outcomes.append((delivery, f"{type(exc).__name__}: {exc}"[:1000]))
        if outcomes:
            await self._record(outcomes)
        return len(claimed)

    async def _claim(self) -> list[tuple[SinkDelivery, Event]]:
        d = SinkDelivery
        before = aliased(SinkDelivery)
        async with self._claim_lock:
            now = self.clock()
            earlier_open = sa.exists().where(
                before.sink == d.sink, before.aggregate_key == d.aggregate_key,
                before.status.in_(OPEN_DELIVERY),  # type: ignore[attr-defined]
                sa.or_(before.sequence < d.sequence,
                       sa.and_(before.sequence == d.sequence, before.id < d.id)),
            )
            stmt = (
                sa.select(d, Event).join(Event, Event.id == d.event_id)
                .where(
                    d.sink == self.sink.name, d.status.in_(OPEN_DELIVERY),  # type: ignore[attr-defined]
                    d.next_attempt_at <= now,
                    sa.or_(d.leased_until.is_(None), d.leased_until < now),  # type: ignore[union-attr]
                    ~earlier_open,
                )
                .order_by(d.created_at, d.id).limit(self.batch_size)
            )
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True, of=SinkDelivery)
            async with self.db.write() as session:
                rows = [(row[0], row[1]) for row in (await session.execute(stmt)).all()]
                if rows:
                    await session.execute(
                        sa.update(SinkDelivery)
                        .where(SinkDelivery.id.in_([r[0].id for r in rows]))  # type: ignore[attr-defined]
                        .values(leased_until=now + self.lease)
                    )
        return rows

    async def _record(self, outcomes: list[tuple[SinkDelivery, str | None]]) -> None:
        now = self.clock()
        async with self.db.write() as session:
            for delivery, error in outcomes:
                attempts = delivery.attempts + 1
                values: dict[str, object] = {"attempts": attempts, "leased_until": None,
                                             "last_error": error}
                if error is None:
                    values.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
                else:
                    wait = min(timedelta(seconds=2 ** min(attempts, 10)), MAX_BACKOFF)
                    values.update(status=DeliveryStatus.FAILED, next_attempt_at=now + wait)
                await session.execute(
                    sa.update(SinkDelivery).where(SinkDelivery.id == delivery.id).values(**values)
                )
