"""LOCK sessions, per-customer limits and rollback racing redemption."""

from __future__ import annotations

import asyncio

from tests.stack import factories as f
from tests.stack.test_redeem_stack import CART, REDEEM, ROLLBACK, voucher_row

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid redeemables { status reason { code } gift { credits balance } } session { key ttlSeconds }
} }"""


def ask(code: str, **extra):  # type: ignore[no-untyped-def]
    return {"redeemables": [{"object": "VOUCHER", "id": code}], "order": CART, **extra}


class TestSessions:
    async def test_sessions_count_against_the_limit_until_released(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "TWO", quantity=2,
                        discount={"type": "AMOUNT", "amount_off": 100})
        s1 = (await tenant.api(VALIDATE, i=ask("TWO", session={"key": "cart-1"})))["validateStack"]
        assert s1["valid"] and s1["session"] == {"key": "cart-1", "ttlSeconds": 7 * 24 * 3600}
        s2 = (await tenant.api(VALIDATE, i=ask("TWO", session={})))["validateStack"]
        assert s2["valid"] and s2["session"]["key"].startswith("ssn_")
        third = (await tenant.api(VALIDATE, i=ask("TWO", session={})))["validateStack"]
        assert third["redeemables"][0]["reason"]["code"] == "quantity_exceeded"
        # a plain redemption also sees both uses held
        blocked = (await tenant.api(REDEEM, i=ask("TWO")))["redeemStack"]
        assert blocked["errors"][0]["code"] == "quantity_exceeded"
        # the session's own redemption consumes its hold
        own = (await tenant.api(REDEEM, i=ask("TWO", session={"key": "cart-1"})))["redeemStack"]
        assert own["errors"] == []
        released = await tenant.api(
            'mutation($k: String!) { releaseSession(input: {key: $k}) { released } }',
            k=s2["session"]["key"],
        )
        assert released["releaseSession"]["released"] == 1
        last = (await tenant.api(REDEEM, i=ask("TWO")))["redeemStack"]
        assert last["errors"] == []
        done = (await tenant.api(REDEEM, i=ask("TWO")))["redeemStack"]
        assert done["errors"][0]["code"] == "quantity_exceeded"

    async def test_session_holds_gift_credits(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "HOLD", gift=1000)
        gift = {"redeemables": [{"object": "VOUCHER", "id": "HOLD", "gift": {"credits": 800}}],
                "order": CART}
        held = (await tenant.api(VALIDATE, i={**gift, "session": {"key": "k"}}))["validateStack"]
        assert held["redeemables"][0]["gift"] == {"credits": 800, "balance": 1000}
        other = (await tenant.api(VALIDATE, i=gift))["validateStack"]
        assert other["redeemables"][0]["reason"]["code"] == "gift_amount_exceeded"

    async def test_expired_sessions_hold_nothing(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "EXP", quantity=1,
                        discount={"type": "AMOUNT", "amount_off": 100})
        await tenant.api(VALIDATE, i=ask("EXP", session={"ttlSeconds": 1}))
        await asyncio.sleep(1.2)
        data = (await tenant.api(REDEEM, i=ask("EXP")))["redeemStack"]
        assert data["errors"] == []

    async def test_bad_ttl_is_invalid_payload(self, tenant) -> None:
        errors = await tenant.api.errors(VALIDATE, i=ask("X", session={"ttlSeconds": 0}))
        assert errors[0]["extensions"]["code"] == "invalid_payload"


class TestLimitsUnderConcurrency:
    async def test_per_customer_limit_of_one_holds(self, tenant, db) -> None:
        v = await f.voucher(db, tenant.project_id, "PERCUST",
                            discount={"type": "AMOUNT", "amount_off": 100})
        await f.rule(db, tenant.project_id, v.id, "voucher", {
            "1": {"name": "redemption.count.per_customer",
                  "conditions": {"$less_than_or_equal": [1]}},
            "logic": "1",
        })
        await tenant.api(
            'mutation { createCustomer(input: {sourceId: "bob"}) { errors { code } } }'
        )
        results = await asyncio.gather(*(
            tenant.api(REDEEM, i=ask("PERCUST", customer={"sourceId": "bob"})) for _ in range(15)
        ))
        wins = [r for r in results if not r["redeemStack"]["errors"]]
        assert len(wins) == 1
        codes = {r["redeemStack"]["errors"][0]["code"] for r in results if r not in wins}
        assert codes == {"redemption_rules_violated"}
        # another customer may still use it
        carol = (await tenant.api(REDEEM, i=ask("PERCUST", customer={"sourceId": "carol"})))
        assert carol["redeemStack"]["errors"] == []

    async def test_rollback_racing_redemptions_keeps_counters_true(self, tenant, db) -> None:
        v = await f.voucher(db, tenant.project_id, "RACE", quantity=5,
                            discount={"type": "AMOUNT", "amount_off": 100})
        first = (await tenant.api(REDEEM, i=ask("RACE")))["redeemStack"]["redemption"]["id"]
        jobs = [tenant.api(ROLLBACK, i={"redemptionId": first})] + [
            tenant.api(REDEEM, i=ask("RACE")) for _ in range(8)
        ]
        await asyncio.gather(*jobs)
        live = await tenant.api(
            "query($v: ID!) { redemptions(filter: {voucherId: $v, status: SUCCEEDED}) "
            "{ totalCount } }", v=v.id,
        )
        row = await voucher_row(db, v.id)
        # 5 if the rollback ran before the code ran out, 4 if it ran after: never anything else
        assert row.redeemed_quantity == live["redemptions"]["totalCount"]
        assert row.redeemed_quantity in (4, 5)


class TestCampaignBudgets:
    async def test_campaign_customers_count_counts_each_customer_once(self, tenant, db) -> None:
        camp = await f.campaign(db, tenant.project_id)
        v = await f.voucher(db, tenant.project_id, "TWOPEOPLE", campaign_id=camp.id,
                            discount={"type": "AMOUNT", "amount_off": 100})
        await f.rule(db, tenant.project_id, camp.id, "campaign", {
            "1": {"name": "campaign.redemptions.customers_count",
                  "conditions": {"$less_than_or_equal": [2]}},
            "logic": "1",
        })

        async def redeem(who: str) -> list:  # type: ignore[type-arg]
            data = await tenant.api(REDEEM, i=ask("TWOPEOPLE", customer={"sourceId": who}))
            return [e["code"] for e in data["redeemStack"]["errors"]]

        assert await redeem("ann") == []
        assert await redeem("ann") == []  # ann again: still one customer
        assert await redeem("ben") == []
        assert await redeem("ann") == []
        assert await redeem("cyd") == ["redemption_rules_violated"]
        assert (await voucher_row(db, v.id)).redeemed_quantity == 4


ONE_OFF = {"type": "AMOUNT", "amount_off": 100}


class TestOrderItemCap:
    """One cap on order lines for every operation, one error code (issue 12, item 15)."""

    @staticmethod
    def lines(count: int) -> list[dict]:
        return [{"sourceId": f"x{i}", "quantity": 1, "price": 100} for i in range(count)]

    async def test_qualifications_refuse_10000_items_like_every_other_operation(
        self, tenant, db
    ) -> None:
        await f.voucher(db, tenant.project_id, "CAP", discount=ONE_OFF)
        qualify = "query($i: QualificationInput!) { qualifications(input: $i) { totalCount } }"
        for count in (501, 10_000):
            for query, input_ in [
                (qualify, {"order": {"items": self.lines(count)}}),
                (VALIDATE, ask("CAP", order={"items": self.lines(count)})),
                (REDEEM, ask("CAP", order={"items": self.lines(count)})),
            ]:
                (error,) = await tenant.api.errors(query, i=input_)
                assert error["extensions"]["code"] == "too_many_items", error
                assert error["extensions"]["field"] == ["order", "items"]
                assert "at most 500" in error["message"]
        created = await tenant.api(
            "mutation($i: CreateOrderInput!) { createOrder(input: $i) { order { id } "
            "errors { code field } } }", i={"items": self.lines(501)},
        )
        assert created["createOrder"] == {
            "order": None, "errors": [{"code": "too_many_items", "field": ["items"]}]
        }
        counts = await tenant.api("{ redemptions { totalCount } orders { totalCount } }")
        assert counts == {"redemptions": {"totalCount": 0}, "orders": {"totalCount": 0}}

    async def test_500_items_are_accepted_everywhere(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "CAP", discount=ONE_OFF)
        qualified = await tenant.api(
            "query($i: QualificationInput!) { qualifications(input: $i) { totalCount "
            "edges { node { id order { amount totalAmount } } } } }",
            i={"order": {"items": self.lines(500)}},
        )
        validated = await tenant.api(VALIDATE, i=ask("CAP", order={"items": self.lines(500)}))

        assert qualified["qualifications"]["edges"][0]["node"] == {
            "id": "CAP", "order": {"amount": 50_000, "totalAmount": 49_900}
        }
        assert validated["validateStack"]["valid"] is True
