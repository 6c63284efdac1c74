"""app/api/inputs.py builds exactly what Strawberry's generic conversion builds."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import coerce_input_value
from strawberry import UNSET
from strawberry.types.arguments import convert_argument

from app.api import inputs
from app.api.campaigns import CreateCampaignInput, UpdateCampaignInput
from app.api.redemptions import RedeemStackInput
from app.api.schema import build_schema
from app.api.validation import RedeemableObject, StackInput

SCHEMA = build_schema()

STACK = {
    "redeemables": [
        {"object": "VOUCHER", "id": "TENOFF"},
        {"object": "PROMOTION_TIER", "id": "promo_1", "gift": None},
        {"object": "VOUCHER", "id": "GIFT", "gift": {"credits": 500}, "reward": {"id": "rw_1"}},
    ],
    "order": {
        "sourceId": "o-1", "status": "CREATED", "metadata": {"channel": ["web", 1]},
        "items": [{"productId": "prod_1", "quantity": 2},
                  {"skuId": "sku_1", "quantity": 1, "price": 900, "metadata": None}],
    },
    "customer": {"sourceId": "c-1", "metadata": {"tier": "gold"}},
    "session": {"ttlSeconds": 60},
    "metadata": None,
}


def _convert(cls: type, raw: dict[str, Any], *, planned: bool) -> Any:
    graphql_type = SCHEMA.schema_converter.type_map[
        cls.__strawberry_definition__.name  # type: ignore[attr-defined]
    ].implementation
    value = coerce_input_value(raw, graphql_type)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    hook = definition.from_input
    if not planned:
        definition.from_input = None
    try:
        return convert_argument(value, cls, SCHEMA.schema_converter.scalar_registry,
                                SCHEMA.config)
    finally:
        definition.from_input = hook


def test_every_plain_input_type_gets_a_plan() -> None:
    planned = [
        c.definition.name for c in SCHEMA.schema_converter.type_map.values()
        if getattr(c.definition, "is_input", False)
        and isinstance(c.definition.from_input, inputs._Plan)
    ]
    assert "StackInput" in planned and "OrderItemInput" in planned
    assert len(planned) >= 70


@pytest.mark.parametrize(("cls", "raw"), [
    (StackInput, STACK),
    (StackInput, {"redeemables": [{"object": "VOUCHER", "id": "X"}]}),
    (RedeemStackInput, {**STACK, "idempotencyKey": "k-1", "session": {"key": "s"}}),
    (CreateCampaignInput, {
        "name": "C", "campaignType": "DISCOUNT_COUPONS", "vouchersCount": 3,
        "voucher": {"type": "DISCOUNT_VOUCHER",
                    "discount": {"type": "PERCENT", "percentOff": 10}},
        "validityDayOfWeek": [1, 2], "validationRuleIds": ["val_1"],
        "startDate": "2026-01-01T00:00:00Z",
    }),
    (UpdateCampaignInput, {"id": "camp_1", "name": None, "validityDayOfWeek": [5]}),
])
def test_plan_matches_strawberry(cls: type, raw: dict[str, Any]) -> None:
    built = _convert(cls, raw, planned=True)
    assert built == _convert(cls, raw, planned=False)
    assert type(built) is cls


def test_plan_details() -> None:
    built = _convert(StackInput, STACK, planned=True)
    assert built.redeemables[0].object is RedeemableObject.VOUCHER
    assert built.redeemables[0].gift is None and built.redeemables[1].gift is None
    assert built.redeemables[2].gift.credits == 500
    assert built.redeemables[2].reward.points is None
    assert [i.quantity for i in built.order.items] == [2, 1]
    assert built.order.items[1].price == 900
    assert built.order.metadata == {"channel": ["web", 1]}
    assert built.session.key is None and built.session.ttl_seconds == 60
    update = _convert(UpdateCampaignInput, {"id": "camp_1", "name": None}, planned=True)
    assert update.name is None           # sent as null
    assert update.description is UNSET   # not sent
