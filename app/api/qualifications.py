"""GraphQL: `qualifications` — what this customer can get for this cart."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.categories import Category
from app.api.context import Context
from app.api.enums import (
    HolderRole,
    QualificationScenario,
    QualificationSort,
    RedeemableObject,
)
from app.api.errors import query_call
from app.api.redeemable_types import Discount
from app.api.relay import PageInfo
from app.api.scalars import SafeInt
from app.api.validation import (
    BundleResult,
    CustomerInput,
    GiftResult,
    OrderCalculation,
    OrderInput,
    OrderItemCalculation,
    load_campaign,
    load_categories,
    request_error,
    stack_request,
)
from app.services import checkout as service
from app.services.checkout import RequestProblem, to_json

if TYPE_CHECKING:
    from app.api.campaigns import Campaign


@strawberry.input
class QualificationFilter:
    campaign_ids: list[strawberry.ID] | None = None
    category_ids: list[strawberry.ID] | None = None
    campaign_types: list[str] | None = strawberry.field(
        default=None, description="DISCOUNT_COUPONS, PROMOTION, GIFT_VOUCHERS, …"
    )
    resource_types: list[RedeemableObject] | None = None
    holder_roles: list[HolderRole] | None = None


@strawberry.input
class QualificationInput:
    customer: CustomerInput | None = None
    order: OrderInput | None = None
    scenario: QualificationScenario = QualificationScenario.ALL
    filter: QualificationFilter | None = None
    sort: QualificationSort = QualificationSort.DEFAULT
    first: int | None = strawberry.field(default=None, description="At most 50 (default 10)")
    after: str | None = None
    metadata: JSON | None = strawberry.field(
        default=None, description="Redemption metadata, visible to redemption.metadata rules"
    )


@strawberry.type(description="PRODUCTS_DISCOUNT: a sent line's price under this redeemable")
class QualifiedItem:
    index: int
    product_id: strawberry.ID | None
    sku_id: strawberry.ID | None
    source_id: str | None
    quantity: int
    price: SafeInt | None
    discounted_price: SafeInt | None = strawberry.field(description="Unit price after discount")
    discount_amount: SafeInt


@strawberry.type(description="A redeemable this customer can use on this cart, priced alone")
class Qualification:
    object: RedeemableObject
    id: str = strawberry.field(description="The code for vouchers, the id otherwise")
    campaign_id: strawberry.ID | None
    campaign_type: str | None
    category_ids: list[strawberry.ID]
    name: str | None
    banner: str | None
    held: bool = strawberry.field(description="Published to (held by) this customer")
    created_at: datetime
    order: OrderCalculation = strawberry.field(description="The cart with this alone applied")
    discount: Discount | None
    gift: GiftResult | None
    bundle: BundleResult | None
    items: list[QualifiedItem] = strawberry.field(
        description="Sent lines it discounts, with their discounted unit prices"
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
    def from_result(cls, q: service.Qualified) -> Qualification:
        # Straight from the engine's result: the full JSON form of every result on a page
        # (its order and lines) cost more than the whole qualification.
        r = q.result
        c = q.candidate
        return cls(
            object=RedeemableObject(r.object.value), id=r.id, campaign_id=c.campaign_id,
            campaign_type=c.campaign_type, category_ids=sorted(c.category_ids), name=c.name,
            banner=c.banner, held=c.held, created_at=c.created_at,
            order=_order(r.order),
            discount=Discount.from_result(to_json(r.discount)) if r.discount else None,
            gift=GiftResult(credits=r.gift.credits, balance=r.gift.balance) if r.gift else None,
            bundle=BundleResult.from_json(to_json(r.bundle)) if r.bundle else None,
            items=[QualifiedItem(**i.__dict__) for i in q.items],
        )


_ORDER_FIELDS = tuple(f for f in OrderCalculation.__annotations__ if f != "items")
_ITEM_FIELDS = tuple(OrderItemCalculation.__annotations__)


def _order(calc: Any) -> OrderCalculation:
    """The engine's order calculation as the API type (the same field names)."""
    return OrderCalculation(
        **{name: getattr(calc, name) for name in _ORDER_FIELDS},
        items=[OrderItemCalculation(**{name: getattr(item, name) for name in _ITEM_FIELDS})
               for item in calc.items],
    )


@strawberry.type
class QualificationEdge:
    cursor: str
    node: Qualification


@strawberry.type
class QualificationConnection:
    edges: list[QualificationEdge]
    page_info: PageInfo
    total_count: int


def _ids(values: list[strawberry.ID] | None) -> frozenset[str] | None:
    return frozenset(str(v) for v in values) if values is not None else None


def _request(input_: QualificationInput) -> service.QualificationRequest:
    stack = stack_request(_StackShape(input_))
    f = input_.filter
    return service.QualificationRequest(
        customer=stack.customer,
        order=stack.order,
        scenario=input_.scenario,
        filters=service.Filters(
            campaign_ids=_ids(f.campaign_ids),
            category_ids=_ids(f.category_ids),
            campaign_types=frozenset(f.campaign_types) if f.campaign_types is not None else None,
            resource_types=frozenset(r.value for r in f.resource_types)
            if f.resource_types is not None else None,
            holder_roles=frozenset(r.value for r in f.holder_roles)
            if f.holder_roles is not None else None,
        ) if f is not None else service.Filters(),
        sort=input_.sort,
        first=input_.first,
        after=input_.after,
        metadata=input_.metadata,
    )


class _StackShape:
    """Qualification input seen through the stack mapper (same order/customer inputs)."""

    def __init__(self, input_: QualificationInput) -> None:
        self.redeemables: list[object] = []
        self.order = input_.order
        self.customer = input_.customer
        self.metadata = input_.metadata
        self.session = None
        self.auto_apply = None


@strawberry.type
class QualificationQuery:
    @strawberry.field(description="What can this customer get for this cart (no side effects).")
    async def qualifications(
        self, info: Info[Context, None], input: QualificationInput
    ) -> QualificationConnection:
        ctx = info.context
        try:
            request = _request(input)
            page = await query_call(service.qualify(ctx.db, ctx.project_id, request))
        except RequestProblem as exc:  # as in validateStack: the key and its input path
            raise request_error(exc) from exc
        edges = [
            QualificationEdge(cursor=cursor, node=Qualification.from_result(q))
            for q, cursor in zip(page.items, page.cursors, strict=True)
        ]
        return QualificationConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, has_previous_page=input.after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total,
        )
