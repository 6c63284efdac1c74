"""validateStack: evaluate a stack of redeemables against an order, with no side effects
(except a LOCK session's reservations when one is asked for)."""

from __future__ import annotations

import dataclasses
import enum
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.redemptions import SessionReservation
from app.db.session import Database
from app.engine import money
from app.services import snapshot
from app.services.errors import MAX_ORDER_ITEMS, ServiceError

DEFAULT_SESSION_TTL = 7 * 24 * 3600
MAX_SESSION_TTL = 90 * 24 * 3600

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RequestProblem(Exception):
    """A request-level problem (§13.7): the API answers with a GraphQL error of this code."""

    def __init__(self, code: str, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class SessionAsk:
    key: str | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class SessionInfo:
    key: str
    ttl_seconds: int
    expires_at: datetime


_FIELDS: dict[type, tuple[str, ...]] = {}
_PLAIN = (str, int, bool, float, type(None))


def to_json(value: Any) -> Any:
    """Engine results as plain JSON (enums by value, Decimals as numbers). Hot path of every
    validation: field names are cached per class."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: to_json(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(to_json(v) for v in value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    return value


def too_large(what: str, field: list[str]) -> RequestProblem:
    return RequestProblem(money.AMOUNT_TOO_LARGE, money.too_large_message(what), field)


def non_object_metadata(
    metadata: Any, customer: snapshot.CustomerRef | None, order: snapshot.OrderRef | None
) -> list[str] | None:
    """The path of the first metadata given that is not a JSON object, if any."""
    given: list[tuple[Any, list[str]]] = [(metadata, ["metadata"])]
    if customer is not None:
        given.append((customer.metadata, ["customer", "metadata"]))
    if order is not None:
        given.append((order.metadata, ["order", "metadata"]))
        for index, item in enumerate(order.items or ()):
            given.append((item.metadata, ["order", "items", str(index), "metadata"]))
    return next((path for value, path in given
                 if value is not None and not isinstance(value, Mapping)), None)


def check_request(request: snapshot.StackRequest) -> None:
    """Malformed input the engine can't judge: negative credits, bad quantities, metadata
    that is not an object, amounts beyond the largest one (2^53 - 1)."""
    if (path := non_object_metadata(request.metadata, request.customer, request.order)):
        raise RequestProblem("invalid_payload", "metadata must be a JSON object", path)
    for index, ref in enumerate(request.redeemables):
        if not ref.id.strip():
            raise RequestProblem("invalid_payload", "a redeemable needs an id",
                                 ["redeemables", str(index), "id"])
        if ref.reward_id is not None or ref.reward_points is not None:
            raise RequestProblem("not_supported", "rewards (paying with loyalty points) are not "
                                 "supported yet; leave reward out",
                                 ["redeemables", str(index), "reward"])
        if ref.gift_credits is not None and ref.gift_credits < 0:
            raise RequestProblem("invalid_payload", "gift credits must not be negative",
                                 ["redeemables", str(index), "gift", "credits"])
        for value, field in ((ref.gift_credits, ["gift", "credits"]),
                             (ref.reward_points, ["reward", "points"])):
            if value is not None and not money.fits(value):
                raise too_large(field[-1], ["redeemables", str(index), *field])
    if request.order is not None and request.order.items is not None:
        if len(request.order.items) > MAX_ORDER_ITEMS:
            raise RequestProblem("too_many_items", f"at most {MAX_ORDER_ITEMS} order items",
                                 ["order", "items"])
        for index, item in enumerate(request.order.items):
            if item.quantity <= 0:
                raise RequestProblem("invalid_payload", "quantity must be greater than zero",
                                     ["order", "items", str(index), "quantity"])
            for name in ("price", "amount"):
                value = getattr(item, name)
                if value is not None and value < 0:
                    raise RequestProblem("invalid_payload", f"{name} must not be negative",
                                         ["order", "items", str(index), name])
    if request.order is not None and request.order.amount is not None and request.order.amount < 0:
        raise RequestProblem("invalid_payload", "amount must not be negative", ["order", "amount"])


def check_order(order: engine.Order) -> None:
    """The order as it will be evaluated (catalog prices filled in): every line's price and
    amount (price × quantity when not given), their sum and the order amount must fit
    within 2^53 - 1 before anything is evaluated, stored or answered."""
    where = money.line_amounts(
        [(item.quantity, item.price, item.amount) for item in order.items], order.amount
    )
    if where is None:
        return
    index, name = where
    if index is not None:
        what = {"price": "the price", "amount": "the line amount"}.get(name, "price × quantity")
        raise too_large(what, ["order", "items", str(index), *([name] if name else [])])
    if name == "amount":
        raise too_large("the order amount", ["order", "amount"])
    raise too_large("the sum of the order items", ["order", "items"])


def check_result(result: engine.StackValidation, lines: int, *, each: bool = False) -> None:
    """Amounts the evaluation computed (free units added by unit discounts can grow an
    order) must fit too, before any of them is stored or answered. `lines`: how many lines
    were sent; a computed line beyond them is named by the order amount.

    For a stack only the final calculation is checked: each redeemable's own calculation is
    a step towards it, and along the steps amounts only grow (added units) while discounts
    accumulate without exceeding them, so the final one bounds every earlier one. `each`:
    redeemables priced alone (qualifications), every calculation is checked."""
    calcs = [item.order for item in result.redeemables] if each else [result.order]
    for calc in calcs:
        where = money.calculation_too_large(calc)
        if where is None:
            continue
        index, _ = where
        if index is not None and index < lines:
            raise too_large("an amount of this line", ["order", "items", str(index)])
        raise too_large("an amount of this order", ["order", "amount"])


def run_engine(loaded: snapshot.Snapshot) -> engine.StackValidation:
    try:
        result = engine.evaluate(loaded.request)
    except engine.RequestError as exc:
        raise RequestProblem(exc.code, exc.message, ["redeemables"]) from exc
    check_result(result, len(loaded.request.order.items))
    return result


async def load_checked(
    session: AsyncSession, project_id: str, request: snapshot.StackRequest, *, now: datetime,
    mode: engine.Mode, lock: bool = False, lines: tuple[engine.OrderItem, ...] | None = None,
) -> snapshot.Snapshot:
    check_request(request)
    try:
        loaded = await snapshot.load(
            session, project_id, request, now=now, mode=mode, lock=lock, lines=lines
        )
    except ServiceError as exc:
        first = exc.errors[0]
        raise RequestProblem(first.code, first.message, first.field) from exc
    check_order(loaded.request.order)
    return loaded


def _session(ask: SessionAsk, now: datetime) -> SessionInfo:
    ttl = ask.ttl_seconds if ask.ttl_seconds is not None else DEFAULT_SESSION_TTL
    if not 1 <= ttl <= MAX_SESSION_TTL:
        raise RequestProblem("invalid_payload", f"ttlSeconds must be 1..{MAX_SESSION_TTL}",
                             ["session", "ttlSeconds"])
    key = ask.key or f"ssn_{secrets.token_urlsafe(16)}"
    if len(key) > 200:
        raise RequestProblem("invalid_payload", "session key is too long", ["session", "key"])
    return SessionInfo(key=key, ttl_seconds=ttl, expires_at=now + timedelta(seconds=ttl))


async def reserve(
    session: AsyncSession, project_id: str, loaded: snapshot.Snapshot,
    result: engine.StackValidation, info: SessionInfo,
) -> None:
    """Hold one use (and the gift credits) of every applicable voucher for the session.

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
        if item.object is not engine.RedeemableObject.VOUCHER:
            continue
        voucher = loaded.vouchers.get(item.id)
        if voucher is None:
            continue
        session.add(SessionReservation(
            project_id=project_id, session_key=info.key, voucher_id=voucher.id,
            gift_credits=item.gift.credits if item.gift else 0, expires_at=info.expires_at,
        ))


@dataclass(frozen=True)
class Validation:
    result: engine.StackValidation
    session: SessionInfo | None


async def validate_stack(
    db: Database, project_id: str, request: snapshot.StackRequest, *,
    session_ask: SessionAsk | None = None, clock: Clock = utc_now,
) -> Validation:
    now = clock()
    if session_ask is None:
        async with db.read() as s:
            loaded = await load_checked(s, project_id, request, now=now, mode=engine.Mode.VALIDATE)
        return Validation(run_engine(loaded), None)
    info = _session(session_ask, now)
    request = dataclasses.replace(request, session_key=info.key)
    # Reserving counts against redemption limits: lock like a redemption does.
    async with db.write() as s:
        loaded = await load_checked(
            s, project_id, request, now=now, mode=engine.Mode.VALIDATE, lock=True
        )
        result = run_engine(loaded)
        await reserve(s, project_id, loaded, result, info)
    return Validation(result, info)


async def release_session(db: Database, project_id: str, key: str) -> int:
    async with db.write() as s:
        outcome = await s.execute(
            sa.delete(SessionReservation).where(
                SessionReservation.project_id == project_id,
                SessionReservation.session_key == key,
            )
        )
    return int(outcome.rowcount or 0)  # type: ignore[attr-defined]
