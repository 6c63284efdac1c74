"""Stacked validation and hot-code redemption, each beside its floor, on SQLite and PostgreSQL.

    python bench/stack_bench.py [--backend sqlite|postgresql|both] [--seconds 10] [--quick]

For each backend it seeds a fresh database (1,000 active promotion tiers, a 10-product
catalog, a coupon, a gift card), starts the service as a real uvicorn process (GraphiQL off),
and drives it over HTTP from a separate process:

- F-GQL: `{ __typename }` with the secret key (parse/validation caches on, auth included).
- W1: validateStack with 3 redeemables (coupon, promotion tier, gift card) on a 10-line cart.
- W3: 500 concurrent redeemStack attempts on one code limited to 100 (exactly 100 must win),
  beside F-DB: the same lock-check-update-insert done by raw asyncpg / aiosqlite transactions.

`measure(..., extras=True)` (what `python -m bench` calls) adds F-HTTP (bench/floor_app.py
echoing W1's body), W1 and F-GQL with one client, the W3 replay storm (same bodies, same
idempotency keys; rows are counted before and after), a 1-client redemption beside a 1-client
raw transaction, and the server's peak RSS (VmHWM).

PostgreSQL: PROMOGATE_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/test) is the
server; a database is created for the run and dropped after.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/stack_bench.py`

from bench.harness import (  # noqa: E402
    PUBLISHABLE,
    SECRET,
    drive,
    drop_database,
    free_port,
    make_database,
    peak_rss_kb,
    process_tree_cpu,
    start_floor_server,
    start_gql_floor_server,
    start_server,
    stop_server,
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


async def _hot_code(url: str, code: str, limit: int | None) -> str:
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


async def raw_single_pg(dsn: str, voucher_id: str, count: int) -> dict[str, Any]:
    """One client, `count` sequential lock-check-update-insert transactions: ms per txn."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    times: list[float] = []
    try:
        for n in range(count):
            started = time.perf_counter()
            async with conn.transaction():
                row = await conn.fetchrow(
                    "SELECT redeemed_quantity, redemption_quantity FROM vouchers WHERE id = $1 "
                    "FOR UPDATE", voucher_id)
                if row["redemption_quantity"] is None or (
                        row["redeemed_quantity"] < row["redemption_quantity"]):
                    await conn.execute(
                        "UPDATE vouchers SET redeemed_quantity = redeemed_quantity + 1 "
                        "WHERE id = $1", voucher_id)
                    await conn.execute(
                        "INSERT INTO redemptions (id, project_id, result, status, "
                        "related_object_type, voucher_id, amount, gift_credits, order_amount, "
                        "metadata, created_at) SELECT $1, project_id, 'SUCCESS', 'SUCCEEDED', "
                        "'voucher', id, 100, 0, 5000, '{}', now() FROM vouchers WHERE id = $2",
                        f"r_one{n:022d}", voucher_id)
            times.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return _latency(times)


async def raw_single_sqlite(path: str, voucher_id: str, count: int) -> dict[str, Any]:
    import aiosqlite

    times: list[float] = []
    async with aiosqlite.connect(path, isolation_level=None, timeout=60) as conn:
        for n in range(count):
            started = time.perf_counter()
            await conn.execute("BEGIN IMMEDIATE")
            cur = await conn.execute(
                "SELECT redeemed_quantity, redemption_quantity FROM vouchers WHERE id = ?",
                (voucher_id,))
            done, limit = await cur.fetchone()  # type: ignore[misc]
            if limit is None or done < limit:
                await conn.execute(
                    "UPDATE vouchers SET redeemed_quantity = redeemed_quantity + 1 WHERE id = ?",
                    (voucher_id,))
                await conn.execute(
                    "INSERT INTO redemptions (id, project_id, result, status, "
                    "related_object_type, voucher_id, amount, gift_credits, order_amount, "
                    "metadata, created_at) SELECT ?, project_id, 'SUCCESS', 'SUCCEEDED', "
                    "'voucher', id, 100, 0, 5000, '{}', CURRENT_TIMESTAMP FROM vouchers "
                    "WHERE id = ?", (f"r_one{n:022d}", voucher_id))
            await conn.execute("COMMIT")
            times.append(time.perf_counter() - started)
    return _latency(times)


