"""Leases: which process does a piece of work that must run once (the webhook dispatcher of
`promogate serve --workers N`, one bulk code-generation job).

A lease is one row: `name`, the `holder` (a process), `expires_at` and a fencing `token`.
`acquire` takes it with one conditional UPDATE (`… WHERE name = ? AND (expires_at < now OR
holder = me)`, or an INSERT if the row does not exist yet) and increments the token, so each
tenure has its own number; `renew` extends it only while holder and token are still ours; a
crashed holder's lease is taken over by another process once it has expired. Work done
under a lease calls `check` (or `renew_in`) inside its own write transaction: when another
process has taken over, the token no longer matches, `LeaseLost` is raised and the
transaction rolls back, so a stale holder (paused past its expiry, say) never writes twice.
On PostgreSQL `check` reads the row `FOR SHARE`, so no takeover can commit between the check
and the work's commit; on SQLite the work's write transaction (`BEGIN IMMEDIATE`) already
excludes every other writer.

Expiry is compared with each process's own clock: hosts sharing a database must keep their
clocks within a small fraction of the lease time of each other (NTP does).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from app.db.base import UTCDateTime, utcnow
from app.db.session import Database


class Lease(SQLModel, table=True):
    """Who holds the work called `name`, until when, and under which fencing token."""

    __tablename__ = "leases"

    name: str = Field(sa_column=sa.Column(sa.String(120), primary_key=True))
    holder: str = Field(sa_column=sa.Column(sa.String(120), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    token: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class LeaseLost(Exception):
    """Another process holds the lease now; the work under the old tenure must stop."""


@dataclass(frozen=True)
class Held:
    """One tenure of a lease: the work done under it names this token."""

    name: str
    holder: str
    token: int


def new_holder() -> str:
    """A name for this process, unique across hosts and restarts."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


# This process. A forked child must not inherit its parent's name: `holder()` notices the
# pid change and draws a new one.
_HOLDER: tuple[int, str] = (os.getpid(), new_holder())


def holder() -> str:
    global _HOLDER
    if _HOLDER[0] != os.getpid():
        _HOLDER = (os.getpid(), new_holder())
    return _HOLDER[1]


def _table() -> sa.Table:
    return Lease.__table__  # type: ignore[attr-defined, no-any-return]


async def acquire(
    db: Database, name: str, ttl: timedelta, *, me: str | None = None,
    now: datetime | None = None,
) -> Held | None:
    """Take the lease `name` for `ttl` if it is free, expired or already ours; each call that
    succeeds starts a new tenure (a new token). None when another process holds it."""
    me = me or holder()
    now = now or utcnow()
    leases = _table()
    async with db.write() as session:
        taken = await session.execute(
            sa.update(leases)
            .where(leases.c.name == name,
                   sa.or_(leases.c.expires_at < now, leases.c.holder == me))
            .values(holder=me, expires_at=now + ttl, token=leases.c.token + 1)
            .returning(leases.c.token)
        )
        token = taken.scalar_one_or_none()
        if token is None:
            insert = (postgresql.insert(leases) if not db.is_sqlite else sqlite.insert(leases))
            created = await session.execute(
                insert.values(name=name, holder=me, expires_at=now + ttl, token=1)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(leases.c.token)
            )
            token = created.scalar_one_or_none()
    return None if token is None else Held(name, me, int(token))


def _mine(held: Held) -> sa.ColumnElement[bool]:
    leases = _table()
    return sa.and_(leases.c.name == held.name, leases.c.holder == held.holder,
                   leases.c.token == held.token)


async def renew_in(session: AsyncSession, held: Held, ttl: timedelta,
                   now: datetime | None = None) -> None:
    """Extend the tenure inside the caller's write transaction; `LeaseLost` (the caller's
    transaction rolls back) when another process has taken the lease over."""
    result = await session.execute(
        sa.update(_table()).where(_mine(held)).values(expires_at=(now or utcnow()) + ttl)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(held.name)


async def renew(db: Database, held: Held, ttl: timedelta) -> bool:
    """Extend the tenure; False when it is lost (another process took it over)."""
    try:
        async with db.write() as session:
            await renew_in(session, held, ttl)
    except LeaseLost:
        return False
    return True


async def check(session: AsyncSession, held: Held) -> None:
    """The fence: `LeaseLost` unless the tenure is still ours. Call it inside the write
    transaction of the work it guards."""
    stmt = sa.select(_table().c.token).where(_mine(held))
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update(read=True)
    if (await session.execute(stmt)).first() is None:
        raise LeaseLost(held.name)


async def release(db: Database, held: Held) -> None:
    """Give the lease up now (if still ours) so another process may take it at once."""
    async with db.write() as session:
        await session.execute(
            sa.update(_table()).where(_mine(held))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def drop_in(session: AsyncSession, held: Held) -> None:
    """Delete the lease with the work's last transaction (a finished job needs no row)."""
    await session.execute(sa.delete(_table()).where(_mine(held)))


async def current(db: Database, name: str) -> Lease | None:
    async with db.read() as session:
        return await session.get(Lease, name)
