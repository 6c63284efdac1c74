"""Bulk code generation: one STATIC campaign of N unique codes, through the service layer.

    python bench/codegen_bench.py [--backend sqlite|postgresql|both] [--count 100000] [--floor]

`campaigns.create_campaign` stores the campaign and queues the background job (above 1,000
codes); the time is measured from that call until the job reports DONE, i.e. codes drawn,
inserted in batches of `async_actions.BATCH_SIZE` with conflict handling, progress and the
campaign counter updated per batch. Uniqueness is then checked with one COUNT(DISTINCT).

Beside it, the COPY floor (`--floor`, always on under `python -m bench`): the same number of
voucher rows, with the columns the service writes and codes pre-generated outside the timing,
loaded into a scratch table with the same columns and indexes (PostgreSQL: `CREATE TABLE ...
(LIKE vouchers INCLUDING ALL)` + asyncpg `copy_records_to_table`; SQLite: the vouchers DDL and
indexes under another name + one `executemany` transaction, same pragmas as the service).
On PostgreSQL `LIKE` copies no foreign keys, so the floor skips the four per-row foreign-key
checks (project, campaign, category, holder) the service's inserts pay; SQLite's keeps them.

PostgreSQL: PROMOGATE_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/test) is the
server; a database is created for the run and dropped after. SQLite uses a temporary file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.db.base import utcnow  # noqa: E402
from app.db.ids import new_id  # noqa: E402
from app.db.migrate import upgrade_async  # noqa: E402
from app.db.redemptions import AsyncAction  # noqa: E402
from app.db.session import Database  # noqa: E402
from app.db.vouchers import Voucher  # noqa: E402
from app.services import async_actions, campaigns, codes, projects  # noqa: E402

PG_SERVER = os.environ.get("PROMOGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_SERVER)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


CONFIG = {"length": 10}
COLUMNS = ("id", "project_id", "code", "campaign_id", "type", "discount", "gift_amount",
           "gift_balance", "gift_effect", "redemption_quantity", "redeemed_quantity",
           "redeemed_amount", "active", "is_referral_code", "metadata", "created_at")
DISCOUNT = {"type": "AMOUNT", "amount_off": 1000}
CHUNK = 100_000


async def _run(url: str, count: int, floor: bool = False) -> dict[str, Any]:
    await upgrade_async(url)
    db = Database.from_url(url, pool_size=5)
    try:
        project = await projects.create_project(db, name="Bench", currency="USD",
                                                time_zone="UTC")
        started = time.perf_counter()
        created = await campaigns.create_campaign(db, project.id, {
            "name": "Bench", "campaign_type": "DISCOUNT_COUPONS", "type": "STATIC",
            "vouchers_count": count,
            "voucher": {"type": "DISCOUNT_VOUCHER", "discount": DISCOUNT,
                        "code_config": CONFIG},
        })
        if created.async_action is not None:
            while True:
                async with db.read() as session:
                    status = (await session.execute(
                        sa.select(AsyncAction.status).where(
                            AsyncAction.id == created.async_action.id)
                    )).scalar_one()
                if status in ("DONE", "FAILED"):
                    break
                await asyncio.sleep(0.05)
            if status != "DONE":
                raise SystemExit("generation failed")
        elapsed = time.perf_counter() - started
        async with db.read() as session:
            distinct = (await session.execute(
                sa.select(sa.func.count(sa.distinct(Voucher.code))).where(
                    Voucher.campaign_id == created.campaign.id)
            )).scalar_one()
    finally:
        await async_actions.shutdown()
        await db.dispose()
    result: dict[str, Any] = {"count": count, "seconds": elapsed, "distinct": int(distinct),
                              "rps": count / elapsed}
    if floor:
        copy = await copy_floor(url, project.id, created.campaign.id, count)
        result["copy"] = {"count": count, "seconds": copy, "rps": count / copy}
    return result


def _chunks(project_id: str, campaign_id: str, count: int, sqlite: bool) -> Any:
    """Rows of CHUNK vouchers as the service would write them; codes unique over all chunks."""
    generator = codes.CodeGenerator(codes.parse_config(CONFIG))
    seen: set[str] = set()
    discount, now = json.dumps(DISCOUNT), utcnow()
    created = now.replace(tzinfo=None).isoformat(sep=" ") if sqlite else now
    yes, no = (1, 0) if sqlite else (True, False)
    while len(seen) < count:
        fresh = [c for c in dict.fromkeys(generator.batch(min(CHUNK, count - len(seen))))
                 if c not in seen]
        seen.update(fresh)
        yield [(new_id("v"), project_id, code, campaign_id, "DISCOUNT_VOUCHER", discount, 0, 0,
                None, None, 0, 0, yes, no, "{}", created) for code in fresh]


async def copy_floor(url: str, project_id: str, campaign_id: str, count: int) -> float:
    """Seconds to load `count` pre-generated voucher rows the fastest way the backend has."""
    elapsed = 0.0
    if url.startswith("postgresql"):
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE TABLE vouchers_copy (LIKE vouchers INCLUDING ALL)")
            for rows in _chunks(project_id, campaign_id, count, sqlite=False):
                started = time.perf_counter()
                await conn.copy_records_to_table("vouchers_copy", records=rows,
                                                 columns=COLUMNS)
                elapsed += time.perf_counter() - started
        finally:
            await conn.close()
        return elapsed
    import aiosqlite

    path = url.split(":///", 1)[1]
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            await conn.execute(f"PRAGMA {pragma}")
        cur = await conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'vouchers' "
            "AND sql IS NOT NULL ORDER BY type DESC")  # the table before its indexes
        for kind, name, ddl in await cur.fetchall():
            if kind == "table":
                await conn.execute(ddl.replace("vouchers", "vouchers_copy", 1))
            else:
                await conn.execute(ddl.replace(name, f"{name}_copy", 1)
                                   .replace(" ON vouchers ", " ON vouchers_copy "))
        insert = (f"INSERT INTO vouchers_copy ({', '.join(COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(COLUMNS))})")
        await conn.execute("BEGIN")
        for rows in _chunks(project_id, campaign_id, count, sqlite=True):
            started = time.perf_counter()
            await conn.executemany(insert, rows)
            elapsed += time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("COMMIT")
        elapsed += time.perf_counter() - started
    return elapsed


async def _measure(backend: str, count: int, floor: bool) -> dict[str, Any]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{directory}/codegen.db"
            result = await _run(url, count, floor)
    else:
        name = f"promogate_codegen_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        try:
            url = (make_url(PG_SERVER).set(drivername="postgresql+asyncpg", database=name)
                   .render_as_string(hide_password=False))
            result = await _run(url, count, floor)
        finally:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {"backend": backend, **result}


def measure(backend: str, count: int, floor: bool = True) -> dict[str, Any]:
    """W5 (and its COPY floor): {seconds, distinct, rps, copy: {seconds, rps}}."""
    return asyncio.run(_measure(backend, count, floor))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--floor", action="store_true", help="also time the COPY floor")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = measure(backend, args.count, args.floor)
        assert r["distinct"] == args.count, f"{r['distinct']} distinct codes for {args.count}"
        line = (f"{backend:<10} {args.count:>9,} codes  {r['seconds']:8.2f} s  "
                f"{r['rps']:>10,.0f} codes/s")
        if "copy" in r:
            line += (f"  | COPY floor {r['copy']['seconds']:6.2f} s  "
                     f"ratio {r['seconds'] / r['copy']['seconds']:.2f} (target <= 3 at 1M)")
        print(line)


if __name__ == "__main__":
    main()