def _latency(times: list[float]) -> dict[str, Any]:
    times.sort()
    return {"requests": len(times), "rps": len(times) / sum(times),
            "p50": times[len(times) // 2] * 1000, "p95": times[int(len(times) * 0.95)] * 1000,
            "p99": times[int(len(times) * 0.99)] * 1000}


async def redemption_counts(backend: str, raw: str, voucher_id: str) -> dict[str, int]:
    """Rows in `redemptions` (all), SUCCESS rows for the voucher, its redeemed_quantity."""
    sql = ["SELECT count(*) FROM redemptions",
           "SELECT count(*) FROM redemptions WHERE voucher_id = {p} AND result = 'SUCCESS'",
           "SELECT redeemed_quantity FROM vouchers WHERE id = {p}"]
    values: list[int] = []
    if backend == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(raw)
        try:
            for n, q in enumerate(sql):
                args = (voucher_id,) if n else ()
                values.append(int(await conn.fetchval(q.format(p="$1"), *args)))
        finally:
            await conn.close()
    else:
        import aiosqlite

        async with aiosqlite.connect(raw, timeout=60) as conn:
            for n, q in enumerate(sql):
                cur = await conn.execute(q.format(p="?"), (voucher_id,) if n else ())
                values.append(int((await cur.fetchone())[0]))  # type: ignore[index]
    return dict(zip(("rows", "successes", "redeemed_quantity"), values, strict=True))


# --- the run ------------------------------------------------------------------------------

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) { valid order { totalAmount }
  redeemables { status } } }"""
REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id } errors { code } } }"""
TRIVIAL = {"query": "{ __typename }"}
FLOOR_GQL = {"query": "{ hello }"}


def cart_of(seeded: Seeded) -> dict[str, Any]:
    return {"items": [{"productId": p, "quantity": 1 + n % 3}
                      for n, p in enumerate(seeded.products)]}


def w1_body(seeded: Seeded) -> dict[str, Any]:
    return {"query": VALIDATE, "variables": {"i": {
        "redeemables": [
            {"object": "VOUCHER", "id": "TENOFF"},
            {"object": "PROMOTION_TIER", "id": seeded.tier_id},
            {"object": "VOUCHER", "id": "GIFTCARD", "gift": {"credits": 500}},
        ],
        "order": cart_of(seeded),
    }}}


def redeem_body(seeded: Seeded, code: str, key: str | None) -> dict[str, Any]:
    i: dict[str, Any] = {"redeemables": [{"object": "VOUCHER", "id": code}],
                         "order": cart_of(seeded)}
    if key is not None:
        i["idempotencyKey"] = key
    return {"query": REDEEM, "variables": {"i": i}}


def floors(seconds: float) -> dict[str, Any]:
    """F-HTTP (bare Starlette echoing a W1-sized body) and F-GQL (bare Strawberry `{ hello }`),
    each in its own uvicorn process, at 16 connections and F-GQL also at 1; all driven by wrk.
    """
    from app.db.ids import new_id

    body = w1_body(Seeded(new_id("promo"), [new_id("prod") for _ in range(10)]))
    out: dict[str, Any] = {}
    port = free_port()
    server = start_floor_server(port)
    try:
        out["f_http"] = drive(port, body, seconds, 16, token=None)
    finally:
        stop_server(server)
    port = free_port()
    server = start_gql_floor_server(port)
    try:
        out["f_gql"] = drive(port, FLOOR_GQL, seconds, 16, token=None)
        out["f_gql_1"] = drive(port, FLOOR_GQL, seconds, 1, token=None)
    finally:
        stop_server(server)
    return out


