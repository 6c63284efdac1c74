"""LOCK sessions: a validation with a session holds what the stack would spend (one use of a
code, the gift credits) until the session expires, is released, or a redemption under its
key spends it. What a kind holds is up to its handler (`KindHandler.reservation`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.redemptions import SessionReservation
from app.db.session import Database
from app.services.checkout.request import RequestProblem
from app.services.checkout.snapshot import Snapshot

DEFAULT_SESSION_TTL = 7 * 24 * 3600
MAX_SESSION_TTL = 90 * 24 * 3600


@dataclass(frozen=True)
class SessionAsk:
    key: str | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class SessionInfo:
    key: str
    ttl_seconds: int
    expires_at: datetime


def session_info(ask: SessionAsk, now: datetime) -> SessionInfo:
    ttl = ask.ttl_seconds if ask.ttl_seconds is not None else DEFAULT_SESSION_TTL
    if not 1 <= ttl <= MAX_SESSION_TTL:
        raise RequestProblem("invalid_payload", f"ttlSeconds must be 1..{MAX_SESSION_TTL}",
                             ["session", "ttlSeconds"])
    key = ask.key or f"ssn_{secrets.token_urlsafe(16)}"
    if len(key) > 200:
        raise RequestProblem("invalid_payload", "session key is too long", ["session", "key"])
    return SessionInfo(key=key, ttl_seconds=ttl, expires_at=now + timedelta(seconds=ttl))


async def reserve(
    session: AsyncSession, project_id: str, loaded: Snapshot,
    result: engine.StackValidation, info: SessionInfo,
) -> None:
    """Hold what every applicable redeemable would spend, for the session.

    The same key again replaces the session's holds."""
    await session.execute(
        sa.delete(SessionReservation).where(
            SessionReservation.project_id == project_id,
            SessionReservation.session_key == info.key,
        )
    )
    if not result.valid:
        return
    for item in result.applicable_redeemables:
        hit = loaded.row_of(item.object, item.id)
        if hit is None:
            continue
        handler, row = hit
        held = handler.reservation(row, item, project_id, info.key, info.expires_at)
        if held is not None:
            session.add(held)


async def release_session(db: Database, project_id: str, key: str) -> int:
    async with db.write() as s:
        outcome = await s.execute(
            sa.delete(SessionReservation).where(
                SessionReservation.project_id == project_id,
                SessionReservation.session_key == key,
            )
        )
    return int(outcome.rowcount or 0)  # type: ignore[attr-defined]
