"""Writes shared by spending and refunding: guarded counter updates, the retry of a spending
transaction that lost a race, and the campaign and customer running totals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.campaigns import Campaign
from app.db.customers import Customer

T = TypeVar("T")
MAX_ATTEMPTS = 5


class Retry(Exception):
    """A guard failed under locks that should have prevented it: start the transaction over."""


async def retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Re-run a spending transaction after a lost race (deadlock, serialization, key claim)."""
    for n in range(MAX_ATTEMPTS):
        try:
            return await attempt()
        except (IntegrityError, Retry):
            if n == MAX_ATTEMPTS - 1:
                raise
        except DBAPIError as exc:
            code = getattr(getattr(exc, "orig", None), "sqlstate", None)
            if code not in ("40001", "40P01") or n == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def bump(session: AsyncSession, stmt: Any, params: dict[str, Any] | None = None) -> None:
    """A conditional UPDATE of one row that re-checks a limit: no row updated means a race was
    lost, and the transaction starts over."""
    if (await session.execute(stmt, params)).rowcount != 1:
        raise Retry()


async def count_campaign(
    session: AsyncSession, campaign_id: str, redemptions: int, discount: int, orders: int
) -> None:
    await session.execute(sa.update(Campaign).where(Campaign.id == campaign_id).values(
        redemptions_count=Campaign.redemptions_count + redemptions,
        discounted_amount=Campaign.discounted_amount + discount,
        orders_amount=Campaign.orders_amount + orders,
    ).execution_options(synchronize_session=False))


async def count_customer(session: AsyncSession, customer_id: str, **deltas: int) -> None:
    await session.execute(sa.update(Customer).where(Customer.id == customer_id).values(**{
        name: getattr(Customer, name) + delta for name, delta in deltas.items()
    }).execution_options(synchronize_session=False))
