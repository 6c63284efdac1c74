"""Inbound bus messages processed as the API would: orders and custom events.

Each message names its project (`<subject>.<project_id>.<kind>`) and carries an id (the
JetStream `Nats-Msg-Id`); a message id seen before is acknowledged and skipped. The bus is
trusted like an API secret key: whoever may publish to the subject acts for the project.
The NATS transport (`app.events.consumer.BusConsumer`) calls `handle` for each message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.db.orders import Order
from app.db.projects import Project
from app.db.redemptions import IdempotencyRecord
from app.db.session import Database
from app.engine.error_codes import INVALID_PAYLOAD, NOT_FOUND, REQUIRED
from app.events import payloads
from app.events.consumer import Refused
from app.events.outbox import emit
from app.services import customers, lookup, orders
from app.services.errors import Checks, ServiceError
from app.services.orders import ItemInput

KINDS = ("order", "event")
CUSTOM_EVENT = "custom_event.tracked"
_CUSTOMER_FIELDS = {"id": "id", "sourceId": "source_id", "name": "name", "email": "email",
                    "phone": "phone", "address": "address", "metadata": "metadata"}
_ITEM_FIELDS = {"productId": "product_id", "skuId": "sku_id", "sourceId": "source_id",
                "quantity": "quantity", "price": "price", "amount": "amount",
                "metadata": "metadata"}


def _digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _customer(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ServiceError.one(INVALID_PAYLOAD, "customer must be an object", ["customer"])
    return {_CUSTOMER_FIELDS[k]: v for k, v in value.items() if k in _CUSTOMER_FIELDS}


def order_data(body: dict[str, Any]) -> tuple[dict[str, str | None], dict[str, Any]]:
    """An OrderInput-shaped message (camelCase) as the order service's ref and data."""
    ref = {"id": body.get("id"), "source_id": body.get("sourceId")}
    if ref["id"] is None and ref["source_id"] is None:
        raise ServiceError.one(REQUIRED, "an inbound order needs an id or sourceId",
                               ["sourceId"])
    data: dict[str, Any] = {"source_id": body.get("sourceId")}
    for key in ("amount", "status", "metadata"):
        if key in body:
            data[key] = body[key]
    if body.get("items") is not None:
        items = body["items"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ServiceError.one(INVALID_PAYLOAD, "items must be a list of objects",
                                   ["items"])
        data["items"] = [ItemInput(**{_ITEM_FIELDS[k]: v for k, v in item.items()
                                      if k in _ITEM_FIELDS}) for item in items]
    if body.get("customer") is not None:
        data["customer"] = _customer(body["customer"])
    return ref, data


async def _seen(db: Database, project_id: str, operation: str, key: str) -> bool:
    async with db.read() as session:
        return await session.get(IdempotencyRecord, (project_id, operation, key)) is not None


async def _project_exists(db: Database, project_id: str) -> bool:
    async with db.read() as session:
        found = await session.execute(sa.select(Project.id).where(Project.id == project_id))
        return found.scalar_one_or_none() is not None


async def _upsert_order(db: Database, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
    ref, data = order_data(body)
    existing = await lookup.get_by_ref(
        db, Order, project_id, id_=ref["id"], source_id=ref["source_id"]
    )
    if existing is None and ref["id"] is None:
        row = await orders.create_order(db, project_id, data)
    else:
        row = await orders.update_order(db, project_id, ref, data)
    return {"order_id": row.id}


async def _custom_event(
    db: Database, project_id: str, body: dict[str, Any], message_id: str
) -> dict[str, Any]:
    checks = Checks()
    checks.text(body.get("event"), ["event"], max_length=300, required=True)
    customer = _customer(body.get("customer"))
    if customer is None:
        checks.fail(REQUIRED, "a custom event names its customer", ["customer"])
    else:
        customers.check_customer(checks, customer, ["customer"])
    checks.metadata(body.get("metadata"), ["metadata"])
    checks.raise_if_any()
    assert customer is not None
    async with db.write() as session:
        # The message id is claimed in the same transaction: processed exactly once.
        session.add(IdempotencyRecord(project_id=project_id, operation="bus.event",
                                      key=message_id, request_hash=_digest(body), response={}))
        await session.flush()
        upserted = await customers.upsert_in(session, project_id, customer, ["customer"])
        await emit(session, project_id, CUSTOM_EVENT, {
            "event": body["event"], "customer": payloads.customer_json(upserted.customer),
            "metadata": body.get("metadata") or {}, "messageId": message_id,
        }, aggregate=("customer", upserted.customer.id))
    return {"customer_id": upserted.customer.id}


async def process(
    db: Database, project_id: str, kind: str, body: Any, message_id: str
) -> dict[str, Any] | None:
    """Apply one inbound message; None when this message id was processed before."""
    if kind not in KINDS:
        raise ServiceError.one(INVALID_PAYLOAD, f"unknown message kind {kind!r}", ["kind"])
    if not isinstance(body, dict):
        raise ServiceError.one(INVALID_PAYLOAD, "the message must be a JSON object", [])
    if not message_id or len(message_id) > 200:
        raise ServiceError.one(INVALID_PAYLOAD, "a message id of 1-200 characters is needed",
                               ["messageId"])
    if not await _project_exists(db, project_id):
        raise ServiceError.one(NOT_FOUND, f"project {project_id!r} does not exist", [])
    operation = f"bus.{kind}"
    if await _seen(db, project_id, operation, message_id):
        return None
    if kind == "event":
        try:
            return await _custom_event(db, project_id, body, message_id)
        except IntegrityError:  # a concurrent redelivery claimed the id first
            return None
    result = await _upsert_order(db, project_id, body)
    # An order upsert by id / sourceId is idempotent in effect; the record skips replays.
    with contextlib.suppress(IntegrityError):
        async with db.write() as session:
            session.add(IdempotencyRecord(project_id=project_id, operation=operation,
                                          key=message_id, request_hash=_digest(body),
                                          response=result))
    return result


async def handle(db: Database, project_id: str, kind: str, body: Any, message_id: str) -> None:
    """The bus consumer's handler: a message the API would refuse is `Refused` (acknowledged,
    never retried); anything unexpected propagates and the message is redelivered."""
    try:
        await process(db, project_id, kind, body, message_id)
    except ServiceError as exc:
        raise Refused(str(exc)) from exc
