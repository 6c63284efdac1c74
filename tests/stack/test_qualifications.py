"""qualifications through the HTTP API: scenarios, holders, bundles, sorting, paging, cache."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from app.db.base import utcnow
from app.db.campaigns import PromotionTier
from app.db.rules import ValidationRule
from app.db.session import Database
from tests.stack import factories as f

QUALIFY = """query($i: QualificationInput!) { qualifications(input: $i) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { object id held campaignId name
    order { totalAmount totalAppliedDiscountAmount }
    discount { appliedAmount } gift { credits balance }
    bundle { quantity missing { id quantity } }
    items { index productId price discountedPrice discountAmount } } }
} }"""

CART = {"items": [{"sourceId": "tee", "quantity": 2, "price": 2000},
                  {"sourceId": "cap", "quantity": 1, "price": 1000}]}


async def ids(api, **i):  # type: ignore[no-untyped-def]
    data = await api(QUALIFY, i={"order": CART, **i})
    return [e["node"]["id"] for e in data["qualifications"]["edges"]]


async def customer(api, source_id: str, **fields):  # type: ignore[no-untyped-def]
    data = await api(
        "mutation($i: UpsertCustomerInput!) { createCustomer(input: $i) { customer { id } } }",
        i={"sourceId": source_id, **fields},
    )
    return data["createCustomer"]["customer"]["id"]


class TestScenarios:
    async def test_all_returns_public_and_held_never_others(self, tenant, db) -> None:
        pid = tenant.project_id
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        tier = await f.tier(db, pid, promo.id, discount={"type": "AMOUNT", "amount_off": 300})
        generic = await f.campaign(db, pid, type="STANDALONE")
        await f.voucher(db, pid, "GENERIC", campaign_id=generic.id,
                        discount={"type": "PERCENT", "percent_off": 10})
        bulk = await f.campaign(db, pid, type="STATIC", name="bulk")
        alice = await customer(tenant.api, "alice")
        bob = await customer(tenant.api, "bob")
        await f.voucher(db, pid, "ALICE1", campaign_id=bulk.id, holder_id=alice,
                        discount={"type": "AMOUNT", "amount_off": 700})
        await f.voucher(db, pid, "BOB1", campaign_id=bulk.id, holder_id=bob,
                        discount={"type": "AMOUNT", "amount_off": 700})
        await f.voucher(db, pid, "UNPUBLISHED", campaign_id=bulk.id,
                        discount={"type": "AMOUNT", "amount_off": 700})
        await f.voucher(db, pid, "CARD", gift=5000, holder_id=alice)

        anonymous = await ids(tenant.api)
        assert sorted(anonymous) == sorted(["GENERIC", tier.id])
        for_alice = await ids(tenant.api, customer={"sourceId": "alice"})
        assert sorted(for_alice) == sorted(["GENERIC", tier.id, "ALICE1", "CARD"])
        wallet = await ids(tenant.api, customer={"sourceId": "alice"}, scenario="CUSTOMER_WALLET")
        assert sorted(wallet) == ["ALICE1", "CARD"]
        card = await tenant.api(QUALIFY, i={"order": CART, "customer": {"sourceId": "alice"},
                                            "scenario": "CUSTOMER_WALLET",
                                            "filter": {"resourceTypes": ["VOUCHER"]}})
        nodes = {e["node"]["id"]: e["node"] for e in card["qualifications"]["edges"]}
        assert nodes["CARD"]["gift"] == {"credits": 5000, "balance": 5000}
        assert nodes["CARD"]["held"] is True
        assert nodes["ALICE1"]["order"]["totalAmount"] == 4300  # priced alone

    async def test_inactive_expired_and_future_are_not_returned(self, tenant, db) -> None:
        pid = tenant.project_id
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        live = await f.tier(db, pid, promo.id, discount={"type": "AMOUNT", "amount_off": 1})
        await f.tier(db, pid, promo.id, active=False, discount={"type": "AMOUNT", "amount_off": 2})
        await f.tier(db, pid, promo.id, expiration_date=utcnow().replace(year=2020),
                     discount={"type": "AMOUNT", "amount_off": 3})
        await f.tier(db, pid, promo.id, start_date=utcnow().replace(year=2099),
                     discount={"type": "AMOUNT", "amount_off": 4})
        assert await ids(tenant.api) == [live.id]

    async def test_audience_only_judges_customer_rules(self, tenant, db) -> None:
        pid = tenant.project_id
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        vip = await f.tier(db, pid, promo.id, discount={"type": "AMOUNT", "amount_off": 100})
        await f.rule(db, pid, vip.id, "promotion_tier", {
            "1": {"name": "customer.metadata", "property": "tier", "conditions": {"$is": ["gold"]}},
            "2": {"name": "order.amount", "conditions": {"$more_than": [1_000_000]}},
            "logic": "1 and 2",
        })
        await customer(tenant.api, "gold", metadata={"tier": "gold"})
        await customer(tenant.api, "plain", metadata={"tier": "none"})
        assert await ids(tenant.api, customer={"sourceId": "gold"}) == []
        assert await ids(tenant.api, customer={"sourceId": "gold"},
                         scenario="AUDIENCE_ONLY") == [vip.id]
        assert await ids(tenant.api, customer={"sourceId": "plain"},
                         scenario="AUDIENCE_ONLY") == []

    async def test_products_discount_gives_strike_through_prices(self, tenant, db) -> None:
        pid = tenant.project_id
        await tenant.api('mutation { createProduct(input: {name: "Tee", sourceId: "tee", '
                         'price: 2000}) { errors { code } } }')
        product = (await tenant.api('{ product(sourceId: "tee") { id } }'))["product"]["id"]
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        tees = await f.tier(db, pid, promo.id, discount={
            "type": "PERCENT", "percent_off": 25, "effect": "APPLY_TO_ITEMS"})
        await f.rule(db, pid, tees.id, "promotion_tier", {}, applicable_to={
            "included": [{"object": "product", "id": product}]})
        await f.tier(db, pid, promo.id, discount={"type": "AMOUNT", "amount_off": 100})
        cart = {"items": [{"productId": product, "quantity": 2},
                          {"sourceId": "cap", "quantity": 1, "price": 1000}]}
        data = await tenant.api(QUALIFY, i={"order": cart, "scenario": "PRODUCTS_DISCOUNT"})
        edges = data["qualifications"]["edges"]
        assert [e["node"]["id"] for e in edges] == [tees.id]
        assert edges[0]["node"]["items"] == [{
            "index": 0, "productId": product, "price": 2000, "discountedPrice": 1500,
            "discountAmount": 1000,
        }]
        everything = await tenant.api(QUALIFY, i={"order": cart})
        assert everything["qualifications"]["totalCount"] == 2

    async def test_product_changes_show_on_the_next_call(self, tenant, db) -> None:
        pid = tenant.project_id
        made = await tenant.api('mutation { createProduct(input: {name: "Tee", sourceId: "tee",'
                                ' price: 2000}) { product { id } } }')
        product = made["createProduct"]["product"]["id"]
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        tees = await f.tier(db, pid, promo.id, discount={
            "type": "PERCENT", "percent_off": 25, "effect": "APPLY_TO_ITEMS"})
        await f.rule(db, pid, tees.id, "promotion_tier", {}, applicable_to={
            "included": [{"object": "product", "id": product}]})
        cart = {"items": [{"productId": product, "quantity": 2}]}

        async def items():  # type: ignore[no-untyped-def]
            data = await tenant.api(QUALIFY, i={"order": cart, "scenario": "PRODUCTS_DISCOUNT"})
            return [e["node"]["items"] for e in data["qualifications"]["edges"]]

        assert await items() == [[{"index": 0, "productId": product, "price": 2000,
                                   "discountedPrice": 1500, "discountAmount": 1000}]]
        await tenant.api("mutation($id: ID!) { updateProduct(input: {id: $id, price: 4000}) "
                         "{ errors { code } } }", id=product)
        assert await items() == [[{"index": 0, "productId": product, "price": 4000,
                                   "discountedPrice": 3000, "discountAmount": 2000}]]

    async def test_bundle_with_missing_items(self, tenant, db) -> None:
        pid = tenant.project_id
        made = {}
        for name in ("tee", "cap"):
            data = await tenant.api(
                "mutation($i: CreateProductInput!) { createProduct(input: $i) "
                "{ product { id } } }", i={"name": name, "sourceId": name, "price": 1000})
            made[name] = data["createProduct"]["product"]["id"]
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        combo = await f.tier(db, pid, promo.id, discount={"type": "AMOUNT", "amount_off": 500})
        await f.rule(db, pid, combo.id, "promotion_tier", {}, bundle_rules={
            "items": [{"object": "product", "id": made["tee"], "quantity": 1},
                      {"object": "product", "id": made["cap"], "quantity": 1}], "limit": 1})
        tee_only = {"items": [{"productId": made["tee"], "quantity": 1}]}
        both = {"items": [{"productId": made["tee"], "quantity": 1},
                          {"productId": made["cap"], "quantity": 1}]}
        assert await ids(tenant.api, order=tee_only) == []  # ALL: the bundle must be met
        upsell = await tenant.api(QUALIFY, i={"order": tee_only, "scenario": "PRODUCTS"})
        node = upsell["qualifications"]["edges"][0]["node"]
        assert node["id"] == combo.id
        assert node["bundle"] == {"quantity": 0,
                                  "missing": [{"id": made["cap"], "quantity": 1}]}
        full = await tenant.api(QUALIFY, i={"order": both})
        assert [e["node"]["order"]["totalAmount"]
                for e in full["qualifications"]["edges"]] == [1500]
        nothing = {"items": [{"sourceId": "x", "quantity": 1, "price": 10}]}
        assert await ids(tenant.api, order=nothing, scenario="PRODUCTS") == []


class TestSortingAndPaging:
    async def test_best_deal_and_stable_pages(self, tenant, db) -> None:
        pid = tenant.project_id
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        tiers = [await f.tier(db, pid, promo.id, name=f"t{n}",
                              discount={"type": "AMOUNT", "amount_off": 100 * (n % 4 + 1)})
                 for n in range(7)]
        best = await tenant.api(QUALIFY, i={"order": CART, "sort": "BEST_DEAL", "first": 50})
        amounts = [e["node"]["discount"]["appliedAmount"]
                   for e in best["qualifications"]["edges"]]
        assert amounts == sorted(amounts, reverse=True) and len(amounts) == 7
        least = await tenant.api(QUALIFY, i={"order": CART, "sort": "LEAST_DEAL", "first": 50})
        assert [e["node"]["discount"]["appliedAmount"]
                for e in least["qualifications"]["edges"]] == sorted(amounts)

        seen: list[str] = []
        after = None
        for _ in range(4):
            page = (await tenant.api(QUALIFY, i={"order": CART, "first": 3, "after": after}))[
                "qualifications"]
            seen += [e["node"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        newest_first = [t.id for t in reversed(tiers)]
        assert seen == newest_first

    async def test_first_over_50_is_rejected(self, tenant) -> None:
        errors = await tenant.api.errors(QUALIFY, i={"order": CART, "first": 51})
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


class TestCache:
    async def test_changes_show_on_the_next_call_even_from_another_process(
        self, tenant, db, database_url
    ) -> None:
        pid = tenant.project_id
        promo = await f.campaign(db, pid, campaign_type="PROMOTION")
        tier = await f.tier(db, pid, promo.id, discount={"type": "AMOUNT", "amount_off": 100})
        assert await ids(tenant.api) == [tier.id]
        other = Database.from_url(database_url, pool_size=1)  # "another process"
        try:
            async with other.write() as s:
                await s.execute(sa.update(PromotionTier).where(PromotionTier.id == tier.id)
                                .values(active=False, updated_at=utcnow()))
            assert await ids(tenant.api) == []
            async with other.write() as s:
                await s.execute(sa.update(PromotionTier).where(PromotionTier.id == tier.id)
                                .values(active=True, updated_at=utcnow()))
            assert await ids(tenant.api) == [tier.id]
            rule = await f.rule(db, pid, tier.id, "promotion_tier", {
                "1": {"name": "order.amount", "conditions": {"$more_than": [1]}}, "logic": "1"})
            assert await ids(tenant.api) == [tier.id]
            async with other.write() as s:
                await s.execute(sa.update(ValidationRule).where(ValidationRule.id == rule.id)
                                .values(rules={"1": {"name": "order.amount",
                                                     "conditions": {"$more_than": [999_999]}},
                                               "logic": "1"}, updated_at=utcnow()))
            assert await ids(tenant.api) == []
        finally:
            await other.dispose()

    async def test_statement_count_does_not_grow_with_campaigns(self, make_tenant, db) -> None:
        counts = []
        for size in (5, 60):
            t = await make_tenant()
            promo = await f.campaign(db, t.project_id, campaign_type="PROMOTION")
            for n in range(size):
                tier = await f.tier(db, t.project_id, promo.id,
                                    discount={"type": "AMOUNT", "amount_off": 10 + n})
                await f.rule(db, t.project_id, tier.id, "promotion_tier", {
                    "1": {"name": "order.amount", "conditions": {"$more_than": [n]}},
                    "logic": "1"})
            await ids(t.api)  # warm the cache
            statements: list[str] = []

            def count(*args, _into=statements):  # type: ignore[no-untyped-def]
                _into.append(args[2])

            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            try:
                assert len(await ids(t.api, first=50)) == min(size, 50)
            finally:
                event.remove(db.engine.sync_engine, "before_cursor_execute", count)
            counts.append(len([s for s in statements if not s.startswith(("BEGIN", "ROLLBACK"))]))
        assert counts[0] == counts[1], counts

    async def test_publishable_key_may_qualify(self, tenant, db) -> None:
        promo = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        tier = await f.tier(db, tenant.project_id, promo.id,
                            discount={"type": "AMOUNT", "amount_off": 1})
        assert await ids(tenant.client_api) == [tier.id]


class TestCatalogVersion:
    async def test_redemptions_do_not_invalidate_but_management_does(self, tenant, db) -> None:
        from app.services.checkout.qualify import CACHE
        from tests.stack.test_redeem_stack import REDEEM

        promo = await f.campaign(db, tenant.project_id, campaign_type="PROMOTION")
        tier = await f.tier(db, tenant.project_id, promo.id,
                            discount={"type": "AMOUNT", "amount_off": 100})
        await ids(tenant.api)
        builds = CACHE.builds
        redeemed = await tenant.api(REDEEM, i={
            "redeemables": [{"object": "PROMOTION_TIER", "id": tier.id}], "order": CART})
        assert redeemed["redeemStack"]["errors"] == []
        assert await ids(tenant.api) == [tier.id]
        assert CACHE.builds == builds  # counters moved, the catalog did not
        await tenant.api('mutation { createCategory(input: {name: "new"}) { errors { code } } }')
        await ids(tenant.api)
        assert CACHE.builds == builds + 1
