"""Idempotency keys of the spending mutations (redeemStack, rollbackRedemption): the first
answer under a key is stored with a hash of the input and replayed for the same key; the same
key with another input is refused."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.redemptions import IdempotencyRecord
from app.services.errors import ServiceError


def request_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: str | None) -> None:
    if key is not None and len(key) > 200:
        raise ServiceError.one("invalid_idempotency_key", "at most 200 characters",
                               ["idempotencyKey"])


async def claim(
    session: AsyncSession, project_id: str, operation: str, key: str | None, digest: str
) -> dict[str, Any] | None:
    """The stored answer for this key, or None after claiming the key for this transaction.

    On PostgreSQL a concurrent claimer of the same key blocks on the primary key until we
    commit, then fails with IntegrityError and retries into the stored answer."""
    if key is None:
        return None
    check_key(key)
    existing = await session.get(IdempotencyRecord, (project_id, operation, key))
    if existing is not None:
        if existing.request_hash != digest:
            raise ServiceError.one(
                "idempotency_key_reused",
                "this idempotency key was used with a different input", ["idempotencyKey"],
            )
        return existing.response
    session.add(IdempotencyRecord(
        project_id=project_id, operation=operation, key=key, request_hash=digest, response={}
    ))
    await session.flush()
    return None


async def remember(
    session: AsyncSession, project_id: str, operation: str, key: str | None,
    response: dict[str, Any],
) -> None:
    if key is None:
        return
    await session.execute(
        sa.update(IdempotencyRecord)
        .where(
            IdempotencyRecord.project_id == project_id,
            IdempotencyRecord.operation == operation,
            IdempotencyRecord.key == key,
        )
        .values(response=response)
    )


@functools.cache
def _used_statement() -> Any:
    table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    return sa.select(sa.literal(1)).where(
        table.c.project_id == sa.bindparam("project_id"),
        table.c.operation == sa.bindparam("operation"),
        table.c.key == sa.bindparam("key"),
    )


async def key_used(session: AsyncSession, project_id: str, operation: str, key: str) -> bool:
    """Whether an answer (or a claim) is stored under the key, without loading it."""
    found = await session.execute(
        _used_statement(), {"project_id": project_id, "operation": operation, "key": key}
    )
    return found.first() is not None


async def insert_answer(
    session: AsyncSession, project_id: str, operation: str, key: str | None, digest: str,
    response: dict[str, Any],
) -> None:
    """`store_answer` sent at once, as a Core INSERT (no unit-of-work flush). A concurrent
    claimer of the same key makes it (or, on SQLite, the commit) fail with IntegrityError;
    the retry then finds the key and replays its answer."""
    if key is not None:
        await session.execute(_insert_statement(), [{
            "project_id": project_id, "operation": operation, "key": key,
            "request_hash": digest, "response": response, "created_at": utcnow(),
        }])


@functools.cache
def _insert_statement() -> Any:
    return sa.insert(IdempotencyRecord.__table__)  # type: ignore[attr-defined]


def store_answer(
    session: AsyncSession, project_id: str, operation: str, key: str | None, digest: str,
    response: Callable[[], dict[str, Any]],
) -> None:
    """Claim the key and store its answer in one INSERT, at commit. A concurrent claimer of
    the same key makes the commit fail (IntegrityError); the retry then finds the key and
    replays its answer."""
    if key is not None:
        session.add(IdempotencyRecord(
            project_id=project_id, operation=operation, key=key, request_hash=digest,
            response=response(),
        ))
