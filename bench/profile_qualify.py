"""W2 (qualifications) and W4 (validateStack with autoApply) in-process: CPU ms per request
(this process's CPU time, SQLite's thread included; PostgreSQL's server is not) at each size
beside `{ __typename }` measured the same way, min of 3 runs; no HTTP driver, and CPU time
rather than wall time, so a busy box disturbs it little.

    python bench/profile_qualify.py [sqlite|postgresql] [--sizes 1000 10000] [--codes N]
                                    [--seed w4|w2] [--rounds 200] [--profile]

`--seed`: W4's tiers (ten apply at every size; the default) or W2's campaigns (1 % qualify,
so ten times as many at 10,000; bench/qualification_bench.py).

`--codes N`: N unheld codes in an unrelated STATIC campaign (inserted in bulk, then
ANALYZE), to check that neither path grows with data it does not need.
`--profile`: cProfile of W4 at the largest size, top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/profile_...py`

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench import autoapply_bench, qualification_bench  # noqa: E402
from bench.harness import SECRET, drop_database, make_database  # noqa: E402


async def add_codes(url: str, count: int) -> None:
    import sqlalchemy as sa

    from app.db.campaigns import Campaign
    from app.db.ids import new_id
    from app.db.projects import Project
    from app.db.session import Database
    from app.db.vouchers import Voucher

    db = Database.from_url(url, pool_size=1)
    async with db.write() as s:
        pid = (await s.execute(sa.select(Project.id))).scalars().first()
        camp = Campaign(
            id=new_id("camp"), project_id=pid, name="bulk", campaign_type="DISCOUNT_COUPONS",
            type="STATIC", vouchers_count=count, active=True, join_once=False,
            auto_join=False, creation_status="DONE", redemptions_count=0, discounted_amount=0,
            orders_amount=0, metadata_={},
        )
        s.add(camp)
        await s.flush()
        table = Voucher.__table__  # type: ignore[attr-defined]
        for start in range(0, count, 50_000):
            await s.execute(sa.insert(table), [{
                "id": new_id("v"), "project_id": pid, "code": f"BULK{n:09d}",
                "campaign_id": camp.id, "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "AMOUNT", "amount_off": 100}, "gift_amount": 0,
                "gift_balance": 0, "redeemed_quantity": 0, "redeemed_amount": 0,
                "redemption_quantity": 1, "active": True, "is_referral_code": False,
                "metadata": {},
            } for n in range(start, min(count, start + 50_000))])
    async with db.write() as s:
        await s.execute(sa.text("ANALYZE"))
    await db.dispose()


async def timed(client: httpx.AsyncClient, payload: dict[str, Any], rounds: int,
                runs: int = 3) -> float:
    headers = {"Authorization": f"Bearer {SECRET}"}
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        for _ in range(rounds):
            response = await client.post("/graphql", json=payload, headers=headers)
            assert "errors" not in response.json(), response.text
        best = min(best, (time.process_time() - started) * 1000 / rounds)
    return best


def one_size(backend: str, size: int, codes: int, rounds: int, profile: bool,
             seed: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, raw = make_database(backend, Path(tmp))
        try:
            asyncio.run(measure(url, backend, size, codes, rounds, profile, seed))
        finally:
            drop_database(backend, raw)


async def measure(url: str, backend: str, size: int, codes: int, rounds: int,
                  profile: bool, seed: str) -> None:
    seeder = autoapply_bench.seed if seed == "w4" else qualification_bench.seed
    seeded = await seeder(url, size)
    if codes:
        await add_codes(url, codes)
    app = create_app(Settings(database_url=url, graphiql=False))
    w4 = autoapply_bench.body(seeded)
    plain = {"query": w4["query"], "variables": {"i": {
        k: v for k, v in w4["variables"]["i"].items() if k != "autoApply"}}}
    w2 = {"query": qualification_bench.QUALIFY, "variables": {"i": {
        "customer": {"sourceId": "bench-customer"},
        "order": w4["variables"]["i"]["order"], "first": 10}}}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for payload in (w4, plain, w2):
            await timed(client, payload, 20, 1)  # warm the caches
        floor = await timed(client, {"query": "{ __typename }"}, rounds)
        results = {
            "W2 qualifications": await timed(client, w2, rounds),
            "W1-like validateStack, coupon only": await timed(client, plain, rounds),
            "W4 validateStack autoApply": await timed(client, w4, rounds),
        }
        print(f"[{backend}] {seed} seed, {size:,} tiers, {codes:,} extra codes: "
              f"P0 {{ __typename }} {floor:.2f} CPU ms/request")
        for label, ms in results.items():
            print(f"    {label}: {ms:.2f} CPU ms/request = {floor / ms:.2f} x P0")
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            await timed(client, w4, rounds, 1)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", nargs="?", default="sqlite",
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--codes", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--seed", choices=["w4", "w2"], default="w4")
    args = parser.parse_args()
    for n, size in enumerate(args.sizes):
        one_size(args.backend, size, args.codes, args.rounds,
                 args.profile and n == len(args.sizes) - 1, args.seed)


if __name__ == "__main__":
    main()
