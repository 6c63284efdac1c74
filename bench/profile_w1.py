"""Profile W1 (stacked validation) in-process: ms per request beside the trivial query, then
the top functions by own time.

    python bench/profile_w1.py [sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/profile_w1.py`

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench import stack_bench  # noqa: E402
from bench.harness import SECRET, drop_database, make_database  # noqa: E402


async def main(url: str, rounds: int = 100) -> None:
    seeded = await stack_bench._seed(url, 1000)
    app = create_app(Settings(database_url=url, graphiql=False))
    cart = {"items": [{"productId": p, "quantity": 1 + n % 3}
                      for n, p in enumerate(seeded.products)]}
    body = {"query": stack_bench.VALIDATE, "variables": {"i": {"redeemables": [
        {"object": "VOUCHER", "id": "TENOFF"},
        {"object": "PROMOTION_TIER", "id": seeded.tier_id},
        {"object": "VOUCHER", "id": "GIFTCARD", "gift": {"credits": 500}}], "order": cart}}}
    headers = {"Authorization": f"Bearer {SECRET}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(20):
            await client.post("/graphql", json=body, headers=headers)
        for label, payload in (("W1 validateStack", body), ("F-GQL", {"query": "{ __typename }"})):
            started = time.perf_counter()
            for _ in range(rounds):
                await client.post("/graphql", json=payload, headers=headers)
            print(f"{label}: {(time.perf_counter() - started) * 1000 / rounds:.1f} ms/request")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(rounds):
            await client.post("/graphql", json=body, headers=headers)
        profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        url, raw = make_database(backend, Path(tmp))
        try:
            asyncio.run(main(url))
        finally:
            drop_database(backend, raw)
