"""Customers: create-or-update by id or source id (the way checkouts send them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.customers import Customer
from app.db.ids import new_id
from app.db.session import Database
from app.engine.error_codes import INVALID_ADDRESS, INVALID_BIRTHDATE, INVALID_EMAIL, JSON_TOO_DEEP
from app.events import payloads
from app.events.outbox import emit
from app.services import lookup
from app.services.errors import MAX_JSON_DEPTH, Checks, json_too_deep

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FIELDS = ("source_id", "name", "email", "phone", "birthdate", "address", "metadata")


@dataclass(frozen=True)
class Upserted:
    customer: Customer
    created: bool


def check_customer(checks: Checks, data: dict[str, Any], path: list[str | int]) -> None:
    checks.source_id(data.get("source_id"), [*path, "sourceId"])
    checks.text(data.get("name"), [*path, "name"], max_length=500)
    email = data.get("email")
    if email is not None and (len(email) > 320 or not EMAIL_RE.match(email)):
        checks.fail(INVALID_EMAIL, "not an email address", [*path, "email"])
    checks.text(data.get("phone"), [*path, "phone"], max_length=64)
    birthdate = data.get("birthdate")
    if birthdate is not None and birthdate > date.today():
        checks.fail(INVALID_BIRTHDATE, "birthdate is in the future", [*path, "birthdate"])
    address = data.get("address")
    if address is not None and not isinstance(address, dict):
        checks.fail(INVALID_ADDRESS, "address must be a JSON object", [*path, "address"])
    elif json_too_deep(address):
        checks.fail(JSON_TOO_DEEP, f"JSON nests at most {MAX_JSON_DEPTH} levels",
                    [*path, "address"])
    checks.metadata(data.get("metadata"), [*path, "metadata"])


def _apply(customer: Customer, data: dict[str, Any]) -> None:
    for key in FIELDS:
        if key in data:
            value = data[key]
            if key == "metadata":
                customer.metadata_ = value or {}
            else:
                setattr(customer, key, value)


async def _check_source_id_free(
    session: AsyncSession, project_id: str, customer: Customer, source_id: str | None,
    path: list[str],
) -> None:
    """Giving an existing customer a new source id that another customer has is an error."""
    if source_id is None or source_id == customer.source_id:
        return
    other = await lookup.find(session, Customer, project_id, id_=None, source_id=source_id)
    if other is not None:
        raise lookup.duplicate_source_id("customer", [*path, "sourceId"])


async def upsert_in(
    session: AsyncSession, project_id: str, data: dict[str, Any], path: list[str]
) -> Upserted:
    """Inside an open transaction: by `id` (must exist), else by `source_id`, else create."""
    if data.get("id") is not None:
        customer = await lookup.resolve(
            session, Customer, project_id, "customer", id_=data["id"], source_id=None, path=path
        )
        await _check_source_id_free(session, project_id, customer, data.get("source_id"), path)
        _apply(customer, data)
        await _emit_changed(session, customer, created=False)
        return Upserted(customer, created=False)
    source_id = data.get("source_id")
    existing = await lookup.find(session, Customer, project_id, id_=None, source_id=source_id)
    if existing is not None:
        _apply(existing, data)
        await _emit_changed(session, existing, created=False)
        return Upserted(existing, created=False)
    customer = Customer(id=new_id("cust"), project_id=project_id, metadata_={})
    _apply(customer, data)
    try:
        # A concurrent request may create the same source id first: then update theirs.
        async with session.begin_nested():
            session.add(customer)
            await session.flush()
    except IntegrityError:
        winner = await lookup.find(session, Customer, project_id, id_=None, source_id=source_id)
        if winner is None:
            raise
        _apply(winner, data)
        await _emit_changed(session, winner, created=False)
        return Upserted(winner, created=False)
    await _emit_changed(session, customer, created=True)
    return Upserted(customer, created=True)


async def _emit_changed(session: AsyncSession, customer: Customer, *, created: bool) -> None:
    """customer.created, or customer.updated when the upsert really changed something."""
    if not created and not session.is_modified(customer):
        return
    await session.flush()  # updated_at is set by the flush
    await emit(session, customer.project_id, "customer.created" if created else "customer.updated",
               {"customer": payloads.customer_json(customer)},
               aggregate=("customer", customer.id))


async def _emit_deleted(session: AsyncSession, customer: Customer) -> None:
    # Lock the row first: its events' sequence must follow any concurrent update's.
    await session.execute(
        sa.select(Customer.id).where(Customer.id == customer.id).with_for_update()
    )
    await emit(session, customer.project_id, "customer.deleted",
               {"customer": payloads.customer_json(customer)},
               aggregate=("customer", customer.id))


lookup.on_delete(Customer, _emit_deleted)


async def upsert_customer(db: Database, project_id: str, data: dict[str, Any]) -> Upserted:
    checks = Checks()
    check_customer(checks, data, [])
    checks.raise_if_any()
    try:
        async with db.write() as session:
            return await upsert_in(session, project_id, data, [])
    except IntegrityError as exc:  # a concurrent writer took the source id first
        raise lookup.duplicate_source_id("customer", ["sourceId"]) from exc


async def update_customer(
    db: Database, project_id: str, ref: dict[str, str | None], data: dict[str, Any]
) -> Customer:
    checks = Checks()
    check_customer(checks, data, [])
    checks.raise_if_any()
    try:
        async with db.write() as session:
            customer = await lookup.resolve(
                session, Customer, project_id, "customer", id_=ref.get("id"),
                source_id=ref.get("source_id"), path=[],
            )
            await _check_source_id_free(session, project_id, customer, data.get("source_id"), [])
            _apply(customer, data)
            await _emit_changed(session, customer, created=False)
    except IntegrityError as exc:
        raise lookup.duplicate_source_id("customer", ["sourceId"]) from exc
    return customer
