"""Event retention: old events nothing waits for are pruned with their deliveries; an event
with an open delivery is kept however old."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.db.base import utcnow
from app.db.events import (
    DeliveryStatus,
    Event,
    SinkDelivery,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.db.ids import new_id
from app.events.retention import Pruner, prune_events
from app.events.runtime import start_background
from app.events.settings import EventSettings


async def _seed(db, project_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One event per case; returns case name -> event id. Retention is server-wide, so what
    earlier tests left that an hour's retention would prune goes first: counts are exact."""
    await prune_events(db, before=utcnow() - timedelta(hours=1))
    now = utcnow()
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    endpoint = WebhookEndpoint(id=new_id("whe"), project_id=project_id, url="http://x.test/",
                               events=None, active=True, secret="whsec_x")
    cases = {
        "old_delivered": (old, DeliveryStatus.DELIVERED, None),
        "old_dead": (old, DeliveryStatus.DEAD, None),
        "old_no_delivery": (old, None, None),
        "old_pending": (old, DeliveryStatus.PENDING, None),
        "old_retrying": (old, DeliveryStatus.FAILED, None),
        "old_sink_pending": (old, DeliveryStatus.DELIVERED, DeliveryStatus.PENDING),
        "old_sink_done": (old, None, DeliveryStatus.DELIVERED),
        "recent_delivered": (recent, DeliveryStatus.DELIVERED, None),
    }
    ids: dict[str, str] = {}
    async with db.write() as s:
        s.add(endpoint)
        await s.flush()
        for n, (name, (created, hook, sink)) in enumerate(cases.items()):
            event = Event(id=new_id("evt"), project_id=project_id, type="order.created",
                          aggregate_type="order", aggregate_id=f"ord_{n}", sequence=1,
                          data={"n": n}, created_at=created)
            s.add(event)
            await s.flush()
            ids[name] = event.id
            if hook is not None:
                delivery = WebhookDelivery(
                    id=new_id("whd"), project_id=project_id, event_id=event.id,
                    endpoint_id=endpoint.id, event_type=event.type,
                    aggregate_key=f"order:ord_{n}", sequence=1, status=hook, attempts=1,
                    next_attempt_at=created, created_at=created)
                s.add(delivery)
                await s.flush()
                s.add(WebhookAttempt(id=new_id("wha"), project_id=project_id,
                                     delivery_id=delivery.id, number=1, response_code=200,
                                     duration_ms=5, created_at=created))
            if sink is not None:
                s.add(SinkDelivery(id=new_id("skd"), project_id=project_id, event_id=event.id,
                                   sink="nats", aggregate_key=f"order:ord_{n}", sequence=1,
                                   status=sink, attempts=0, next_attempt_at=created,
                                   created_at=created))
    return ids


async def _left(db, ids: dict[str, str]) -> set[str]:  # type: ignore[no-untyped-def]
    async with db.read() as s:
        present = set((await s.execute(
            sa.select(Event.id).where(Event.id.in_(list(ids.values())))
        )).scalars())
    return {name for name, id_ in ids.items() if id_ in present}


async def _count(db, model, event_ids: list[str]) -> int:  # type: ignore[no-untyped-def]
    async with db.read() as s:
        if model is WebhookAttempt:
            stmt = sa.select(sa.func.count()).select_from(WebhookAttempt).join(
                WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id
            ).where(WebhookDelivery.event_id.in_(event_ids))
        else:
            stmt = sa.select(sa.func.count()).select_from(model).where(
                model.event_id.in_(event_ids))
        return int((await s.execute(stmt)).scalar_one())


KEPT = {"old_pending", "old_retrying", "old_sink_pending", "recent_delivered"}


async def test_prunes_old_finished_events_with_their_deliveries(db, tenant) -> None:
    ids = await _seed(db, tenant.project_id)
    pruned_ids = [ids[n] for n in ("old_delivered", "old_dead")]
    assert await _count(db, WebhookAttempt, pruned_ids) == 2

    pruned = await prune_events(db, before=utcnow() - timedelta(days=30))

    assert pruned == 4
    assert await _left(db, ids) == KEPT
    assert await _count(db, WebhookDelivery, pruned_ids) == 0
    assert await _count(db, WebhookAttempt, pruned_ids) == 0
    assert await _count(db, SinkDelivery, [ids["old_sink_done"]]) == 0
    assert await _count(db, WebhookDelivery, [ids["old_pending"]]) == 1
    assert await prune_events(db, before=utcnow() - timedelta(days=30)) == 0


async def test_small_batches_prune_the_same(db, tenant) -> None:
    ids = await _seed(db, tenant.project_id)
    assert await prune_events(db, before=utcnow() - timedelta(days=30), batch=3) == 4
    assert await _left(db, ids) == KEPT


async def test_pruner_uses_its_retention(db, tenant) -> None:
    ids = await _seed(db, tenant.project_id)
    assert await Pruner(db, retention=timedelta(days=90)).run_once() == 0
    assert await Pruner(db, retention=timedelta(hours=1)).run_once() == 5  # + recent
    assert await _left(db, ids) == KEPT - {"recent_delivered"}


async def test_zero_retention_starts_no_pruner(db) -> None:
    kept = await start_background(db, EventSettings(event_retention_days=0))
    pruning = await start_background(db, EventSettings(event_retention_days=30))
    try:
        assert not any(isinstance(p, Pruner) for p in kept.parts)
        assert sum(isinstance(p, Pruner) for p in pruning.parts) == 1
    finally:
        await kept.stop()
        await pruning.stop()
