"""Qualification over 1,000 and 10,000 active campaigns, beside the trivial-query floor.

    python bench/qualification_bench.py [--backend sqlite|postgresql|both] [--seconds 10]
                                        [--sizes 1000 10000] [--quick]

Each size gets a fresh database with N PROMOTION campaigns of one tier each and mixed rules,
about 1 % of which qualify for the benchmark cart and customer:
  55 % item discounts on products the cart does not hold (a catalog of 5,000 products),
  15 % `order.amount` floors above the cart, 15 % customer-metadata audiences the customer
  is not in, 10 % outside their date window, 4 % expiring or later-starting windows that still
  qualify-check, 1 % that apply (order-level or on a cart product).
The service runs as a uvicorn process (GraphiQL off); a separate process drives it.
Targets: cost(10,000) <= 3 x cost(1,000); throughput at 1,000 >= 20 % of F-GQL.
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

QUALIFY = """query($i: QualificationInput!) { qualifications(input: $i) { totalCount
  edges { node { id order { totalAmount } } } } }"""


async def seed(url: str, campaigns: int) -> dict[str, Any]:
    from app.db.campaigns import Campaign, PromotionTier
    from app.db.catalog import Product
    from app.db.customers import Customer
    from app.db.ids import new_id
    from app.db.rules import ValidationRule, ValidationRuleAssignment
    from app.db.session import Database
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
    qualifying = 0
    for n in range(campaigns):
        camp = Campaign(
            id=new_id("camp"), project_id=pid, name=f"c{n}", campaign_type="PROMOTION",
            type="STANDALONE", vouchers_count=0, active=True, join_once=False, auto_join=False,
            creation_status="DONE", redemptions_count=0, discounted_amount=0, orders_amount=0,
            metadata_={},
        )
        bucket = n % 100
        discount: dict[str, Any] = {"type": "AMOUNT", "amount_off": 100 + n % 400}
        rule: dict[str, Any] | None = None
        applicable: dict[str, Any] | None = None
        start = end = None
        if bucket < 55:  # item discount on a product the cart does not hold
            discount = {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ITEMS"}
            applicable = {"included": [{"object": "product",
                                        "id": products[10 + n % 4990].id}]}
        elif bucket < 70:
            rule = {"1": {"name": "order.amount", "conditions": {"$more_than": [10**7]}},
                    "logic": "1"}
        elif bucket < 85:
            rule = {"1": {"name": "customer.metadata", "property": "tier",
                          "conditions": {"$is": [f"tier-{n % 7}"]}}, "logic": "1"}
        elif bucket < 95:
            end = now - timedelta(days=1)
        elif bucket < 99:
            start, end = now - timedelta(days=1), now - timedelta(seconds=1)
        else:
            qualifying += 1
            if n % 2:
                discount = {"type": "PERCENT", "percent_off": 5, "effect": "APPLY_TO_ITEMS"}
                applicable = {"included": [{"object": "product",
                                            "id": cart_products[n % 10].id}]}
        tier = PromotionTier(
            id=new_id("promo"), project_id=pid, campaign_id=camp.id, name=f"t{n}",
            action={"discount": discount}, hierarchy=1, active=True, start_date=start,
            expiration_date=end, redeemed_quantity=0, discounted_amount=0, orders_amount=0,
            metadata_={},
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
    async with db.write() as s:
        s.add_all(products)
        s.add(customer)
        await s.flush()
        for start_at in range(0, len(rows), 2000):
            s.add_all(rows[start_at:start_at + 2000])
            await s.flush()
    await db.dispose()
    return {"cart": [p.id for p in cart_products], "qualifying": qualifying}


def run_size(backend: str, size: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url, raw = make_database(backend, Path(tmp))
        try:
            seeded = asyncio.run(seed(url, size))
            port = free_port()
            server = start_server(url, port)
            try:
                floor = drive(port, {"query": "{ __typename }"}, seconds, 16)
                body = {"query": QUALIFY, "variables": {"i": {
                    "customer": {"sourceId": "bench-customer"},
                    "order": {"items": [{"productId": p, "quantity": 1} for p in seeded["cart"]]},
                    "first": 10,
                }}}
                work = drive(port, body, seconds, 16)
                rss_kb = peak_rss_kb(server.pid)
            finally:
                stop_server(server)
        finally:
            drop_database(backend, raw)
    return {"backend": backend, "campaigns": size, "qualifying": seeded["qualifying"],
            "floor": floor, "work": work, "rss_kb": rss_kb}


def growth(small: dict[str, Any], large: dict[str, Any]) -> float:
    """cost(large) / cost(small), each cost normalised by its own run's F-GQL throughput."""
    return (small["work"]["rps"] / small["floor"]["rps"]) / (
        large["work"]["rps"] / large["floor"]["rps"])


def main() -> None:
    """`python bench/qualification_bench.py [args]` = `python -m bench --only w2 [args]`."""
    from bench.__main__ import main as bench_main

    sys.exit(bench_main(["--only", "w2", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
