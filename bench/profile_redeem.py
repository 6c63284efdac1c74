"""Profile one-client redemption in-process: redeemStack of an unlimited 10% coupon on a
10-line order (distinct idempotency keys), ms per request beside the trivial query, the SQL
statements one redemption sends, then the top functions by own time.

    python bench/profile_redeem.py [sqlite|postgresql] [rounds] [--no-profile]
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/profile_redeem.py`

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench import stack_bench  # noqa: E402
from bench.harness import SECRET, drop_database, make_database  # noqa: E402


async def main(url: str, rounds: int, profile_it: bool) -> None:
    seeded = await stack_bench._seed(url, 1000)
    app = create_app(Settings(database_url=url, graphiql=False))
    headers = {"Authorization": f"Bearer {SECRET}"}
    serial = iter(range(10**9))

    def body() -> dict[str, Any]:
        return stack_bench.redeem_body(seeded, "TENOFF", f"k{next(serial)}")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        async def post(payload: dict[str, Any]) -> None:
            answer = (await client.post("/graphql", json=payload, headers=headers)).json()
            if "errors" in answer or (answer.get("data", {}).get("redeemStack") or {}).get(
                    "errors"):
                raise SystemExit(f"failed: {answer}")

        for _ in range(20):
            await post(body())
        await post(stack_bench.TRIVIAL)
        sent: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any,
                   many: bool) -> None:
            sent.append(("MANY " if many else "") + " ".join(statement.split())[:90])

        sync_engine = app.state.db.engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", record)
        await post(body())
        event.remove(sync_engine, "before_cursor_execute", record)
        print(f"SQL statements per redemption: {len(sent)}")
        for text, n in Counter(sent).items():
            print(f"  {n} x {text}")
        best: dict[str, float] = {}
        best_cpu: dict[str, float] = {}
        best_main: dict[str, float] = {}
        for _ in range(3):
            for label, make in (("redeemStack", body), ("F-GQL", lambda: stack_bench.TRIVIAL)):
                payloads = [make() for _ in range(rounds)]
                started, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
                for payload in payloads:
                    await client.post("/graphql", json=payload, headers=headers)
                ms = (time.perf_counter() - started) * 1000 / rounds
                best[label] = min(best.get(label, ms), ms)
                cpu = (time.process_time() - cpu) * 1000 / rounds
                best_cpu[label] = min(best_cpu.get(label, cpu), cpu)
                main = (time.thread_time() - main) * 1000 / rounds
                best_main[label] = min(best_main.get(label, main), main)
        for label, ms in best.items():
            print(f"{label}: {ms:.2f} ms/request, CPU {best_cpu[label]:.2f} ms (event loop "
                  f"thread {best_main[label]:.2f} ms) (min of 3 x {rounds})")
        print(f"redeemStack - F-GQL: {best['redeemStack'] - best['F-GQL']:.2f} ms")
        if not profile_it:
            return
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(rounds):
            await client.post("/graphql", json=body(), headers=headers)
        profile.disable()
    stats = pstats.Stats(profile)
    print(f"Python function calls per redemption: {stats.total_calls / rounds:.0f}")  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(r"app/", 40)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    backend = args[0] if args else "sqlite"
    rounds = int(args[1]) if len(args) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        url, raw = make_database(backend, Path(tmp))
        try:
            asyncio.run(main(url, rounds, "--no-profile" not in sys.argv))
        finally:
            drop_database(backend, raw)
