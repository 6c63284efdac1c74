"""What runs in the background of `promogate serve` and `promogate worker`.

`promogate serve --workers N` starts N processes; the work that must run once (webhook
dispatcher, event pruner, bus relay and consumer, resuming bulk jobs) runs in the one that
holds the lease `background` (see `app.db.leases` and `Leader`); the others stand by and
take it over when that lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.db import leases
from app.db.base import utcnow
from app.db.session import Database
from app.events.consumer import BusConsumer, InboundHandler
from app.events.dispatcher import Dispatcher
from app.events.retention import Pruner
from app.events.settings import EventSettings
from app.events.sinks import NatsSink, SinkRelay
from app.events.tasks import cancel

log = logging.getLogger("promogate.events")


@dataclass
class Background:
    parts: list[Any] = field(default_factory=list)

    async def stop(self) -> None:
        for part in reversed(self.parts):
            try:
                await part.stop()
            except Exception:  # stop the others anyway
                log.exception("stopping %s failed", type(part).__name__)
        self.parts.clear()


async def start_background(
    db: Database, settings: EventSettings | None = None, *, inbound: InboundHandler | None = None,
    guard: leases.Held | None = None,
) -> Background:
    """The webhook dispatcher and the event pruner (unless PROMOGATE_EVENT_RETENTION_DAYS is
    0); with PROMOGATE_NATS_URL the NATS sink relay, and with PROMOGATE_NATS_INBOUND_SUBJECT
    too the inbound consumer, which hands each message to `inbound` (the caller's use case:
    `app.services.inbound.handle`). `guard`: the lease tenure the dispatcher checks in
    each claim, so a process that lost the lease claims nothing more."""
    settings = settings or EventSettings()
    running = Background()
    if not settings.dispatcher:
        return running
    if settings.nats_url and settings.nats_inbound_subject and inbound is None:
        raise ValueError("the inbound consumer needs a handler (start_background(inbound=…))")
    try:
        dispatcher = Dispatcher(db, poll_interval=settings.dispatcher_poll_interval,
                                allow_private=settings.webhooks_allow_private, guard=guard)
        await dispatcher.start()
        running.parts.append(dispatcher)
        if settings.event_retention_days > 0:
            pruner = Pruner(db, retention=timedelta(days=settings.event_retention_days))
            await pruner.start()
            running.parts.append(pruner)
        if settings.nats_url:
            relay = SinkRelay(db, NatsSink(settings.nats_url, stream=settings.nats_stream),
                              poll_interval=settings.dispatcher_poll_interval)
            await relay.start()
            running.parts.append(relay)
            if settings.nats_inbound_subject:
                assert inbound is not None
                consumer = BusConsumer(db, settings.nats_url, handle=inbound,
                                       subject=settings.nats_inbound_subject)
                await consumer.start()
                running.parts.append(consumer)
    except BaseException:
        await running.stop()
        raise
    return running


BACKGROUND_LEASE = "background"


class Leader:
    """Runs `start(held)` (which returns the running `Background`) while this process holds the
    lease `name`, and stops it when the lease is lost.

    Every `ttl / 3` it tries to take the lease (a stand-by) or renews it (the holder). A holder
    that cannot renew (lost to another process, or the database did not answer until the
    tenure ran out) stops its parts first; a stopping holder releases the lease so a stand-by
    takes over on its next try instead of after the expiry."""

    def __init__(
        self, db: Database, start: Callable[[leases.Held], Awaitable[Background]], *,
        name: str = BACKGROUND_LEASE, ttl: timedelta = timedelta(seconds=15),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.name = name
        self.ttl = ttl
        self.clock = clock
        self._start = start
        self.held: leases.Held | None = None
        self._running: Background | None = None
        self._valid_until: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self.me = leases.new_holder()  # one per app instance, even two in one process

    @property
    def leading(self) -> bool:
        return self._running is not None

    async def start(self) -> None:
        # The first process to start leads at once; as before leases, a part that cannot
        # start (or a database that does not answer) fails the server's startup.
        await self.step(raise_errors=True)
        self._task = asyncio.create_task(self._run(), name=f"promogate-lease-{self.name}")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        held = self.held
        await self._step_down()
        if held is not None:
            try:
                await leases.release(self.db, held)
            except Exception:  # it expires on its own
                log.warning("releasing the lease %s failed", self.name, exc_info=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.ttl.total_seconds() / 3)
            await self.step()

    async def step(self, *, raise_errors: bool = False) -> None:
        """One try: take the lease (and start the parts), or renew it (or stop the parts)."""
        now = self.clock()
        if self.held is None:
            try:
                await self._lead(now)
            except Exception:
                if raise_errors:
                    raise
                log.exception("lease %s: taking it or starting the work failed", self.name)
            return
        try:
            if await leases.renew(self.db, self.held, self.ttl):
                self._valid_until = now + self.ttl
                return
            log.warning("lease %s lost to another process; stopping the background work",
                        self.name)
        except Exception:  # the database did not answer: keep the parts while still valid
            log.exception("lease %s: renewing failed", self.name)
            if self._valid_until is None or self.clock() < self._valid_until:
                return
        await self._step_down()

    async def _lead(self, now: datetime) -> None:
        held = await leases.acquire(self.db, self.name, self.ttl, me=self.me, now=now)
        if held is None:
            return
        try:
            running = await self._start(held)
        except BaseException:  # let go, so this process or another tries again
            with contextlib.suppress(Exception):
                await leases.release(self.db, held)
            raise
        self.held, self._valid_until, self._running = held, now + self.ttl, running
        log.info("this process now runs the background work (lease %s, token %d)",
                 self.name, held.token)

    async def _step_down(self) -> None:
        running, self._running, self.held, self._valid_until = self._running, None, None, None
        if running is not None:
            await running.stop()
