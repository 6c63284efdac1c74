"""Delivers the outbox: claims due webhook deliveries, sends them, records every attempt.

Runs inside `promogate serve` (in the one process of `--workers N` that holds the background
lease) and alone as `promogate worker`; several may run at once.
On PostgreSQL deliveries are claimed with `FOR UPDATE SKIP LOCKED`; on SQLite the claim is
a `BEGIN IMMEDIATE` write transaction, so one claimer at a time. A claim is a lease: if the
sender dies, the delivery is claimed again when the lease ends (at-least-once; receivers
dedupe by `webhook-id`, the event id). A delivery waits while an earlier event of the same
aggregate is still undelivered to the same endpoint, so each endpoint sees an aggregate's
events in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db import leases, repository
from app.db.base import utcnow
from app.db.events import (
    OPEN_DELIVERY,
    DeliveryStatus,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.db.ids import new_id
from app.db.session import Database
from app.events import egress, webhooks
from app.events.tasks import cancel
from app.events.waker import Waker

log = logging.getLogger("promogate.events")


@dataclass(frozen=True)
class Claimed:
    delivery: WebhookDelivery
    event: Event
    endpoint: WebhookEndpoint


class Dispatcher:
    def __init__(
        self, db: Database, *, backoff: Sequence[timedelta] = webhooks.DEFAULT_BACKOFF,
        dead_letter_limit: int = webhooks.DEFAULT_DEAD_LETTER_LIMIT,
        poll_interval: float = 0.2, batch_size: int = 50, concurrency: int = 16,
        lease: timedelta = timedelta(seconds=60), clock: Callable[[], datetime] = utcnow,
        client: httpx.AsyncClient | None = None, allow_private: bool = True,
        guard: leases.Held | None = None,
    ) -> None:
        self.db = db
        self.backoff = tuple(backoff)
        self.dead_letter_limit = dead_letter_limit
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.lease = lease
        self.clock = clock
        # `client` is for tests; the default checks every connection (see egress).
        self._client = client
        self._own_client = client is None
        self.allow_private = allow_private
        # `promogate serve`: the tenure of the background lease; each claim checks it, so a
        # process that lost the lease (paused past its expiry) claims nothing more.
        self.guard = guard
        self._limit = asyncio.Semaphore(concurrency)
        self._waker = Waker(db)
        self._task: asyncio.Task[None] | None = None
        self._claim_lock = asyncio.Lock()  # one claimer per process (SQLite: per database)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is None:
            self._client = egress.webhook_client(allow_private=self.allow_private)
        await self._waker.start()
        self._task = asyncio.create_task(self._run(), name="promogate-dispatcher")

    async def stop(self) -> None:
        """Stop claiming; sends in flight are abandoned and re-claimed after their lease."""
        await cancel(self._task)
        self._task = None
        await self._waker.stop()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            self._waker.clear()
            try:
                handled = await self.run_once()
            except Exception:  # keep delivering after a database hiccup
                log.exception("webhook dispatcher: a round failed")
                handled = 0
            if handled < self.batch_size:
                await self._waker.wait(self.poll_interval)

    # --- one round --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due, send it, record the outcomes. Returns how many were sent."""
        try:
            claimed = await self._claim()
        except leases.LeaseLost:
            log.warning("webhook dispatcher: the background lease was lost; not claiming")
            return 0
        if not claimed:
            return 0
        assert self._client is not None, "start() first, or pass a client"
        now = self.clock()
        results = await asyncio.gather(*(self._send(c, now) for c in claimed))
        await self._record(list(zip(claimed, results, strict=True)))
        return len(claimed)

    async def _send(self, claimed: Claimed, now: datetime) -> webhooks.AttemptResult:
        assert self._client is not None
        async with self._limit:
            return await webhooks.send(
                self._client, claimed.endpoint.url, claimed.endpoint.secret, claimed.event, now
            )

    def _due(self, now: datetime) -> sa.Select[tuple[WebhookDelivery]]:
        d = WebhookDelivery
        before = aliased(WebhookDelivery)
        earlier_open = sa.exists().where(
            before.endpoint_id == d.endpoint_id,
            before.aggregate_key == d.aggregate_key,
            before.status.in_(OPEN_DELIVERY),  # type: ignore[attr-defined]
            sa.or_(
                before.sequence < d.sequence,
                sa.and_(before.sequence == d.sequence, before.id < d.id),
            ),
        )
        return (
            sa.select(d)
            .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
            .where(
                d.status.in_(OPEN_DELIVERY),  # type: ignore[attr-defined]
                d.next_attempt_at <= now,
                sa.or_(d.leased_until.is_(None), d.leased_until < now),  # type: ignore[union-attr]
                WebhookEndpoint.active.is_(True),  # type: ignore[attr-defined]
                ~earlier_open,
            )
            .order_by(d.next_attempt_at, d.id)
            .limit(self.batch_size)
        )

    async def _claim(self) -> list[Claimed]:
        async with self._claim_lock:
            now = self.clock()
            async with self.db.write() as session:
                if self.guard is not None:
                    await leases.check(session, self.guard)
                stmt = self._due(now)
                if not self.db.is_sqlite:
                    stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
                deliveries = list((await session.execute(stmt)).scalars())
                if not deliveries:
                    return []
                await session.execute(
                    sa.update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_([d.id for d in deliveries]))  # type: ignore[attr-defined]
                    .values(leased_until=now + self.lease)
                    .execution_options(synchronize_session=False)
                )
                events = {
                    e.id: e for e in (await session.execute(sa.select(Event).where(
                        Event.id.in_({d.event_id for d in deliveries})  # type: ignore[attr-defined]
                    ))).scalars()
                }
                endpoints = {
                    e.id: e for e in (await session.execute(sa.select(WebhookEndpoint).where(
                        WebhookEndpoint.id.in_({d.endpoint_id for d in deliveries})  # type: ignore[attr-defined]
                    ))).scalars()
                }
        return [Claimed(d, events[d.event_id], endpoints[d.endpoint_id]) for d in deliveries]

    async def _record(self, outcomes: list[tuple[Claimed, webhooks.AttemptResult]]) -> None:
        now = self.clock()
        async with self.db.write() as session:
            for claimed, result in outcomes:
                await self._record_one(session, claimed, result, now)

    async def _record_one(
        self, session: AsyncSession, claimed: Claimed, result: webhooks.AttemptResult,
        now: datetime,
    ) -> None:
        delivery = claimed.delivery
        attempts = delivery.attempts + 1
        session.add(WebhookAttempt(
            id=new_id("wha"), project_id=delivery.project_id, delivery_id=delivery.id,
            number=attempts, response_code=result.response_code, error=result.error,
            duration_ms=result.duration_ms, created_at=now,
        ))
        values: dict[str, object] = {
            "attempts": attempts, "last_response_code": result.response_code,
            "last_error": result.error, "leased_until": None,
        }
        endpoint = sa.update(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id)
        if result.ok:
            values.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
            await session.execute(endpoint.values(consecutive_dead=0))
        elif attempts <= len(self.backoff) and not result.refused:
            values.update(status=DeliveryStatus.FAILED,
                          next_attempt_at=now + self.backoff[attempts - 1])
        else:
            values.update(status=DeliveryStatus.DEAD)
            await session.execute(endpoint.values(
                consecutive_dead=WebhookEndpoint.consecutive_dead + 1
            ))
            await session.execute(
                sa.update(WebhookEndpoint).where(
                    WebhookEndpoint.id == delivery.endpoint_id,
                    WebhookEndpoint.consecutive_dead >= self.dead_letter_limit,
                    WebhookEndpoint.active.is_(True),  # type: ignore[attr-defined]
                ).values(
                    active=False,
                    disabled_reason=f"{self.dead_letter_limit} deliveries in a row failed",
                )
            )
        await session.execute(
            sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values)
        )


async def pending_count(db: Database, project_id: str) -> int:
    async with db.read() as session:
        return await repository.count(
            session, WebhookDelivery, project_id,
            [WebhookDelivery.status.in_(OPEN_DELIVERY)],  # type: ignore[attr-defined]
        )
