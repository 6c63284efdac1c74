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
import functools
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
from app.db.redemptions import new_row

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


async def _endpoints(session: AsyncSession, project_id: str) -> list[tuple[str, Any]]:
    """The project's active endpoints as (id, event filter), read once per transaction.

    The first read of a transaction also arms it (both are dropped together at its end): on
    PostgreSQL the `pg_notify` rides in the same statement (one round trip instead of two)."""
    cache: dict[str, list[tuple[str, Any]]] = session.info.setdefault(_ENDPOINTS, {})
    if project_id not in cache:
        notify = _arm(session)
        rows = await session.execute(
            _endpoints_statement(notify), {"project_id": project_id, "channel": CHANNEL}
        )
        cache[project_id] = [(id_, events) for id_, events in rows.all() if id_ is not None]
    return cache[project_id]


@functools.cache
def _endpoints_statement(notify: bool) -> Any:
    """Built once per shape, with bind parameters. With `notify`: one row at least (the
    notification is sent once, whether or not the project has endpoints)."""
    endpoints = WebhookEndpoint.__table__  # type: ignore[attr-defined]
    active = sa.and_(
        endpoints.c.project_id == sa.bindparam("project_id"),
        endpoints.c.active.is_(True),
    )
    if not notify:
        return sa.select(endpoints.c.id, endpoints.c.events).where(active).order_by(
            endpoints.c.id)
    notified = sa.select(
        sa.func.pg_notify(sa.bindparam("channel"), "").label("sent")
    ).subquery("notified")
    return (
        sa.select(endpoints.c.id, endpoints.c.events)
        .select_from(notified.outerjoin(endpoints, active))
        .order_by(endpoints.c.id)
    )


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


def _arm(session: AsyncSession) -> bool:
    """Call the listeners after this transaction commits; True: a `pg_notify` is to be sent
    in it (PostgreSQL, first time)."""
    if session.info.get(_ARMED):
        return False
    session.info[_ARMED] = True
    sync = session.sync_session
    if not sa.event.contains(sync, "after_commit", _after_commit):
        sa.event.listen(sync, "after_commit", _after_commit)
        sa.event.listen(sync, "after_rollback", _after_rollback)
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def emit(
    session: AsyncSession, project_id: str, type_: str, data: dict[str, Any], *,
    aggregate: tuple[str, str], fresh: bool = False,
) -> Event:
    """Record that `type_` happened to `aggregate`, inside the caller's open transaction.

    `fresh`: the aggregate was created in this transaction (its first event needs no lookup
    of the last sequence number)."""
    return (await emit_many(session, project_id, [(type_, data, aggregate, fresh)]))[0]


async def emit_many(
    session: AsyncSession, project_id: str,
    emitted: list[tuple[str, dict[str, Any], tuple[str, str], bool]],
) -> list[Event]:
    """`emit` for several events at once (type, data, aggregate, fresh), in this order: one
    INSERT for the events and one per delivery table, sent at once (append-only rows, no
    unit-of-work flush)."""
    events: list[Event] = []
    rows: list[dict[str, Any]] = []
    seen: dict[int, tuple[Any, Any]] = {}
    for type_, data, (kind, aggregate_id), fresh in emitted:
        row = {
            # one new_id each: ids sort in emission order (new_ids draws them at random)
            "id": new_id("evt"), "project_id": project_id, "type": type_,
            "aggregate_type": kind, "aggregate_id": aggregate_id,
            "sequence": await _next_sequence(session, kind, aggregate_id, fresh),
            "data": _plain_once(data, seen), "request_id": request_id.get(), "created_at": utcnow(),
        }
        rows.append(row)
        events.append(new_row(Event, row))
    endpoints = await _endpoints(session, project_id)
    webhooks: list[dict[str, Any]] = []
    sinks: list[dict[str, Any]] = []
    for row in rows:
        common = {
            "project_id": project_id, "event_id": row["id"],
            "aggregate_key": f"{row['aggregate_type']}:{row['aggregate_id']}",
            "sequence": row["sequence"], "status": DeliveryStatus.PENDING, "attempts": 0,
            "next_attempt_at": row["created_at"], "created_at": row["created_at"],
        }
        for endpoint_id, filter_ in endpoints:
            if matches(filter_, row["type"]):
                webhooks.append({"id": new_id("whd"), "endpoint_id": endpoint_id,
                                 "event_type": row["type"], **common})
        for sink in enabled_sinks():
            sinks.append({"id": new_id("skd"), "sink": sink, **common})
    for model, values in ((Event, rows), (WebhookDelivery, webhooks), (SinkDelivery, sinks)):
        if values:
            await session.execute(_insert(model), values)
    session.info.setdefault(_COMMITTED, []).extend(events)
    return events


def _plain_once(data: Any, seen: dict[int, tuple[Any, Any]]) -> Any:
    """`plain(data)`, once per object (an order's events share one payload)."""
    hit = seen.get(id(data))
    if hit is None or hit[0] is not data:
        hit = seen[id(data)] = (data, plain(data))
    return hit[1]


@functools.cache
def _insert(model: Any) -> Any:
    return sa.insert(model.__table__)


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
