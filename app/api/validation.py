"""GraphQL: validateStack and the evaluation result types of API.md (fixed contract).

Results are built from the JSON form of the engine's answer, so a fresh answer and an
idempotent replay of a stored one render identically.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app import engine
from app.api.categories import Category
from app.api.context import Context
from app.api.enums import OrderStatus, RedeemableObject, RedeemableStatus
from app.api.errors import ApiError
from app.api.orders import OrderItemInput
from app.api.redeemable_types import AutoApplyInput, Discount
from app.api.scalars import SafeInt
from app.services import checkout

if TYPE_CHECKING:
    from app.api.campaigns import Campaign


@strawberry.type
class Reason:
    code: str
    message: str
    details: str | None = None
    validation_rule_id: strawberry.ID | None = None
    rule_path: str | None = strawberry.field(
        default=None, description="The failing rule's number in its rule set, e.g. 2 or 2.1"
    )

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Reason | None:
        if data is None:
            return None
        return cls(
            code=data["code"], message=data["message"], details=data.get("details"),
            validation_rule_id=data.get("validation_rule_id"), rule_path=data.get("rule_path"),
        )


@strawberry.type
class OrderItemCalculation:
    index: int
    product_id: strawberry.ID | None
    sku_id: strawberry.ID | None
    source_id: str | None
    quantity: int
    initial_quantity: int
    price: SafeInt | None
    amount: SafeInt
    discount_amount: SafeInt
    applied_discount_amount: SafeInt
    subtotal_amount: SafeInt
    discount_quantity: int
    applied_quantity: int = strawberry.field(
        description="Units added in this request by unit (free item) effects"
    )
    applied_quantity_amount: SafeInt
    applied_discount_quantity: int = strawberry.field(
        default=0,
        description="Units discounted by this redeemable (top-level order: by this request); "
        "discountQuantity also counts earlier redemptions on an existing order",
    )


@strawberry.type
class OrderCalculation:
    amount: SafeInt
    initial_amount: SafeInt
    discount_amount: SafeInt
    items_discount_amount: SafeInt
    total_discount_amount: SafeInt
    total_amount: SafeInt
    applied_discount_amount: SafeInt
    items_applied_discount_amount: SafeInt
    total_applied_discount_amount: SafeInt
    items: list[OrderItemCalculation]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderCalculation:
        fields = {k: v for k, v in data.items() if k != "items"}
        return cls(**fields, items=[OrderItemCalculation(**i) for i in data["items"]])


@strawberry.type
class GiftResult:
    credits: SafeInt = strawberry.field(description="Credits applied in this request")
    balance: SafeInt = strawberry.field(description="Balance before this request")


@strawberry.type
class LoyaltyCardResult:
    points: SafeInt
    balance: SafeInt
    amount: SafeInt


@strawberry.type
class BundleMissing:
    object: str
    id: strawberry.ID
    quantity: int


@strawberry.type
class BundleResult:
    quantity: int
    limit: int
    missing: list[BundleMissing]

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> BundleResult | None:
        if not data:
            return None
        return cls(quantity=data["quantity"], limit=data["limit"],
                   missing=[BundleMissing(**m) for m in data["missing"]])


async def load_campaign(info: Info[Context, None], campaign_id: str | None) -> Any:
    from app.api.campaigns import Campaign as CampaignType
    from app.db.campaigns import Campaign as CampaignRow

    if campaign_id is None:
        return None
    row = await info.context.loaders.by_id(CampaignRow).load(str(campaign_id))
    return CampaignType.from_row(row) if row else None


async def load_categories(info: Info[Context, None], ids: list[strawberry.ID]) -> list[Category]:
    rows = await info.context.loaders.category.load_many([str(c) for c in ids])
    return [Category.from_row(r) for r in rows if r is not None]


@strawberry.type
class RedeemableResult:
    object: RedeemableObject
    id: str
    status: RedeemableStatus
    reason: Reason | None
    discount: Discount | None
    gift: GiftResult | None
    loyalty_card: LoyaltyCardResult | None
    bundle: BundleResult | None
    order: OrderCalculation
    campaign_id: strawberry.ID | None
    category_ids: list[strawberry.ID]
    auto_applied: bool = strawberry.field(
        default=False, description="Added by autoApply, not sent in the request"
    )

    @strawberry.field
    async def campaign(
        self, info: Info[Context, None]
    ) -> Annotated[Campaign, strawberry.lazy("app.api.campaigns")] | None:
        return await load_campaign(info, self.campaign_id)

    @strawberry.field
    async def categories(self, info: Info[Context, None]) -> list[Category]:
        return await load_categories(info, self.category_ids)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RedeemableResult:
        return cls(**cls.fields_of(data), order=OrderCalculation.from_json(data["order"]))

    @staticmethod
    def fields_of(data: dict[str, Any]) -> dict[str, Any]:
        """Every field but `order`, from the JSON form of a result."""
        return {
            "object": RedeemableObject(data["object"]),
            "id": data["id"],
            "status": RedeemableStatus(data["status"]),
            "reason": Reason.from_json(data.get("reason")),
            "discount": Discount.from_result(data.get("discount")),
            "gift": GiftResult(**data["gift"]) if data.get("gift") else None,
            "loyalty_card": LoyaltyCardResult(**data["loyalty_card"])
            if data.get("loyalty_card") else None,
            "bundle": BundleResult.from_json(data.get("bundle")),
            "campaign_id": data.get("campaign_id"),
            "category_ids": list(data.get("categories") or []),
            "auto_applied": bool(data.get("auto_applied")),
        }


# A fresh answer is rendered from the engine's result directly, each order's item lines (and
# each redeemable's order) turned into JSON, and from JSON, only when the operation selects
# them: the same values as `from_json(to_json(result))`, without converting what nobody reads.

class _EngineOrder(OrderCalculation):
    def __init__(self, calculation: Any) -> None:  # noqa: D107 - an engine OrderCalculation
        self.__dict__.update(
            {name: checkout.to_json(getattr(calculation, name)) for name in _ORDER_FIELDS}
        )
        self._lines = calculation.items

    @property  # type: ignore[override]
    def items(self) -> list[OrderItemCalculation]:
        made: list[OrderItemCalculation] | None = self.__dict__.get("_items")
        if made is None:
            made = self.__dict__["_items"] = [
                OrderItemCalculation(**checkout.to_json(line)) for line in self._lines
            ]
        return made


class _EngineRedeemable(RedeemableResult):
    def __init__(self, result: Any) -> None:  # noqa: D107 - an engine RedeemableResult
        self.__dict__.update(RedeemableResult.fields_of(
            {name: checkout.to_json(getattr(result, name)) for name in _REDEEMABLE_FIELDS}
        ))
        self._order = result.order

    @property  # type: ignore[override]
    def order(self) -> OrderCalculation:
        made: OrderCalculation | None = self.__dict__.get("_made_order")
        if made is None:
            made = self.__dict__["_made_order"] = _EngineOrder(self._order)
        return made


_ORDER_FIELDS = tuple(
    f.name for f in dataclasses.fields(engine.OrderCalculation) if f.name != "items"
)
_REDEEMABLE_FIELDS = tuple(
    f.name for f in dataclasses.fields(engine.RedeemableResult) if f.name != "order"
)


@strawberry.type(description="A LOCK session holding what the stack would spend.")
class Session:
    key: str
    ttl_seconds: int
    expires_at: datetime


@strawberry.type
class StackValidation:
    valid: bool = strawberry.field(description="True iff no redeemable is INAPPLICABLE")
    redeemables: list[RedeemableResult] = strawberry.field(
        description="Every redeemable sent, in application order"
    )
    order: OrderCalculation = strawberry.field(description="After all applicable redeemables")
    session: Session | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], session: Session | None = None) -> StackValidation:
        return cls(
            valid=data["valid"],
            redeemables=[RedeemableResult.from_json(r) for r in data["redeemables"]],
            order=OrderCalculation.from_json(data["order"]),
            session=session,
        )

    @classmethod
    def from_result(
        cls, result: engine.StackValidation, session: Session | None = None
    ) -> StackValidation:
        """What `from_json(to_json(result))` gives, converting only what is read."""
        return cls(
            valid=checkout.to_json(result.valid),
            redeemables=[_EngineRedeemable(r) for r in result.redeemables],
            order=_EngineOrder(result.order),
            session=session,
        )


# --- inputs (fixed by API.md) ---------------------------------------------------------------

@strawberry.input
class GiftCreditsInput:
    credits: SafeInt | None = None


@strawberry.input
class RewardInput:
    id: strawberry.ID
    points: SafeInt | None = None


@strawberry.input
class RedeemableInput:
    object: RedeemableObject
    id: str
    gift: GiftCreditsInput | None = None
    reward: RewardInput | None = None


@strawberry.input
class CustomerInput:
    id: strawberry.ID | None = None
    source_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    metadata: JSON | None = None


@strawberry.input
class OrderInput:
    id: strawberry.ID | None = None
    source_id: str | None = None
    amount: SafeInt | None = None
    status: OrderStatus | None = None
    items: list[OrderItemInput] | None = None
    metadata: JSON | None = None


@strawberry.input(description="A LOCK session: reserves what the stack would spend.")
class SessionInput:
    key: str | None = None
    ttl_seconds: int | None = None


@strawberry.input
class StackInput:
    redeemables: list[RedeemableInput]
    order: OrderInput | None = None
    customer: CustomerInput | None = None
    session: SessionInput | None = None
    metadata: JSON | None = None
    auto_apply: AutoApplyInput | None = None


def stack_request(input_: Any) -> checkout.StackRequest:
    """StackInput / RedeemStackInput → the service's request (no logic, just mapping)."""
    order = input_.order
    customer = input_.customer
    return checkout.StackRequest(
        redeemables=tuple(
            checkout.RedeemableRef.of(
                r.object.value,
                r.id,
                gift_credits=r.gift.credits if r.gift else None,
                reward_id=str(r.reward.id) if r.reward else None,
                reward_points=r.reward.points if r.reward else None,
            )
            for r in input_.redeemables
        ),
        order=checkout.OrderRef(
            id=str(order.id) if order.id else None,
            source_id=order.source_id,
            amount=order.amount,
            status=order.status.value if order.status else None,
            items=tuple(
                checkout.ItemRef(
                    quantity=i.quantity,
                    product_id=str(i.product_id) if i.product_id else None,
                    sku_id=str(i.sku_id) if i.sku_id else None,
                    source_id=i.source_id, price=i.price, amount=i.amount, metadata=i.metadata,
                )
                for i in order.items
            ) if order.items is not None else None,
            metadata=order.metadata,
        ) if order is not None else None,
        customer=checkout.CustomerRef(
            id=str(customer.id) if customer.id else None, source_id=customer.source_id,
            name=customer.name, email=customer.email, phone=customer.phone,
            metadata=customer.metadata,
        ) if customer is not None else None,
        metadata=input_.metadata,
        session_key=input_.session.key if input_.session else None,
        auto_apply=bool(input_.auto_apply and input_.auto_apply.promotions),
    )


def request_error(exc: checkout.RequestProblem) -> ApiError:
    return ApiError(exc.message, exc.code, field=exc.field)


def session_type(info: checkout.SessionInfo | None) -> Session | None:
    if info is None:
        return None
    return Session(key=info.key, ttl_seconds=info.ttl_seconds, expires_at=info.expires_at)


@strawberry.type
class ValidationQuery:
    @strawberry.field(description="What these redeemables would do to this order; no side effects")
    async def validate_stack(
        self, info: Info[Context, None], input: StackInput
    ) -> StackValidation:
        ctx = info.context
        ask = (
            checkout.SessionAsk(key=input.session.key, ttl_seconds=input.session.ttl_seconds)
            if input.session is not None else None
        )
        try:
            outcome = await checkout.validate_stack(
                ctx.db, ctx.project_id, stack_request(input), session_ask=ask
            )
        except checkout.RequestProblem as exc:
            raise request_error(exc) from exc
        return StackValidation.from_result(outcome.result, session_type(outcome.session))
