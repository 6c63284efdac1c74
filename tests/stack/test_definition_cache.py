"""validateStack and redeemStack over cached definitions: every change to what a redeemable
is (campaign, voucher, tier, rule, collection filter) shows on the very next call, even when
another process made it; counters never wait for a cache."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from app.db.base import utcnow
from app.db.campaigns import Campaign
from app.db.catalog import ProductCollection
from app.db.session import Database
from app.db.vouchers import Voucher
from app.services import snapshot
from tests.stack import factories as f
from tests.stack.test_redeem_stack import REDEEM

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid order { totalAmount totalDiscountAmount }
  redeemables { id status reason { code } order { totalDiscountAmount } } } }"""
CART = {"items": [{"sourceId": "tee", "quantity": 2, "price": 2000}]}


async def validate(api, *redeemables, order=None):  # type: ignore[no-untyped-def]
    data = await api(VALIDATE, i={"redeemables": list(redeemables), "order": order or CART})
    return data["validateStack"]


def code(id_: str) -> dict[str, str]:
    return {"object": "VOUCHER", "id": id_}


class TestChangesShowAtOnce:
    async def test_voucher_campaign_and_rule_changes_from_another_process(
        self, tenant, db, database_url
    ) -> None:
        pid = tenant.project_id
        camp = await f.campaign(db, pid)
        v = await f.voucher(db, pid, "TEN", campaign_id=camp.id,
                            discount={"type": "AMOUNT", "amount_off": 1000})
        first = await validate(tenant.api, code("TEN"))
        assert first["valid"] and first["order"]["totalAmount"] == 3000

        other = Database.from_url(database_url, pool_size=1)  # "another process"
        try:
            async with other.write() as s:
                await s.execute(sa.update(Voucher).where(Voucher.id == v.id).values(
                    discount={"type": "AMOUNT", "amount_off": 700}, updated_at=utcnow()))
            assert (await validate(tenant.api, code("TEN")))["order"]["totalAmount"] == 3300

            async with other.write() as s:
                await s.execute(sa.update(Campaign).where(Campaign.id == camp.id).values(
                    active=False, updated_at=utcnow()))
            off = await validate(tenant.api, code("TEN"))
            assert not off["valid"]
            assert off["redeemables"][0]["reason"]["code"] == "voucher_disabled"

            async with other.write() as s:
                await s.execute(sa.update(Campaign).where(Campaign.id == camp.id).values(
                    active=True, updated_at=utcnow()))
            assert (await validate(tenant.api, code("TEN")))["valid"]
        finally:
            await other.dispose()

        await f.rule(db, pid, camp.id, "campaign", {
            "1": {"name": "order.amount", "conditions": {"$more_than": [999_999]}},
            "logic": "1"})
        ruled = await validate(tenant.api, code(v.id))
        assert [r["status"] for r in ruled["redeemables"]] == ["INAPPLICABLE"]
        assert ruled["redeemables"][0]["reason"]["code"] == "order_rules_violated"

    async def test_a_tier_and_the_same_voucher_by_code_and_by_id(self, tenant, db) -> None:
        pid = tenant.project_id
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        tier = await f.tier(db, pid, promo.id, discount={"type": "PERCENT", "percent_off": 10})
        v = await f.voucher(db, pid, "BYCODE", discount={"type": "AMOUNT", "amount_off": 100})
        tiered = {"object": "PROMOTION_TIER", "id": tier.id}
        by_code = await validate(tenant.api, tiered, code("BYCODE"))
        by_id = await validate(tenant.api, tiered, code(v.id))
        assert [r["id"] for r in by_code["redeemables"]] == [tier.id, "BYCODE"]
        assert [r["id"] for r in by_id["redeemables"]] == [tier.id, v.id]
        assert by_code["order"]["totalAmount"] == by_id["order"]["totalAmount"] == 3500

    async def test_a_redemption_does_not_restart_the_cache_but_a_change_does(
        self, tenant, db
    ) -> None:
        pid = tenant.project_id
        v = await f.voucher(db, pid, "LIMITED", quantity=2,
                            discount={"type": "AMOUNT", "amount_off": 100})
        await validate(tenant.api, code("LIMITED"))
        misses = snapshot.CACHE.misses
        redeemed = await tenant.api(REDEEM, i={"redeemables": [code("LIMITED")], "order": CART})
        assert redeemed["redeemStack"]["errors"] == []
        second = await validate(tenant.api, code("LIMITED"))
        assert second["valid"]
        await tenant.api(REDEEM, i={"redeemables": [code("LIMITED")], "order": CART})
        drained = await validate(tenant.api, code("LIMITED"))  # counters are read live
        assert drained["redeemables"][0]["reason"]["code"] == "quantity_exceeded"
        assert snapshot.CACHE.misses == misses
        async with db.write() as s:
            await s.execute(sa.update(Voucher).where(Voucher.id == v.id).values(
                redemption_quantity=3, updated_at=utcnow()))
        assert (await validate(tenant.api, code("LIMITED")))["valid"]
        assert snapshot.CACHE.misses == misses + 1


