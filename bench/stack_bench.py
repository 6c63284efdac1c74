"""Stacked validation and hot-code redemption, each beside its floor, on SQLite and PostgreSQL.

    python bench/stack_bench.py [--backend sqlite|postgresql|both] [--seconds 10] [--quick]

For each backend it seeds a fresh database (1,000 active promotion tiers, a 10-product
catalog, a coupon, a gift card), starts the service as a real uvicorn process (GraphiQL off),
and drives it over HTTP from a separate process:

- F-GQL: `{ __typename }` with the secret key (parse/validation caches on, auth included).
- W1: validateStack with 3 redeemables (coupon, promotion tier, gift card) on a 10-line cart.
- W3: 500 concurrent redeemStack attempts on one code limited to 100 (exactly 100 must win),
  beside F-DB: the same lock-check-update-insert done by raw asyncpg / aiosqlite transactions.

PostgreSQL: PROMOGATE_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/test) is the
server; a database is created for the run and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    PUBLISHABLE,
    SECRET,
    drive,
    drop_database,
    free_port,
    make_database,
    start_server,
    storm,
)

# --- seed ---------------------------------------------------------------------------------

@dataclass
class Seeded:
    tier_id: str
    products: list[str]


async def _seed(url: str, promotions: int) -> Seeded:
    from app.db.campaigns import Campaign, PromotionTier
    from app.db.catalog import Product
    from app.db.ids import new_id
    from app.db.session import Database
    from app.db.vouchers import Voucher, VoucherTransaction
    from app.services import projects

    db = Database.from_url(url, pool_size=2)
    boot = await projects.ensure_sandbox(
        db, currency="USD", time_zone="UTC", secret_key=SECRET, publishable_key=PUBLISHABLE
    )
    pid = boot.project.id
    async with db.write() as s:
        camp = Campaign(
            id=new_id("camp"), project_id=pid, name="Promotions", campaign_type="PROMOTION",
            type="STANDALONE", vouchers_count=0, active=True, join_once=False, auto_join=False,
            creation_status="DONE", redemptions_count=0, discounted_amount=0, orders_amount=0,
            metadata_={},
        )
        s.add(camp)
        await s.flush()
        tiers = [
            PromotionTier(
                id=new_id("promo"), project_id=pid, campaign_id=camp.id, name=f"tier {n}",
                action={"discount": {"type": "AMOUNT", "amount_off": 100 + n}}, hierarchy=n,
                active=True, redeemed_quantity=0, discounted_amount=0, orders_amount=0,
                metadata_={},
            )
            for n in range(promotions)
        ]
        s.add_all(tiers)
        products = [
            Product(id=new_id("prod"), project_id=pid, source_id=f"p{n}", name=f"P{n}",
                    price=1000 + n * 100, attributes=[], metadata_={})
            for n in range(10)
        ]
        s.add_all(products)
        s.add(Voucher(
            id=new_id("v"), project_id=pid, code="TENOFF", type="DISCOUNT_VOUCHER",
            discount={"type": "PERCENT", "percent_off": 10}, gift_amount=0, gift_balance=0,
            redemption_quantity=None, redeemed_quantity=0, redeemed_amount=0, active=True,
            is_referral_code=False, metadata_={},
        ))
        gift = Voucher(
            id=new_id("v"), project_id=pid, code="GIFTCARD", type="GIFT_VOUCHER",
            gift_amount=10**9, gift_balance=10**9, gift_effect="APPLY_TO_ORDER",
            redemption_quantity=None, redeemed_quantity=0, redeemed_amount=0, active=True,
            is_referral_code=False, metadata_={},
        )
        s.add(gift)
        await s.flush()
        s.add(VoucherTransaction(id=new_id("vtx"), project_id=pid, voucher_id=gift.id,
                                 type="CREDITS_ADDITION", amount=10**9, balance_after=10**9))
    await db.dispose()
    return Seeded(tier_id=tiers[promotions // 2].id, products=[p.id for p in products])


async def _hot_code(url: str, code: str, limit: int) -> str:
    import sqlalchemy as sa

    from app.db.ids import new_id
    from app.db.projects import Project
    from app.db.session import Database
    from app.db.vouchers import Voucher

    db = Database.from_url(url, pool_size=1)
    async with db.write() as s:
        pid = (await s.execute(sa.select(Project.id))).scalars().first()
        voucher = Voucher(
            id=new_id("v"), project_id=pid, code=code, type="DISCOUNT_VOUCHER",
            discount={"type": "AMOUNT", "amount_off": 100}, gift_amount=0, gift_balance=0,
            redemption_quantity=limit, redeemed_quantity=0, redeemed_amount=0, active=True,
            is_referral_code=False, metadata_={},
        )
        s.add(voucher)
    await db.dispose()
    return voucher.id


# --- raw SQL floor for the hot code -------------------------------------------------------

async def raw_drain_pg(dsn: str, voucher_id: str, attempts: int, limit: int) -> dict[str, Any]:
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=20, max_size=20)
    wins = 0

    async def one(n: int) -> None:
        nonlocal wins
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT redeemed_quantity, redemption_quantity FROM vouchers WHERE id = $1 "
                "FOR UPDATE", voucher_id)
            if row["redeemed_quantity"] >= row["redemption_quantity"]:
                return
            await conn.execute(
                "UPDATE vouchers SET redeemed_quantity = redeemed_quantity + 1 WHERE id = $1 "
                "AND redeemed_quantity + 1 <= redemption_quantity", voucher_id)
            await conn.execute(
                "INSERT INTO redemptions (id, project_id, result, status, related_object_type, "
                "voucher_id, amount, gift_credits, order_amount, metadata, created_at) "
                "SELECT $1, project_id, 'SUCCESS', 'SUCCEEDED', 'voucher', id, 100, 0, 5000, "
                "'{}', now() FROM vouchers WHERE id = $2", f"r_raw{n:022d}", voucher_id)
            wins += 1

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(attempts)))
    elapsed = time.perf_counter() - began
    await pool.close()
    return {"seconds": elapsed, "wins": wins}


async def raw_drain_sqlite(path: str, voucher_id: str, attempts: int) -> dict[str, Any]:
    import aiosqlite

    wins = 0
    began = time.perf_counter()
    async with aiosqlite.connect(path, isolation_level=None, timeout=60) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        for n in range(attempts):  # one writer at a time is SQLite's model
            await conn.execute("BEGIN IMMEDIATE")
            cur = await conn.execute(
                "SELECT redeemed_quantity, redemption_quantity FROM vouchers WHERE id = ?",
                (voucher_id,))
            done, limit = await cur.fetchone()  # type: ignore[misc]
            if done < limit:
                await conn.execute(
                    "UPDATE vouchers SET redeemed_quantity = redeemed_quantity + 1 WHERE id = ?",
                    (voucher_id,))
                await conn.execute(
                    "INSERT INTO redemptions (id, project_id, result, status, "
                    "related_object_type, voucher_id, amount, gift_credits, order_amount, "
                    "metadata, created_at) SELECT ?, project_id, 'SUCCESS', 'SUCCEEDED', "
                    "'voucher', id, 100, 0, 5000, '{}', CURRENT_TIMESTAMP FROM vouchers "
                    "WHERE id = ?", (f"r_raw{n:022d}", voucher_id))
                wins += 1
            await conn.execute("COMMIT")
    return {"seconds": time.perf_counter() - began, "wins": wins}


# --- the run ------------------------------------------------------------------------------

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) { valid order { totalAmount }
  redeemables { status } } }"""
REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id } errors { code } } }"""


def run_backend(backend: str, seconds: float, promotions: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url, raw = make_database(backend, Path(tmp))
        try:
            seeded = asyncio.run(_seed(url, promotions))
            port = free_port()
            server = start_server(url, port)
            try:
                floor = drive(port, {"query": "{ __typename }"}, seconds, 16)
                cart = {"items": [{"productId": p, "quantity": 1 + n % 3}
                                  for n, p in enumerate(seeded.products)]}
                body = {"query": VALIDATE, "variables": {"i": {
                    "redeemables": [
                        {"object": "VOUCHER", "id": "TENOFF"},
                        {"object": "PROMOTION_TIER", "id": seeded.tier_id},
                        {"object": "VOUCHER", "id": "GIFTCARD", "gift": {"credits": 500}},
                    ],
                    "order": cart,
                }}}
                w1 = drive(port, body, seconds, 16)
                rows.append({"workload": "F-GQL trivial query", "backend": backend, **floor})
                rows.append({
                    "workload": f"W1 validateStack 3 redeemables, 10 lines, {promotions} promos",
                    "backend": backend, **w1, "ratio": w1["rps"] / floor["rps"],
                    "target": ">= 0.50 of F-GQL",
                })
                asyncio.run(_hot_code(url, "HOT", 100))
                bodies = [{"query": REDEEM, "variables": {"i": {
                    "redeemables": [{"object": "VOUCHER", "id": "HOT"}], "order": cart,
                    "idempotencyKey": f"k{n}",
                }}} for n in range(500)]
                w3 = storm(port, bodies)
            finally:
                server.terminate()
                server.wait(10)
            raw_id = asyncio.run(_hot_code(url, "RAW", 100))
            if backend == "postgresql":
                floor_db = asyncio.run(raw_drain_pg(raw, raw_id, 500, 100))
            else:
                floor_db = asyncio.run(raw_drain_sqlite(raw, raw_id, 500))
            rows.append({"workload": "F-DB raw lock+update+insert x500", "backend": backend,
                         **floor_db})
            rows.append({
                "workload": "W3 500 concurrent redeemStack, limit 100", "backend": backend,
                **w3, "ratio": w3["seconds"] / floor_db["seconds"],
                "target": "exactly 100 wins; <= 2x F-DB",
            })
        finally:
            drop_database(backend, raw)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--promotions", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="3 s per measurement")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = [row for b in backends for row in run_backend(b, seconds, args.promotions)]
    for row in rows:
        if "rps" in row:
            line = (f"{row['workload']:<58} {row['backend']:<10} {row['rps']:8.1f} req/s  "
                    f"p50 {row['p50']:6.1f} ms  p95 {row['p95']:6.1f}  p99 {row['p99']:6.1f}  "
                    f"errors {row['errors']}")
        else:
            line = (f"{row['workload']:<58} {row['backend']:<10} {row['seconds']:8.2f} s   "
                    f"wins {row['wins']}")
        if "ratio" in row:
            line += f"  ratio {row['ratio']:.2f} (target {row['target']})"
        print(line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
