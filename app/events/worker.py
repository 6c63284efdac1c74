"""`promogate worker`: the dispatcher (and bus sinks / consumer) without the API."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from app.db.session import Database
from app.events.consumer import InboundHandler
from app.events.runtime import start_background
from app.events.settings import EventSettings
from app.settings import Settings


async def run_worker(
    settings: Settings, stop: asyncio.Event | None = None, *, inbound: InboundHandler | None = None
) -> None:
    """`inbound`: what an inbound bus message does (`app.services.inbound.handle`)."""
    events = EventSettings()
    db = Database.from_url(settings.database_url, pool_size=settings.database_pool_size,
                           statement_cache=settings.database_statement_cache)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    background = await start_background(db, events.model_copy(update={"dispatcher": True}),
                                         inbound=inbound)
    try:
        await stop.wait()
    finally:
        await background.stop()
        await db.dispose()