class TestCollections:
    async def test_static_and_auto_update_collections_target_items(self, tenant, db) -> None:
        api = tenant.api
        made = await api("""mutation {
          red: createProduct(input: {name: "Red", sourceId: "red", price: 1000,
                                     metadata: {color: "red"}}) { product { id } }
          blue: createProduct(input: {name: "Blue", sourceId: "blue", price: 3000,
                                      metadata: {color: "blue"}}) { product { id } }
        }""")
        red, blue = made["red"]["product"]["id"], made["blue"]["product"]["id"]
        created = await api("""mutation($f: JSON!, $p: [CollectionMemberInput!]) {
          auto: createProductCollection(input: {name: "Reds", type: AUTO_UPDATE, filter: $f}) {
            productCollection { id } errors { code } }
          picked: createProductCollection(input: {name: "Picks", type: STATIC, products: $p}) {
            productCollection { id } errors { code } }
        }""", f={"junction": "and", "metadata.color": {"conditions": {"$is": ["red"]}}},
            p=[{"object": "product", "id": blue}])
        reds = created["auto"]["productCollection"]["id"]
        picks = created["picked"]["productCollection"]["id"]
        pid = tenant.project_id
        for code_, collection in (("REDS", reds), ("PICKS", picks)):
            v = await f.voucher(db, pid, code_, discount={
                "type": "PERCENT", "percent_off": 50, "effect": "APPLY_TO_ITEMS"})
            await f.rule(db, pid, v.id, "voucher", {"logic": ""}, applicable_to={
                "included": [{"object": "products_collection", "id": collection}]})
        cart = {"items": [{"productId": red, "quantity": 1}, {"productId": blue, "quantity": 1}]}

        result = await validate(api, code("REDS"), code("PICKS"), order=cart)
        # Each redeemable's order is the running total: red -500 (REDS), then blue -1500.
        assert [r["order"]["totalDiscountAmount"] for r in result["redeemables"]] == [500, 2000]
        assert result["order"]["totalAmount"] == 2000

        # The AUTO_UPDATE filter changes in storage: the next call sees the new members.
        async with db.write() as s:
            await s.execute(sa.update(ProductCollection).where(ProductCollection.id == reds)
                            .values(filter={"junction": "and",
                                            "metadata.color": {"conditions": {"$is": ["blue"]}}},
                                    updated_at=utcnow()))
        moved = await validate(api, code("REDS"), order=cart)
        assert moved["redeemables"][0]["order"]["totalDiscountAmount"] == 1500


class TestEarlyRefusal:
    async def test_long_idempotency_key_is_refused_before_anything_is_written(
        self, tenant, db
    ) -> None:
        await f.voucher(db, tenant.project_id, "ANY", discount={"type": "AMOUNT", "amount_off": 1})
        data = await tenant.api(REDEEM, i={"redeemables": [code("ANY")], "order": CART,
                                           "idempotencyKey": "k" * 201})
        assert [e["code"] for e in data["redeemStack"]["errors"]] == ["invalid_idempotency_key"]
        listed = await tenant.api("{ redemptions { totalCount } }")
        assert listed["redemptions"]["totalCount"] == 0

    async def test_concurrent_replays_of_a_refused_attempt_store_one_failure(
        self, tenant, db
    ) -> None:
        await f.voucher(db, tenant.project_id, "GONE", quantity=0,
                        discount={"type": "AMOUNT", "amount_off": 100})
        body = {"redeemables": [code("GONE")], "order": CART, "idempotencyKey": "same"}
        answers = await asyncio.gather(*(tenant.api(REDEEM, i=body) for _ in range(20)))
        ids = {a["redeemStack"]["redemption"]["id"] for a in answers}
        assert len(ids) == 1
        assert {a["redeemStack"]["errors"][0]["code"] for a in answers} == {"quantity_exceeded"}
        listed = await tenant.api('{ redemptions(filter: {result: FAILURE}) { totalCount } }')
        assert listed["redemptions"]["totalCount"] == 1

    async def test_a_drained_code_is_refused_while_its_row_is_locked(
        self, tenant, db, database_url
    ) -> None:
        if db.is_sqlite:
            pytest.skip("PostgreSQL row locks; SQLite has one writer for the whole file")
        v = await f.voucher(db, tenant.project_id, "HOT", quantity=1,
                            discount={"type": "AMOUNT", "amount_off": 100})
        won = await tenant.api(REDEEM, i={"redeemables": [code("HOT")], "order": CART})
        assert won["redeemStack"]["errors"] == []
        holder = Database.from_url(database_url, pool_size=1)
        try:
            async with holder.write() as s:  # a spender holding the voucher's row lock
                await s.execute(sa.select(Voucher.id).where(Voucher.id == v.id)
                                .with_for_update(key_share=True))
                lost = await asyncio.wait_for(tenant.api(REDEEM, i={
                    "redeemables": [code("HOT")], "order": CART}), timeout=10)
                assert lost["redeemStack"]["errors"][0]["code"] == "quantity_exceeded"
                assert lost["redeemStack"]["redemption"]["result"] == "FAILURE"
        finally:
            await holder.dispose()
        assert (await f_redeemed(db, v.id)) == 1


async def f_redeemed(db: Database, voucher_id: str) -> int:
    async with db.read() as s:
        return int((await s.execute(
            sa.select(Voucher.redeemed_quantity).where(Voucher.id == voucher_id))).scalar_one())
