"""Feeds GraphQL subscriptions from committed events, in this process or any other.

Events are read back from the outbox table, so a subscriber only ever sees committed
events, whichever process committed them. A commit wakes the broker (in-process at once;
on PostgreSQL through LISTEN promogate_events); a short poll is the fallback. Rows are read
with a look-back window and de-duplicated by id, because ids (and `created_at`) follow emit
time, not commit time: a transaction that commits later than `lookback` after it emitted an
event would be missed by subscribers (webhooks are unaffected; they use the deliveries table).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.db.base import utcnow
from app.db.events import Event
from app.db.session import Database
from app.events.tasks import cancel
from app.events.waker import Waker

log = logging.getLogger("promogate.events")
QUEUE_SIZE = 1000
PAGE = 1000


@dataclass(eq=False)
class Subscriber:
    project_id: str
    joined_at: datetime
    accepts: Callable[[Event], bool]
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))


class Broker:
    def __init__(
        self, db: Database, *, poll_interval: float = 0.2,
        lookback: timedelta = timedelta(seconds=10),
    ) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.lookback = lookback
        self._subscribers: set[Subscriber] = set()
        self._seen: dict[str, datetime] = {}
        self._cursor: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._waker = Waker(db)
        self._start_lock = asyncio.Lock()

    @asynccontextmanager
    async def subscribe(
        self, project_id: str, accepts: Callable[[Event], bool] = lambda _e: True
    ) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue of the project's events committed from now on that `accepts` lets through."""
        await self._ensure_running()
        subscriber = Subscriber(project_id, utcnow(), accepts)
        self._subscribers.add(subscriber)
        try:
            yield subscriber.queue
        finally:
            self._subscribers.discard(subscriber)

    async def _ensure_running(self) -> None:
        async with self._start_lock:
            if self._task is None or self._task.done():
                await self._waker.start()
                self._cursor = utcnow()
                self._task = asyncio.create_task(self._run(), name="promogate-broker")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        await self._waker.stop()

    async def _run(self) -> None:
        while True:
            self._waker.clear()
            if self._subscribers:
                try:
                    await self.poll()
                except Exception:  # keep serving subscribers after a database hiccup
                    log.exception("subscription broker: a poll failed")
            await self._waker.wait(self.poll_interval)

    async def poll(self) -> int:
        """Fan out the events committed since the last poll; returns how many."""
        assert self._cursor is not None
        since = self._cursor - self.lookback
        fresh = 0
        after: tuple[datetime, str] | None = None
        while True:  # keyset pages, so a burst larger than one page is read to its end
            stmt = sa.select(Event).where(Event.created_at >= since)
            if after is not None:
                stmt = stmt.where(sa.or_(
                    Event.created_at > after[0],
                    sa.and_(Event.created_at == after[0], Event.id > after[1]),
                ))
            async with self.db.read() as session:
                rows = list((await session.execute(
                    stmt.order_by(Event.created_at, Event.id).limit(PAGE)
                )).scalars())
            for row in rows:
                if row.id in self._seen:
                    continue
                self._seen[row.id] = row.created_at
                self._cursor = max(self._cursor, row.created_at)
                self._fan_out(row)
                fresh += 1
            if len(rows) < PAGE:
                break
            after = (rows[-1].created_at, rows[-1].id)
        horizon = self._cursor - 2 * self.lookback
        self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
        return fresh

    def _fan_out(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            if subscriber.project_id != event.project_id:
                continue
            if event.created_at < subscriber.joined_at - timedelta(seconds=1):
                continue
            if not subscriber.accepts(event):
                continue
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:  # a subscriber that stopped reading loses events
                log.warning("subscriber of %s is %d events behind; dropping", event.project_id,
                            QUEUE_SIZE)
