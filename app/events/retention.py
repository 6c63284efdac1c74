"""Event retention: the outbox keeps events for PROMOGATE_EVENT_RETENTION_DAYS, then forgets
the ones nothing still waits for.

An event is pruned when it is older than the retention and none of its webhook or sink
deliveries is still open (PENDING or FAILED-and-retrying): nothing acknowledged and not yet
delivered is ever deleted, however old. Its deliveries and their attempts go with it
(foreign keys cascade). Deletes run in batches, each its own short transaction, oldest
first, so a large backlog never holds a long lock; several processes may prune at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.db.base import utcnow
from app.db.events import OPEN_DELIVERY, Event, SinkDelivery, WebhookDelivery
from app.db.session import Database
from app.events.tasks import cancel

log = logging.getLogger("promogate.events")
BATCH = 2_000


def _prunable(before: datetime, batch: int) -> sa.Select[tuple[str]]:
    open_webhooks = sa.exists().where(
        WebhookDelivery.event_id == Event.id,
        WebhookDelivery.status.in_(OPEN_DELIVERY),  # type: ignore[attr-defined]
    )
    open_sinks = sa.exists().where(
        SinkDelivery.event_id == Event.id,
        SinkDelivery.status.in_(OPEN_DELIVERY),  # type: ignore[attr-defined]
    )
    return (
        sa.select(Event.id)
        .where(Event.created_at < before, ~open_webhooks, ~open_sinks)
        .order_by(Event.created_at)
        .limit(batch)
    )


async def prune_events(db: Database, *, before: datetime, batch: int = BATCH) -> int:
    """Delete events created before `before` that no delivery waits for; how many."""
    deleted = 0
    while True:
        async with db.write() as session:
            ids = list((await session.execute(_prunable(before, batch))).scalars())
            if ids:
                await session.execute(
                    sa.delete(Event).where(Event.id.in_(ids))  # type: ignore[attr-defined]
                )
        deleted += len(ids)
        if len(ids) < batch:
            return deleted
        await asyncio.sleep(0)  # let requests in between batches


class Pruner:
    """Prunes once shortly after start, then every `interval`."""

    def __init__(
        self, db: Database, *, retention: timedelta, interval: timedelta = timedelta(hours=1),
        first_delay: float = 30.0, clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.retention = retention
        self.interval = interval
        self.first_delay = first_delay
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="promogate-event-pruner")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def run_once(self) -> int:
        count = await prune_events(self.db, before=self.clock() - self.retention)
        if count:
            log.info("event retention: pruned %d events older than %s", count, self.retention)
        return count

    async def _run(self) -> None:
        await asyncio.sleep(self.first_delay)
        while True:
            try:
                await self.run_once()
            except Exception:  # try again next round
                log.exception("event retention: pruning failed")
            await asyncio.sleep(self.interval.total_seconds())
