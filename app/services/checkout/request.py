"""The checkout request as the services take it (validateStack, redeemStack, qualifications),
and the request-level checks: malformed input the engine can't judge is refused before
anything is read, and amounts beyond the largest one (2^53 - 1) before anything is stored or
answered. A refusal is a `RequestProblem`: the API answers it with a GraphQL error of its code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app import engine
from app.engine import money
from app.services.checkout import kinds
from app.services.errors import MAX_ORDER_ITEMS

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
class RedeemableRef:
    object: engine.RedeemableObject
    id: str
    gift_credits: int | None = None
    reward_id: str | None = None
    reward_points: int | None = None

    @classmethod
    def of(cls, object_name: str, id_: str, **asks: Any) -> RedeemableRef:
        return cls(object=engine.RedeemableObject(object_name), id=id_, **asks)


@dataclass(frozen=True)
class ItemRef:
    quantity: int
    product_id: str | None = None
    sku_id: str | None = None
    source_id: str | None = None
    price: int | None = None
    amount: int | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class OrderRef:
    id: str | None = None
    source_id: str | None = None
    amount: int | None = None
    status: str | None = None
    items: tuple[ItemRef, ...] | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CustomerRef:
    id: str | None = None
    source_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    metadata: Mapping[str, Any] | None = None

    def as_upsert(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        for key in ("source_id", "name", "email", "phone", "metadata"):
            value = getattr(self, key)
            if value is not None:
                data[key] = dict(value) if key == "metadata" else value
        return data


@dataclass(frozen=True)
class StackRequest:
    redeemables: tuple[RedeemableRef, ...]
    order: OrderRef | None = None
    customer: CustomerRef | None = None
    metadata: Mapping[str, Any] | None = None
    session_key: str | None = None
    auto_apply: bool = False  # add the project's applicable promotion tiers (autoapply.py)
    auto_added: int = 0  # how many of `redeemables`, at the end, were added that way


def too_large(what: str, field: list[str]) -> RequestProblem:
    return RequestProblem(money.AMOUNT_TOO_LARGE, money.too_large_message(what), field)


def non_object_metadata(
    metadata: Any, customer: CustomerRef | None, order: OrderRef | None
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


def check_request(request: StackRequest) -> None:
    """Malformed input the engine can't judge: negative credits, bad quantities, metadata
    that is not an object, amounts beyond the largest one (2^53 - 1)."""
    if (path := non_object_metadata(request.metadata, request.customer, request.order)):
        raise RequestProblem("invalid_payload", "metadata must be a JSON object", path)
    for index, ref in enumerate(request.redeemables):
        if not ref.id.strip():
            raise RequestProblem("invalid_payload", "a redeemable needs an id",
                                 ["redeemables", str(index), "id"])
        if (ref.reward_id is not None or ref.reward_points is not None) and (
            not kinds.REGISTRY.takes_rewards
        ):  # until a registered kind (a loyalty card) pays with points
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
