"""What runs in the background of `promogate serve` and `promogate worker`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.db.session import Database
from app.events.consumer import BusConsumer, InboundHandler
from app.events.dispatcher import Dispatcher
from app.events.retention import Pruner
from app.events.settings import EventSettings
from app.events.sinks import NatsSink, SinkRelay

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
    db: Database, settings: EventSettings | None = None, *, inbound: InboundHandler | None = None
) -> Background:
    """The webhook dispatcher and the event pruner (unless PROMOGATE_EVENT_RETENTION_DAYS is
    0); with PROMOGATE_NATS_URL the NATS sink relay, and with PROMOGATE_NATS_INBOUND_SUBJECT
    too the inbound consumer, which hands each message to `inbound` (the caller's use case:
    `app.services.inbound.handle`)."""
    settings = settings or EventSettings()
    running = Background()
    if not settings.dispatcher:
        return running
    if settings.nats_url and settings.nats_inbound_subject and inbound is None:
        raise ValueError("the inbound consumer needs a handler (start_background(inbound=…))")
    try:
        dispatcher = Dispatcher(db, poll_interval=settings.dispatcher_poll_interval,
                                allow_private=settings.webhooks_allow_private)
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
