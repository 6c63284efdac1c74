"""W4: one validateStack with autoApply over 1,000 and 10,000 active promotion tiers.

    python bench/autoapply_bench.py [--backend sqlite|postgresql|both] [--seconds 10] [--quick]

Each size gets a fresh database with N PROMOTION campaigns of one tier each. The same ten
tiers apply to the benchmark cart at every size (five order-level amounts off, five item
percentages on cart products); the others cannot: item discounts on products the cart does
not hold (a catalog of 5,000 products), `order.amount` floors above the cart,
customer-metadata audiences the customer is not in, windows that have ended. The request
sends one 10 % coupon, a 10-line cart and a customer, with `autoApply: { promotions: true }`:
the service adds the applicable tiers (as many as the stacking rules allow: five applicable
redeemables by default, so the coupon and the four best tiers) in the same call.
The service runs as a uvicorn process (GraphiQL off); wrk drives it (bench/wrk.py).
Targets: throughput at 1,000 >= 0.25 x F-GQL; cost(10,000) <= 2 x cost(1,000).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/..._bench.py`

from bench.harness import (  # noqa: E402
    PUBLISHABLE,
    SECRET,
    drive,
    drop_database,
    free_port,
    make_database,
    peak_rss_kb,
    start_server,
    stop_server,
)

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) { valid
  order { totalAmount } redeemables { id status autoApplied } } }"""
APPLYING = 10


async def seed(url: str, tiers: int) -> dict[str, Any]:
    from app.db.campaigns import Campaign, PromotionTier
    from app.db.catalog import Product
    from app.db.customers import Customer
    from app.db.ids import new_id
    from app.db.rules import ValidationRule, ValidationRuleAssignment
    from app.db.session import Database
    from app.db.vouchers import Voucher
    from app.services import projects

    db = Database.from_url(url, pool_size=2)
    boot = await projects.ensure_sandbox(
        db, currency="USD", time_zone="UTC", secret_key=SECRET, publishable_key=PUBLISHABLE
    )
    pid = boot.project.id
    now = datetime.now(UTC)
    products = [Product(id=new_id("prod"), project_id=pid, source_id=f"p{n}", name=f"P{n}",
                        price=1000 + n % 50 * 100, attributes=[], metadata_={})
                for n in range(5000)]
    cart_products = products[:10]
    rows: list[Any] = []
    for n in range(tiers):
        camp = Campaign(
            id=new_id("camp"), project_id=pid, name=f"c{n}", campaign_type="PROMOTION",
            type="STANDALONE", vouchers_count=0, active=True, join_once=False, auto_join=False,
            creation_status="DONE", redemptions_count=0, discounted_amount=0, orders_amount=0,
            metadata_={},
        )
        discount: dict[str, Any] = {"type": "AMOUNT", "amount_off": 100 + n % 400}
        rule: dict[str, Any] | None = None
        applicable: dict[str, Any] | None = None
        end = None
        bucket = n % 100
        if n < APPLYING:
            if n % 2:
                discount = {"type": "PERCENT", "percent_off": 5, "effect": "APPLY_TO_ITEMS"}
                applicable = {"included": [{"object": "product",
                                            "id": cart_products[n].id}]}
        elif bucket < 60:  # item discount on a product the cart does not hold
            discount = {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ITEMS"}
            applicable = {"included": [{"object": "product",
                                        "id": products[10 + n % 4990].id}]}
        elif bucket < 75:
            rule = {"1": {"name": "order.amount", "conditions": {"$more_than": [10**7]}},
                    "logic": "1"}
        elif bucket < 90:
            rule = {"1": {"name": "customer.metadata", "property": "tier",
                          "conditions": {"$is": [f"tier-{n % 7}"]}}, "logic": "1"}
        else:
            end = now - timedelta(days=1)
        tier = PromotionTier(
            id=new_id("promo"), project_id=pid, campaign_id=camp.id, name=f"t{n}",
            action={"discount": discount}, hierarchy=1, active=True, expiration_date=end,
            redeemed_quantity=0, discounted_amount=0, orders_amount=0, metadata_={},
        )
        rows += [camp, tier]
        if rule is not None or applicable is not None:
            vr = ValidationRule(id=new_id("val"), project_id=pid, name=f"r{n}",
                                rules=rule or {}, applicable_to=applicable)
            rows += [vr, ValidationRuleAssignment(
                id=new_id("asgm"), project_id=pid, rule_id=vr.id,
                related_object_type="promotion_tier", related_object_id=tier.id)]
    customer = Customer(id=new_id("cust"), project_id=pid, source_id="bench-customer",
                        metadata_={"tier": "none"})
    coupon = Voucher(
        id=new_id("v"), project_id=pid, code="TENOFF", type="DISCOUNT_VOUCHER",
        discount={"type": "PERCENT", "percent_off": 10}, gift_amount=0, gift_balance=0,
        redemption_quantity=None, redeemed_quantity=0, redeemed_amount=0, active=True,
        is_referral_code=False, metadata_={},
    )
    async with db.write() as s:
        s.add_all(products)
        s.add_all([customer, coupon])
        await s.flush()
        for start_at in range(0, len(rows), 2000):
            s.add_all(rows[start_at:start_at + 2000])
            await s.flush()
    await db.dispose()
    return {"cart": [p.id for p in cart_products]}


def body(seeded: dict[str, Any]) -> dict[str, Any]:
    return {"query": VALIDATE, "variables": {"i": {
        "redeemables": [{"object": "VOUCHER", "id": "TENOFF"}],
        "order": {"items": [{"productId": p, "quantity": 1 + n % 3}
                            for n, p in enumerate(seeded["cart"])]},
        "customer": {"sourceId": "bench-customer"},
        "autoApply": {"promotions": True},
    }}}


def run_size(backend: str, size: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url, raw = make_database(backend, Path(tmp))
        try:
            seeded = asyncio.run(seed(url, size))
            port = free_port()
            server = start_server(url, port)
            try:
                floor = drive(port, {"query": "{ __typename }"}, seconds, 16)
                work = drive(port, body(seeded), seconds, 16)
                rss_kb = peak_rss_kb(server.pid)
            finally:
                stop_server(server)
        finally:
            drop_database(backend, raw)
    return {"backend": backend, "tiers": size, "floor": floor, "work": work, "rss_kb": rss_kb}


def growth(small: dict[str, Any], large: dict[str, Any]) -> float:
    """cost(large) / cost(small), each cost normalised by its own run's P0 throughput."""
    return (small["work"]["rps"] / small["floor"]["rps"]) / (
        large["work"]["rps"] / large["floor"]["rps"])


def w4_rows(backend: str, seconds: float, sizes: list[int],
            floors: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The W4 rows of `python -m bench` (beside that run's F-GQL)."""
    runs = [run_size(backend, n, seconds) for n in sizes]
    return w4_table(backend, runs, floors), runs


def w4_table(backend: str, runs: list[dict[str, Any]],
             floors: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.__main__ import sized_rows

    return sized_rows(
        backend, runs, floors, name="W4", size="tiers", min_ratio=0.25, max_growth=2.0,
        growth=growth,
        label=lambda r: f"W4 validateStack autoApply, {r['tiers']:,} tiers ({APPLYING} apply), "
                        "16 conns")


def main() -> None:
    """`python bench/autoapply_bench.py [args]` = `python -m bench --only w4 [args]`."""
    from bench.__main__ import main as bench_main

    sys.exit(bench_main(["--only", "w4", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