def measure(backend: str, seconds: float, promotions: int = 1000, *, attempts: int = 500,
            limit: int = 100, extras: bool = False) -> dict[str, Any]:
    """One fresh database and one service process for the trivial query (P0), W1 and W3, then
    F-DB (the floors are measured apart, by `floors`).

    With `extras`: W1 with one client, the W3 replay storm (same bodies, same idempotency
    keys), a sequential single-client redemption on an unlimited code beside the raw single
    transaction, and the server's peak RSS.
    """
    out: dict[str, Any] = {"backend": backend, "promotions": promotions, "attempts": attempts,
                           "limit": limit}
    with tempfile.TemporaryDirectory() as tmp:
        url, raw = make_database(backend, Path(tmp))
        try:
            seeded = asyncio.run(_seed(url, promotions))
            body = w1_body(seeded)
            port = free_port()
            server = start_server(url, port)
            try:
                out["trivial"] = drive(port, TRIVIAL, seconds, 16)
                out["w1"] = drive(port, body, seconds, 16)
                if extras:
                    out["w1_1"] = drive(port, body, seconds, 1)
                # F-GQL storm: the same number of requests at once, doing nothing: what the
                # HTTP + GraphQL stack alone costs to drain W3's storm with this client.
                out["f_gql_storm"] = storm(port, [TRIVIAL] * attempts)
                hot_id = asyncio.run(_hot_code(url, "HOT", limit))
                bodies = [redeem_body(seeded, "HOT", f"k{n}") for n in range(attempts)]
                out["w3"] = storm(port, bodies)
                out["w3_counts"] = asyncio.run(redemption_counts(backend, raw, hot_id))
                if extras:
                    out["replay"] = storm(port, bodies)
                    out["replay_counts"] = asyncio.run(redemption_counts(backend, raw, hot_id))
                    asyncio.run(_hot_code(url, "SEQ", None))
                    out["redeem_1"] = drive(port, redeem_body(seeded, "SEQ", None), seconds, 1)
                    out["rss_kb"] = peak_rss_kb(server.pid)
            finally:
                stop_server(server)
            raw_id = asyncio.run(_hot_code(url, "RAW", limit))
            if backend == "postgresql":
                out["f_db"] = asyncio.run(raw_drain_pg(raw, raw_id, attempts, limit))
            else:
                out["f_db"] = asyncio.run(raw_drain_sqlite(raw, raw_id, attempts))
            if extras:
                one_id = asyncio.run(_hot_code(url, "RAWONE", None))
                single = raw_single_pg if backend == "postgresql" else raw_single_sqlite
                out["f_db_1"] = asyncio.run(single(raw, one_id, 300))
        finally:
            drop_database(backend, raw)
    return out


def _drive_with_cpu(server: Any, port: int, body: dict[str, Any], seconds: float,
                    connections: int) -> dict[str, Any]:
    """`drive`, plus the cores the server's processes and the load driver used meanwhile."""
    import resource

    server_before = process_tree_cpu(server.pid)
    own = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is waited for: counted here
    began = time.perf_counter()
    result = drive(port, body, seconds, connections)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    driver = (after.ru_utime + after.ru_stime) - (own.ru_utime + own.ru_stime)
    result["server_cores"] = (process_tree_cpu(server.pid) - server_before) / wall
    result["driver_cores"] = driver / wall
    return result


def measure_workers(backend: str, seconds: float, workers: int = 2, promotions: int = 1000,
                    *, attempts: int = 500, limit: int = 100) -> dict[str, Any]:
    """W1 (16 connections) against the service with one worker process, then with `workers`,
    on one seeded database in the same run, each with the cores its processes and wrk used;
    then W3 (exactly `limit` of `attempts` concurrent redemptions must win) against the
    several workers, which puts writers of different processes on one code."""
    out: dict[str, Any] = {"backend": backend, "workers": workers, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        url, raw = make_database(backend, Path(tmp))
        try:
            seeded = asyncio.run(_seed(url, promotions))
            body = w1_body(seeded)
            for n in (1, workers):
                port = free_port()
                server = start_server(url, port, workers=n)
                try:
                    drive(port, body, min(seconds, 2.0), 16)  # warm every worker's caches
                    out[f"w1_{n}w"] = _drive_with_cpu(server, port, body, seconds, 16)
                    if n == workers:
                        hot_id = asyncio.run(_hot_code(url, "HOT", limit))
                        bodies = [redeem_body(seeded, "HOT", f"k{i}") for i in range(attempts)]
                        out["w3"] = storm(port, bodies)
                        out["w3_counts"] = asyncio.run(redemption_counts(backend, raw, hot_id))
                finally:
                    stop_server(server)
        finally:
            drop_database(backend, raw)
    return out


def main() -> None:
    """`python bench/stack_bench.py [args]` = `python -m bench --only stack [args]`."""
    from bench.__main__ import main as bench_main

    sys.exit(bench_main(["--only", "stack", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
