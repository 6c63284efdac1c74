"""Wake-ups after commits: in-process (any backend) and PostgreSQL LISTEN (other processes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from app.db.session import Database
from app.events import outbox

log = logging.getLogger("promogate.events")


def plain_dsn(db: Database) -> str:
    return make_url(str(db.engine.url.render_as_string(hide_password=False))).set(
        drivername="postgresql"
    ).render_as_string(hide_password=False)


class Waker:
    """`wait(timeout)` returns early when a transaction that emitted events has committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._flag: asyncio.Event | None = None
        self._listener: Any = None
        self._conn: asyncpg.Connection | None = None

    async def start(self) -> None:
        self._flag, self._listener = outbox.wake_event()
        if not self.db.is_sqlite:
            try:
                self._conn = await asyncpg.connect(plain_dsn(self.db), timeout=10)
                await self._conn.add_listener(outbox.CHANNEL, self._notified)
            except (OSError, asyncpg.PostgresError):
                # Polling still delivers everything; only the wake-up is slower.
                log.warning("LISTEN %s failed; polling only", outbox.CHANNEL, exc_info=True)
                self._conn = None

    def _notified(self, *_args: Any) -> None:
        if self._flag is not None:
            self._flag.set()

    def set(self) -> None:
        if self._flag is not None:
            self._flag.set()

    def clear(self) -> None:
        if self._flag is not None:
            self._flag.clear()

    async def wait(self, timeout: float) -> None:
        assert self._flag is not None, "start() first"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._flag.wait(), timeout)

    async def stop(self) -> None:
        if self._listener is not None:
            outbox.remove_listener(self._listener)
            self._listener = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
            self._conn = None
