"""Use cases for webhook endpoints and their deliveries (create, change, list, retry).

Delivery itself (signing, sending, retrying, the egress guard) is `app.events`; this module is
what the API asks of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.db.base import utcnow
from app.db.events import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from app.db.ids import new_id
from app.db.repository import Page
from app.db.session import Database
from app.engine.error_codes import ALREADY_PENDING, INVALID_EVENT_TYPE, INVALID_EVENTS, INVALID_URL
from app.events import egress
from app.events.webhooks import new_secret
from app.services import lookup
from app.services.errors import Checks, ServiceError, not_found

MAX_EVENT_TYPES = 100
EVENT_TYPE_RE = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$")


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str


def _check(checks: Checks, data: dict[str, Any], allow_private: bool) -> None:
    if "url" in data:
        problem = egress.url_problem(data["url"], allow_private=allow_private)
        if problem is not None:
            checks.fail(INVALID_URL, problem, ["url"])
    if "events" in data and data["events"] is not None:
        events = data["events"]
        if not events:
            checks.fail(INVALID_EVENTS, "give at least one event type, or null for all",
                        ["events"])
        elif checks.list_size(events, ["events"], maximum=MAX_EVENT_TYPES):
            for index, name in enumerate(events):
                if len(name) > 100 or not EVENT_TYPE_RE.match(name):
                    checks.fail(INVALID_EVENT_TYPE,
                                "an event type like redemption.succeeded, voucher.* or *",
                                ["events", index])


async def create_endpoint(
    db: Database, project_id: str, data: dict[str, Any], *, allow_private: bool = True
) -> CreatedEndpoint:
    """`allow_private`: PROMOGATE_WEBHOOKS_ALLOW_PRIVATE (see `egress` for the URL rules)."""
    checks = Checks()
    if "url" not in data:
        data = {**data, "url": None}
    _check(checks, data, allow_private)
    checks.raise_if_any()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id("whe"), project_id=project_id, url=data["url"],
        events=list(dict.fromkeys(data["events"])) if data.get("events") else None,
        active=data.get("active", True) is not False, secret=secret, consecutive_dead=0,
    )
    async with db.write() as session:
        session.add(endpoint)
    return CreatedEndpoint(endpoint, secret)


async def update_endpoint(
    db: Database, project_id: str, id_: str, data: dict[str, Any], *, allow_private: bool = True
) -> WebhookEndpoint:
    checks = Checks()
    _check(checks, data, allow_private)
    checks.raise_if_any()
    async with db.write() as session:
        endpoint = await lookup.resolve(
            session, WebhookEndpoint, project_id, "webhook endpoint", id_=id_, source_id=None,
            path=[],
        )
        if data.get("url") is not None:
            endpoint.url = data["url"]
        if "events" in data:
            endpoint.events = list(dict.fromkeys(data["events"])) if data["events"] else None
        if data.get("active") is not None:
            if data["active"] and not endpoint.active:  # re-enabled: count dead letters anew
                endpoint.consecutive_dead = 0
                endpoint.disabled_reason = None
            endpoint.active = data["active"]
        await session.flush()
    return endpoint


async def delete_endpoint(db: Database, project_id: str, id_: str) -> WebhookEndpoint:
    return await lookup.delete_by_ref(
        db, WebhookEndpoint, project_id, {"id": id_}, "webhook endpoint"
    )


def delivery_filter(
    endpoint_id: str | None, status: str | None, event_type: str | None
) -> list[Any]:
    where: list[Any] = []
    if endpoint_id is not None:
        where.append(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        where.append(WebhookDelivery.status == status)
    if event_type is not None:
        where.append(WebhookDelivery.event_type == event_type)
    return where


async def deliveries(
    db: Database, project_id: str, *, first: int | None, after: str | None, where: list[Any]
) -> Page[WebhookDelivery]:
    return await lookup.page(db, WebhookDelivery, project_id, first=first, after=after,
                             where=where)


async def retry_delivery(db: Database, project_id: str, id_: str) -> WebhookDelivery:
    """Send again as soon as a dispatcher is free: a DEAD delivery gets one more attempt."""
    async with db.write() as session:
        delivery = (await session.execute(
            sa.select(WebhookDelivery).where(
                WebhookDelivery.project_id == project_id, WebhookDelivery.id == id_
            ).with_for_update()
        )).scalar_one_or_none()
        if delivery is None:
            raise not_found("webhook delivery", id_, ["id"])
        if delivery.status == DeliveryStatus.PENDING:
            raise ServiceError.one(ALREADY_PENDING, "this delivery is waiting to be sent",
                                   ["id"])
        delivery.status = DeliveryStatus.FAILED if delivery.attempts else DeliveryStatus.PENDING
        delivery.next_attempt_at = utcnow()
        delivery.leased_until = None
        await session.flush()
    return delivery


async def events_by_id(db: Database, project_id: str, ids: list[str]) -> dict[str, Event]:
    return await lookup.get_many(db, Event, project_id, ids)
