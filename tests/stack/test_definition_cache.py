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
from app.services.checkout import caches
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
        misses = caches.CACHE.misses
        redeemed = await tenant.api(REDEEM, i={"redeemables": [code("LIMITED")], "order": CART})
        assert redeemed["redeemStack"]["errors"] == []
        second = await validate(tenant.api, code("LIMITED"))
        assert second["valid"]
        await tenant.api(REDEEM, i={"redeemables": [code("LIMITED")], "order": CART})
        drained = await validate(tenant.api, code("LIMITED"))  # counters are read live
        assert drained["redeemables"][0]["reason"]["code"] == "quantity_exceeded"
        assert caches.CACHE.misses == misses
        async with db.write() as s:
            await s.execute(sa.update(Voucher).where(Voucher.id == v.id).values(
                redemption_quantity=3, updated_at=utcnow()))
        assert (await validate(tenant.api, code("LIMITED")))["valid"]
        assert caches.CACHE.misses == misses + 1


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


class TestProductsCache:
    """Order lines resolve through a per-process cache keyed by the products version: product,
    SKU and collection changes show on the next call; they don't restart the definitions."""

    async def _reds(self, api, db, pid):  # type: ignore[no-untyped-def]
        made = await api("""mutation($f: JSON!) {
          p: createProduct(input: {name: "P", sourceId: "p", price: 1000,
                                   metadata: {color: "red"}}) { product { id } }
          c: createProductCollection(input: {name: "Reds", type: AUTO_UPDATE, filter: $f}) {
            productCollection { id } }
        }""", f={"junction": "and", "metadata.color": {"conditions": {"$is": ["red"]}}})
        product = made["p"]["product"]["id"]
        v = await f.voucher(db, pid, "REDHALF", discount={
            "type": "PERCENT", "percent_off": 50, "effect": "APPLY_TO_ITEMS"})
        await f.rule(db, pid, v.id, "voucher", {"logic": ""}, applicable_to={
            "included": [{"object": "products_collection",
                          "id": made["c"]["productCollection"]["id"]}]})
        return product

    async def test_product_changes_show_without_restarting_definitions(
        self, tenant, db
    ) -> None:
        api, pid = tenant.api, tenant.project_id
        product = await self._reds(api, db, pid)
        cart = {"items": [{"productId": product, "quantity": 2}]}
        first = await validate(api, code("REDHALF"), order=cart)
        assert first["order"] == {"totalAmount": 1000, "totalDiscountAmount": 1000}
        definitions, lines = caches.CACHE.misses, caches.LINES.misses
        again = await validate(api, code("REDHALF"), order=cart)
        assert again == first
        assert (caches.CACHE.misses, caches.LINES.misses) == (definitions, lines)

        await api("mutation($id: ID!) { updateProduct(input: {id: $id, price: 1500}) "
                  "{ errors { code } } }", id=product)
        repriced = await validate(api, code("REDHALF"), order=cart)
        assert repriced["order"] == {"totalAmount": 1500, "totalDiscountAmount": 1500}

        await api('mutation($id: ID!) { updateProduct(input: {id: $id, metadata: {color: "blue"}})'
                  " { errors { code } } }", id=product)
        left = await validate(api, code("REDHALF"), order=cart)
        assert left["order"] == {"totalAmount": 3000, "totalDiscountAmount": 0}
        assert caches.CACHE.misses == definitions  # products only: definitions kept
        assert caches.LINES.misses == lines + 2

    async def test_changes_from_another_process_and_late_products(
        self, tenant, db, database_url
    ) -> None:
        api, pid = tenant.api, tenant.project_id
        product = await self._reds(api, db, pid)
        late = {"items": [{"sourceId": "late", "quantity": 1, "price": 400}]}
        unknown = await validate(api, code("REDHALF"), order=late)
        assert unknown["order"]["totalDiscountAmount"] == 0  # no such product (yet)

        other = Database.from_url(database_url, pool_size=1)  # "another process"
        try:
            async with other.write() as s:
                from app.db.catalog import Product  # noqa: PLC0415
                await s.execute(sa.update(Product).where(Product.id == product).values(
                    price=3000, updated_at=utcnow()))
                s.add(Product(id="prod_late", project_id=pid, source_id="late", name="Late",
                              price=999, attributes=[], metadata_={"color": "red"}))
        finally:
            await other.dispose()
        cart = {"items": [{"productId": product, "quantity": 1}]}
        assert (await validate(api, code("REDHALF"), order=cart))["order"] == {
            "totalAmount": 1500, "totalDiscountAmount": 1500}
        found = await validate(api, code("REDHALF"), order=late)
        assert found["order"] == {"totalAmount": 200, "totalDiscountAmount": 200}

    async def test_skus_and_static_members(self, tenant, db) -> None:
        api, pid = tenant.api, tenant.project_id
        made = await api("""mutation {
          p: createProduct(input: {name: "Shoe", sourceId: "shoe", price: 5000}) {
            product { id } }
        }""")
        product = made["p"]["product"]["id"]
        sku = (await api("""mutation($p: ID!) { createSku(input: {productId: $p,
            sourceId: "shoe-42", price: 4000}) { sku { id } } }""", p=product))["createSku"]
        sku_id = sku["sku"]["id"]
        picks = (await api("""mutation { createProductCollection(input: {name: "Picks",
            type: STATIC}) { productCollection { id } } }"""))
        picks_id = picks["createProductCollection"]["productCollection"]["id"]
        v = await f.voucher(db, pid, "PICKS", discount={
            "type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ITEMS"})
        await f.rule(db, pid, v.id, "voucher", {"logic": ""}, applicable_to={
            "included": [{"object": "products_collection", "id": picks_id}]})
        cart = {"items": [{"skuId": sku_id, "quantity": 1}, {"sourceId": "shoe-42",
                                                              "quantity": 1}]}
        before = await validate(api, code("PICKS"), order=cart)
        assert before["order"] == {"totalAmount": 8000, "totalDiscountAmount": 0}

        await api("""mutation($c: ID!, $s: ID!) { updateProductCollection(input: {id: $c,
            products: [{object: "sku", id: $s}]}) { errors { code } } }""", c=picks_id, s=sku_id)
        member = await validate(api, code("PICKS"), order=cart)
        assert member["order"] == {"totalAmount": 7200, "totalDiscountAmount": 800}

        await api("""mutation($s: ID!) { updateSku(input: {id: $s, price: 3000})
            { errors { code } } }""", s=sku_id)
        repriced = await validate(api, code("PICKS"), order=cart)
        assert repriced["order"] == {"totalAmount": 5400, "totalDiscountAmount": 600}
