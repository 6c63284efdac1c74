"""Async engine and sessions for SQLite (embedded default) and PostgreSQL.

Every unit of work opens its own short session (`Database.read()` / `Database.write()`), so
concurrently running GraphQL resolvers never share an `AsyncSession`.

SQLite has one writer at a time. Write transactions start with ``BEGIN IMMEDIATE`` so two
writers queue on the busy timeout instead of failing when a read lock is upgraded; reads use
a plain deferred ``BEGIN`` and, thanks to WAL, never wait for a writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from app.db import versioning

SQLITE_BUSY_TIMEOUT_MS = 30_000

versioning.install()  # every session bumps the catalog version on catalog changes


def _sqlite_listeners(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) emit BEGIN, so we can choose IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        if options.get("sqlite_autocommit", False):
            return  # plain reads: each statement is its own (implicit) read transaction
        immediate = options.get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    # A session's close and the pool's check-in each roll back; outside a transaction (plain
    # reads) there is nothing to roll back, and each call is a hop to the driver's thread.
    dialect = sync_engine.dialect
    rollback = dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        if dbapi_connection.driver_connection.in_transaction:
            rollback(dbapi_connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


def create_engine(url: str, *, pool_size: int = 10, statement_cache: bool = True) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _sqlite_listeners(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if not statement_cache:
        connect_args["statement_cache_size"] = 0
    if pool_size <= 0:
        return create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=False,
        connect_args=connect_args,
    )


class Database:
    """One engine plus the two kinds of unit of work the services need."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # Plain reads run without a transaction: one round trip per statement instead of
        # three (BEGIN, statement, ROLLBACK) for the many one-statement reads. Each statement
        # sees the latest commits, which is what READ COMMITTED gave them anyway.
        autocommit = (
            engine.execution_options(sqlite_autocommit=True) if self.is_sqlite
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._reader = async_sessionmaker(autocommit, expire_on_commit=False, autoflush=False)
        self._snapshot_reader = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False
        )
        writer_engine = (
            engine.execution_options(sqlite_immediate=True) if self.is_sqlite else engine
        )
        self._writer = async_sessionmaker(writer_engine, expire_on_commit=False, autoflush=False)
        self._turn: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(create_engine(url, **kwargs))

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self, *, consistent: bool = False) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work: each statement sees what was committed when it ran
        (no transaction, like READ COMMITTED). Never write in it: nothing would roll back.

        `consistent`: every statement sees one snapshot (REPEATABLE READ on PostgreSQL, a
        read transaction on SQLite), for decisions taken on several reads at once."""
        if not consistent:
            async with self._reader() as session:
                yield session
            return
        async with self._snapshot_reader() as session:
            if not self.is_sqlite:
                await session.connection(
                    execution_options={"isolation_level": "REPEATABLE READ"}
                )
            yield session

    def _sqlite_turn(self) -> asyncio.Lock | None:
        """SQLite: this process's queue for the single writer slot (one per event loop)."""
        if not self.is_sqlite:
            return None
        loop = asyncio.get_running_loop()
        if self._turn is None or self._turn[0] is not loop:
            self._turn = (loop, asyncio.Lock())
        return self._turn[1]

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A unit of work committed when the block ends, rolled back if it raises.

        On SQLite, writers of this process wait their turn on an asyncio lock (first come,
        first served, woken the moment the slot frees) instead of in SQLite's busy handler,
        which polls with sleeps of up to 100 ms and leaves the slot idle under contention;
        the busy timeout still arbitrates between processes."""
        turn = self._sqlite_turn()
        if turn is None:
            async with self._writer() as session, session.begin():
                yield session
            return
        async with turn, self._writer() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
