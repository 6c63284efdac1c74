"""Bulk code generation: one STATIC campaign of N unique codes, through the service layer.

    python bench/codegen_bench.py [--backend sqlite|postgresql|both] [--count 100000]

`campaigns.create_campaign` stores the campaign and queues the background job (above 1,000
codes); the time is measured from that call until the job reports DONE, i.e. codes drawn,
inserted in batches of `async_actions.BATCH_SIZE` with conflict handling, progress and the
campaign counter updated per batch. Uniqueness is then checked with one COUNT(DISTINCT).

PostgreSQL: PROMOGATE_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/test) is the
server; a database is created for the run and dropped after. SQLite uses a temporary file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.db.migrate import upgrade_async  # noqa: E402
from app.db.redemptions import AsyncAction  # noqa: E402
from app.db.session import Database  # noqa: E402
from app.db.vouchers import Voucher  # noqa: E402
from app.services import async_actions, campaigns, projects  # noqa: E402

PG_SERVER = os.environ.get("PROMOGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_SERVER)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _run(url: str, count: int) -> tuple[float, int]:
    await upgrade_async(url)
    db = Database.from_url(url, pool_size=5)
    try:
        project = await projects.create_project(db, name="Bench", currency="USD",
                                                time_zone="UTC")
        started = time.perf_counter()
        created = await campaigns.create_campaign(db, project.id, {
            "name": "Bench", "campaign_type": "DISCOUNT_COUPONS", "type": "STATIC",
            "vouchers_count": count,
            "voucher": {"type": "DISCOUNT_VOUCHER",
                        "discount": {"type": "AMOUNT", "amount_off": 1000},
                        "code_config": {"length": 10}},
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
        return elapsed, int(distinct)
    finally:
        await async_actions.shutdown()
        await db.dispose()


async def bench(backend: str, count: int) -> None:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{directory}/codegen.db"
            elapsed, made = await _run(url, count)
    else:
        name = f"promogate_codegen_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        try:
            url = (make_url(PG_SERVER).set(drivername="postgresql+asyncpg", database=name)
                   .render_as_string(hide_password=False))
            elapsed, made = await _run(url, count)
        finally:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert made == count, f"{made} distinct codes for {count} asked"
    print(f"{backend:<10} {count:>9,} codes  {elapsed:8.2f} s  {count / elapsed:>10,.0f} codes/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        asyncio.run(bench(backend, args.count))


if __name__ == "__main__":
    main()
