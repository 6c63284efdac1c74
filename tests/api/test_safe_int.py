"""SafeInt: money and points are integers up to 2^53 - 1 (exact in JSON and JavaScript);
beyond that the API answers `amount_too_large` with the field, for a variable and for a
literal alike, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from factories import CREATE_ORDER, CREATE_PRODUCT, create_product, error_codes, mutate
from promo_factories import (
    ADD_BALANCE,
    CREATE_CAMPAIGN,
    CREATE_RULE,
    CREATE_VOUCHER,
    create_gift_card,
    create_voucher,
)

from app.db.events import Event
from app.db.orders import Order
from app.db.vouchers import VoucherTransaction

MAX = 2**53 - 1
TOO_BIG = 2**53
SUFFIX = "is beyond the largest amount, 9,007,199,254,740,991 minor units (2^53 - 1)"


async def rows(db: Any, project_id: str) -> dict[str, int]:
    async with db.read() as s:
        return {
            model.__name__: (await s.execute(
                sa.select(sa.func.count()).select_from(model)
                .where(model.project_id == project_id)
            )).scalar_one()
            for model in (Order, VoucherTransaction, Event)
        }


def the_error(errors: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(errors) == 1, errors
    return errors[0]


class TestScalar:
    async def test_the_largest_amount_round_trips_exactly(self, api) -> None:
        payload = await mutate(api, CREATE_ORDER, amount=MAX)
        assert payload["errors"] == [] and payload["order"]["amount"] == MAX
        again = await api("query($id: ID!) { order(id: $id) { amount totalAmount } }",
                          id=payload["order"]["id"])
        assert again["order"]["amount"] == 9_007_199_254_740_991

    @pytest.mark.parametrize("value", [TOO_BIG, -TOO_BIG, 10**30, float(TOO_BIG)])
    async def test_a_variable_beyond_the_range(self, api, tenant, db, value) -> None:
        before = await rows(db, tenant.project_id)
        error = the_error(await api.errors(CREATE_ORDER, input={"amount": value}))
        assert error["extensions"] == {
            "code": "amount_too_large", "argument": "input", "field": ["amount"],
        }
        assert error["message"].endswith(
            f"SafeInt cannot represent {value}: it runs from -9,007,199,254,740,991 to "
            "9,007,199,254,740,991 (2^53 - 1)")
        assert await rows(db, tenant.project_id) == before

    async def test_a_literal_beyond_the_range(self, api, tenant, db) -> None:
        before = await rows(db, tenant.project_id)
        for literal in (str(TOO_BIG), str(-TOO_BIG)):
            error = the_error(await api.errors(
                f"mutation {{ createOrder(input: {{ amount: {literal} }}) {{ order {{ id }} }} }}"
            ))
            assert error["extensions"] == {
                "code": "amount_too_large", "argument": "input", "field": ["amount"],
            }
            assert error["locations"] == [{"line": 1, "column": 41}]
        assert await rows(db, tenant.project_id) == before

    async def test_the_path_reaches_into_lists(self, api) -> None:
        items = [{"sourceId": "a", "quantity": 1, "price": 5},
                 {"sourceId": "b", "quantity": 1, "price": TOO_BIG}]
        by_variable = the_error(await api.errors(CREATE_ORDER, input={"items": items}))
        by_literal = the_error(await api.errors(
            'mutation { createOrder(input: {items: [{sourceId: "a", quantity: 1, price: 5}, '
            f'{{sourceId: "b", quantity: 1, price: {TOO_BIG}}}]}}) {{ order {{ id }} }} }}'
        ))
        by_inner_variable = the_error(await api.errors(
            'mutation($p: SafeInt) { createOrder(input: {items: [{sourceId: "a", quantity: 1, '
            'price: 5}, {sourceId: "b", quantity: 1, price: $p}]}) { order { id } } }',
            p=TOO_BIG,
        ))
        expected = {"code": "amount_too_large", "argument": "input",
                    "field": ["items", "1", "price"]}
        assert by_variable["extensions"] == by_literal["extensions"] == expected
        assert by_inner_variable["extensions"] == expected

    @pytest.mark.parametrize("value", [1.5, "5", True, [5], {"v": 5}])
    async def test_non_integers_are_refused(self, api, tenant, db, value) -> None:
        before = await rows(db, tenant.project_id)
        error = the_error(await api.errors(CREATE_ORDER, input={"amount": value}))
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "SafeInt cannot represent non-integer value" in error["message"]
        assert await rows(db, tenant.project_id) == before

    async def test_non_integer_literals_are_refused(self, api) -> None:
        for literal in ("1.5", '"5"', "true", "5.0"):
            error = the_error(await api.errors(
                f"mutation {{ createOrder(input: {{ amount: {literal} }}) {{ order {{ id }} }} }}"
            ))
            assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", literal
            assert "SafeInt cannot represent non-integer value" in error["message"]

    async def test_an_integral_json_number_is_an_integer(self, api) -> None:
        payload = await mutate(api, CREATE_ORDER, amount=4_000_000_000.0)
        assert payload["order"]["amount"] == 4_000_000_000

    async def test_the_schema_names_it(self, api) -> None:
        data = await api('{ __type(name: "SafeInt") { kind description } '
                         'order: __type(name: "Order") { fields { name type { name ofType '
                         '{ name } } } } }')
        assert data["__type"]["kind"] == "SCALAR"
        assert "2^53 - 1" in data["__type"]["description"]
        types = {f["name"]: (f["type"]["name"] or f["type"]["ofType"]["name"])
                 for f in data["order"]["fields"]}
        assert {types[n] for n in ("amount", "discountAmount", "itemsDiscountAmount",
                                   "totalDiscountAmount", "totalAmount")} == {"SafeInt"}


class TestOrders:
    async def test_create_order_above_32_bits(self, api) -> None:
        payload = await mutate(api, CREATE_ORDER, items=[
            {"sourceId": "x", "quantity": 2, "price": 2_000_000_000}])
        assert payload["errors"] == []
        assert payload["order"]["amount"] == 4_000_000_000
        assert payload["order"]["items"][0]["amount"] == 4_000_000_000

    async def test_catalog_price_times_quantity(self, api, tenant, db) -> None:
        await create_product(api, sourceId="big", price=2**52)
        before = await rows(db, tenant.project_id)
        payload = await mutate(api, CREATE_ORDER, items=[{"sourceId": "big", "quantity": 2}])
        assert error_codes(payload) == [("amount_too_large", ["items", "0"])]
        assert payload["errors"][0]["message"] == f"price × quantity {SUFFIX}"
        assert await rows(db, tenant.project_id) == before


class TestGiftCards:
    async def test_a_card_full_at_2_31_takes_more(self, api) -> None:
        # Issue 12 item 5: a balance past 2^31 - 1 was written and then unreadable.
        await create_gift_card(api, amount=2_147_483_647, code="FULL")
        payload = await mutate(api, ADD_BALANCE, code="FULL", amount=1)
        assert payload["errors"] == []
        assert payload["voucher"]["gift"] == {"amount": 2_147_483_648, "balance": 2_147_483_648}
        read = await api('{ voucher(code: "FULL") { gift { amount balance } } }')
        assert read["voucher"]["gift"]["balance"] == 2_147_483_648

    async def test_top_up_past_the_limit_writes_nothing(self, api, tenant, db) -> None:
        await create_gift_card(api, amount=5000, code="TOP")
        topped = await mutate(api, ADD_BALANCE, code="TOP", amount=MAX - 5000)
        assert topped["voucher"]["gift"] == {"amount": MAX, "balance": MAX}
        before = await rows(db, tenant.project_id)

        payload = await mutate(api, ADD_BALANCE, code="TOP", amount=1)

        assert error_codes(payload) == [("amount_too_large", ["amount"])]
        assert payload["errors"][0]["message"] == f"the balance after this change {SUFFIX}"
        assert await rows(db, tenant.project_id) == before
        read = await api('{ voucher(code: "TOP") { gift { amount balance } } }')
        assert read["voucher"]["gift"] == {"amount": MAX, "balance": MAX}

    async def test_credits_ever_added_are_held_to_the_limit_too(self, api, tenant, db) -> None:
        await create_gift_card(api, amount=MAX, code="ROUND")
        removed = await mutate(api, ADD_BALANCE, code="ROUND", amount=-1000)
        assert removed["voucher"]["gift"] == {"amount": MAX, "balance": MAX - 1000}
        before = await rows(db, tenant.project_id)

        payload = await mutate(api, ADD_BALANCE, code="ROUND", amount=1000)

        assert error_codes(payload) == [("amount_too_large", ["amount"])]
        assert payload["errors"][0]["message"] == f"the credits ever added {SUFFIX}"
        assert await rows(db, tenant.project_id) == before

    async def test_a_top_up_amount_beyond_the_range(self, api) -> None:
        await create_gift_card(api, code="G1")
        error = the_error(await api.errors(ADD_BALANCE, input={"code": "G1", "amount": -TOO_BIG}))
        assert error["extensions"] == {
            "code": "amount_too_large", "argument": "input", "field": ["amount"],
        }

    async def test_gift_amounts_at_creation(self, api, tenant, db) -> None:
        before = await rows(db, tenant.project_id)
        card = the_error(await api.errors(CREATE_VOUCHER, input={
            "type": "GIFT_VOUCHER", "gift": {"amount": TOO_BIG}}))
        campaign = the_error(await api.errors(CREATE_CAMPAIGN, input={
            "name": "Gifts", "campaignType": "GIFT_VOUCHERS",
            "voucher": {"type": "GIFT_VOUCHER", "gift": {"amount": TOO_BIG}}}))
        assert card["extensions"]["field"] == ["gift", "amount"]
        assert campaign["extensions"]["field"] == ["voucher", "gift", "amount"]
        assert {card["extensions"]["code"], campaign["extensions"]["code"]} == {
            "amount_too_large"}
        assert await rows(db, tenant.project_id) == before
        biggest = await create_gift_card(api, amount=MAX, code="BIGGEST")
        assert biggest["gift"] == {"amount": MAX, "balance": MAX, "effect": "APPLY_TO_ORDER"}


class TestManagementAmounts:
    async def test_prices_and_discounts_beyond_the_range(self, api) -> None:
        cases = [
            (CREATE_PRODUCT, {"name": "Yacht", "price": TOO_BIG}, ["price"]),
            (CREATE_VOUCHER, {"discount": {"type": "AMOUNT", "amountOff": TOO_BIG}},
             ["discount", "amountOff"]),
            (CREATE_VOUCHER, {"discount": {"type": "PERCENT", "percentOff": 10,
                                           "amountLimit": TOO_BIG}},
             ["discount", "amountLimit"]),
            (CREATE_VOUCHER, {"discount": {"type": "FIXED", "fixedAmount": TOO_BIG}},
             ["discount", "fixedAmount"]),
            (CREATE_RULE, {"name": "r", "rules": [], "applicableTo": {"included": [
                {"object": "product", "id": "prod_x", "price": TOO_BIG}]}},
             ["applicableTo", "included", "0", "price"]),
        ]
        for mutation, input_, field in cases:
            error = the_error(await api.errors(mutation, input=input_))
            assert error["extensions"] == {
                "code": "amount_too_large", "argument": "input", "field": field,
            }, input_

    async def test_amounts_above_32_bits_are_kept_exactly(self, api) -> None:
        product = await create_product(api, sourceId="car", price=25_000_000_000)
        voucher = await create_voucher(api, code="BIGOFF", discount={
            "type": "AMOUNT", "amountOff": 3_000_000_000})
        assert product["price"] == 25_000_000_000
        assert voucher["discount"]["amountOff"] == 3_000_000_000
