"""The transactional outbox: `emit()` writes an event in the caller's open transaction.

The event, and one webhook delivery per matching endpoint, commit or roll back with the
change that caused them, so nothing is ever sent for a rolled-back transaction. After a
commit the dispatchers are woken: in-process at once, and on PostgreSQL through one
`NOTIFY promogate_events` per transaction (PostgreSQL sends it only when the transaction
commits, and folds repeats within a transaction into one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.events import DeliveryStatus, Event, SinkDelivery, WebhookDelivery, WebhookEndpoint
from app.db.ids import new_id

CHANNEL = "promogate_events"
# Set per request by the ASGI middleware; copied into every event's envelope.
request_id: ContextVar[str | None] = ContextVar("promogate_request_id", default=None)

_ENDPOINTS = "promogate.outbox.endpoints"
_SEQUENCES = "promogate.outbox.sequences"
_ARMED = "promogate.outbox.armed"
_COMMITTED = "promogate.outbox.committed"

# External sinks (e.g. "nats") every event is also queued for; None: from the settings.
_sinks: tuple[str, ...] | None = None


def configure_sinks(names: tuple[str, ...] | None) -> None:
    """Which sinks events are queued for (None: read PROMOGATE_NATS_URL again)."""
    global _sinks
    _sinks = names


def enabled_sinks() -> tuple[str, ...]:
    global _sinks
    if _sinks is None:
        from app.events.settings import EventSettings

        _sinks = ("nats",) if EventSettings().nats_url else ()
    return _sinks


# Called (in the event loop's thread) after any transaction that emitted events commits.
_listeners: set[Callable[[list[Event]], None]] = set()


def add_listener(listener: Callable[[list[Event]], None]) -> None:
    _listeners.add(listener)


def remove_listener(listener: Callable[[list[Event]], None]) -> None:
    _listeners.discard(listener)


def plain(value: Any) -> Any:
    """JSON-safe copy: datetimes as ISO 8601, enums by value, decimals as numbers."""

    def default(obj: Any) -> Any:
        if isinstance(obj, datetime | date):
            return obj.isoformat()
        if isinstance(obj, Enum):
            return obj.value
        if isinstance(obj, Decimal):
            return float(obj)
        if isinstance(obj, set | frozenset | tuple):
            return list(obj)
        raise TypeError(f"not JSON serializable: {type(obj).__name__}")

    return json.loads(json.dumps(value, default=default))


def matches(filter_: list[str] | None, event_type: str) -> bool:
    """An endpoint's filter: null (all), exact types, or `prefix.*` wildcards."""
    if filter_ is None:
        return True
    for wanted in filter_:
        if wanted in ("*", event_type):
            return True
        if wanted.endswith(".*") and event_type.startswith(wanted[:-1]):
            return True
    return False


async def _endpoints(session: AsyncSession, project_id: str) -> list[WebhookEndpoint]:
    cache: dict[str, list[WebhookEndpoint]] = session.info.setdefault(_ENDPOINTS, {})
    if project_id not in cache:
        rows = await session.execute(
            sa.select(WebhookEndpoint).where(
                WebhookEndpoint.project_id == project_id,
                WebhookEndpoint.active.is_(True),  # type: ignore[attr-defined]
            ).order_by(WebhookEndpoint.id)
        )
        cache[project_id] = list(rows.scalars())
    return cache[project_id]


async def _next_sequence(
    session: AsyncSession, kind: str, aggregate_id: str, fresh: bool = False
) -> int:
    # The caller holds the aggregate's row lock (it is changing it), so max + 1 is commit order.
    # A `fresh` aggregate was created in this very transaction: it has no events yet.
    known: dict[tuple[str, str], int] = session.info.setdefault(_SEQUENCES, {})
    key = (kind, aggregate_id)
    if key not in known and fresh:
        known[key] = 0
    elif key not in known:
        known[key] = int((await session.execute(
            sa.select(sa.func.coalesce(sa.func.max(Event.sequence), 0)).where(
                Event.aggregate_type == kind, Event.aggregate_id == aggregate_id
            )
        )).scalar_one())
    known[key] += 1
    return known[key]


def _after_commit(session: Any) -> None:
    committed: list[Event] = session.info.pop(_COMMITTED, [])
    session.info.pop(_ARMED, None)
    session.info.pop(_ENDPOINTS, None)
    session.info.pop(_SEQUENCES, None)
    for listener in list(_listeners):
        with contextlib.suppress(Exception):  # a listener must never fail the commit
            listener(committed)


def _after_rollback(session: Any) -> None:
    for key in (_COMMITTED, _ARMED, _ENDPOINTS, _SEQUENCES):
        session.info.pop(key, None)


async def _arm(session: AsyncSession) -> None:
    if session.info.get(_ARMED):
        return
    session.info[_ARMED] = True
    sync = session.sync_session
    if not sa.event.contains(sync, "after_commit", _after_commit):
        sa.event.listen(sync, "after_commit", _after_commit)
        sa.event.listen(sync, "after_rollback", _after_rollback)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


async def emit(
    session: AsyncSession, project_id: str, type_: str, data: dict[str, Any], *,
    aggregate: tuple[str, str], fresh: bool = False,
) -> Event:
    """Record that `type_` happened to `aggregate`, inside the caller's open transaction.

    `fresh`: the aggregate was created in this transaction (its first event needs no lookup
    of the last sequence number)."""
    kind, aggregate_id = aggregate
    event = Event(
        id=new_id("evt"), project_id=project_id, type=type_, aggregate_type=kind,
        aggregate_id=aggregate_id,
        sequence=await _next_sequence(session, kind, aggregate_id, fresh),
        data=plain(data), request_id=request_id.get(), created_at=utcnow(),
    )
    session.add(event)
    for endpoint in await _endpoints(session, project_id):
        if matches(endpoint.events, type_):
            session.add(WebhookDelivery(
                id=new_id("whd"), project_id=project_id, event_id=event.id,
                endpoint_id=endpoint.id, event_type=type_,
                aggregate_key=f"{kind}:{aggregate_id}", sequence=event.sequence,
                status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=event.created_at,
                created_at=event.created_at,
            ))
    for sink in enabled_sinks():
        session.add(SinkDelivery(
            id=new_id("skd"), project_id=project_id, event_id=event.id, sink=sink,
            aggregate_key=f"{kind}:{aggregate_id}", sequence=event.sequence,
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=event.created_at,
            created_at=event.created_at,
        ))
    session.info.setdefault(_COMMITTED, []).append(event)
    await _arm(session)
    return event


def wake_event() -> tuple[asyncio.Event, Callable[[list[Event]], None]]:
    """An asyncio.Event set after every committing transaction that emitted something."""
    flag = asyncio.Event()

    def listener(_events: list[Event]) -> None:
        flag.set()

    add_listener(listener)
    return flag, listener


ROW_AGGREGATES = {"campaign": "campaign", "promotionTier": "promotion_tier",
                  "voucher": "voucher", "publication": "voucher", "asyncAction": "campaign"}


async def emit_row(
    session: AsyncSession, project_id: str, type_: str, name: str, row: Any,
    *, aggregate_id: str | None = None, **extra: Any,
) -> Event:
    """`emit` for the management areas: the row as JSON under `name` (plus `extra` rows),
    ordered under its aggregate (a voucher's publication orders with its voucher)."""
    from app.events import payloads

    await session.flush()
    data = {name: payloads.row_json(row), **{k: payloads.row_json(v) for k, v in extra.items()}}
    return await emit(
        session, project_id, type_, data,
        aggregate=(ROW_AGGREGATES[name], aggregate_id or row.id),
    )
