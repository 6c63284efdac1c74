"""One command for every workload beside its floors, on both backends.

    python -m bench [--backend sqlite|postgresql|both] [--quick] [--seconds S] [--out DIR]
    python -m bench --show bench/results/bench-<time>.json   # a saved run's table again

For each backend: fresh databases, the service as a real uvicorn process (GraphiQL off), load
from a separate process (bench/harness.py). The measurement code lives in the workload modules
(stack_bench: F-HTTP, F-GQL, W1, W3 + replay, F-DB, memory; qualification_bench: W2;
autoapply_bench: W4; codegen_bench: W5 + COPY floor; bigdata_bench: W6, in-process); this
module only sequences them, judges the targets and prints one table, also written as CSV and
JSON to --out (default bench/results/).

Exit status: 0 when every correctness check holds (missed performance targets are reported,
not fatal); 1 when one fails (W3 not exactly 100 wins, a replay that redeems again, 5xx in the
storm, duplicate codes); 2 when a workload crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/__main__.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (  # noqa: E402
    autoapply_bench,
    bigdata_bench,
    codegen_bench,
    qualification_bench,
    stack_bench,
)
from bench.harness import PG_SERVER, ROOT  # noqa: E402

COLUMNS = ("workload", "backend", "throughput", "p50", "p95", "p99", "floor", "ratio",
           "target", "verdict", "note")
PASS, MISS, FAIL, INFO, ERROR = "pass", "MISS", "FAIL", "", "ERROR"
SECTIONS = ("stack", "w2", "w4", "w5", "w6", "workers")
WITHHELD = "gate"  # ratio withheld: the driver gate (F-HTTP) failed in this run


def _row(workload: str, backend: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"workload": workload, "backend": backend, "throughput": None,
                           "unit": "", "p50": None, "p95": None, "p99": None, "floor": "",
                           "ratio": None, "target": "", "verdict": INFO, "note": ""}
    row.update(fields)
    return row


def _lat(m: dict[str, Any]) -> dict[str, Any]:
    return {"p50": m.get("p50"), "p95": m.get("p95"), "p99": m.get("p99")}


def _judge(ok: bool) -> str:
    return PASS if ok else MISS


# --- sections -----------------------------------------------------------------------------

GATE_RPS = 8000.0  # F-HTTP below this: the driver or the box is the limit, not the server


def gate(http: dict[str, Any]) -> str | None:
    """Why this run's ratios can't be trusted, or None. Checked on F-HTTP, measured first."""
    if http["rps"] >= GATE_RPS and not http["errors"]:
        return None
    return (f"F-HTTP {http['rps']:,.0f} req/s ({http['errors']} errors) < {GATE_RPS:,.0f}: "
            "the load driver or this box is the limit, so ratios would measure it, not the "
            "service; ratios withheld")


def _ratio(value: float, floor: float, closed: str | None) -> float | None:
    return None if closed else value / floor


def _verdict(ok: bool, closed: str | None) -> str:
    return WITHHELD if closed else _judge(ok)


def floor_rows(backend: str, floors: dict[str, Any]) -> list[dict[str, Any]]:
    http, gql, gql1 = floors["f_http"], floors["f_gql"], floors["f_gql_1"]
    closed = gate(http)
    b = backend
    return [
        _row("F-HTTP bare Starlette echo of W1's body, 16 conns", b, throughput=http["rps"],
             unit="req/s", **_lat(http), target=f">= {GATE_RPS:,.0f} (driver gate)",
             verdict=FAIL if http["errors"] else (WITHHELD if closed else PASS),
             note=closed or f"errors {http['errors']}"),
        _row("F-GQL bare Strawberry { hello }, parser + validation caches, 16 conns", b,
             throughput=gql["rps"], unit="req/s", **_lat(gql), note=f"errors {gql['errors']}"),
        _row("F-GQL, 1 conn", b, throughput=gql1["rps"], unit="req/s", **_lat(gql1)),
    ]


def stack_rows(backend: str, seconds: float,
               floors: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    m = stack_bench.measure(backend, seconds, 1000, attempts=500, limit=100, extras=True)
    b = backend
    http, gql, gql1 = floors["f_http"], floors["f_gql"], floors["f_gql_1"]
    closed = gate(http)
    trivial, w1, w3, rep = m["trivial"], m["w1"], m["w3"], m["replay"]
    fdb, w1_1 = m["f_db"], m["w1_1"]
    t_ratio = _ratio(trivial["rps"], gql["rps"], closed)
    w1_ratio = _ratio(w1["rps"], gql["rps"], closed)
    p99_ratio = _ratio(w1["p99"], gql["p99"], closed)
    rows = [
        _row("P0 Promogate { __typename }, secret key, 16 conns", b, throughput=trivial["rps"],
             unit="req/s", **_lat(trivial), floor=f"F-GQL {gql['rps']:,.0f} req/s",
             ratio=t_ratio, target=">= 0.85 x F-GQL",
             verdict=FAIL if trivial["errors"] else _verdict((t_ratio or 0) >= 0.85, closed),
             note=f"errors {trivial['errors']}"),
        _row("W1 validateStack 3 redeemables, 10 lines, 1,000 tiers, 16 conns", b,
             throughput=w1["rps"], unit="req/s", **_lat(w1),
             floor=f"F-GQL {gql['rps']:,.0f} req/s", ratio=w1_ratio,
             target=">= 0.30 x F-GQL (stretch 0.50)",
             verdict=FAIL if w1["errors"] else _verdict((w1_ratio or 0) >= 0.30, closed),
             note=f"errors {w1['errors']}"),
        _row("W1 p99 / F-GQL p99", b, floor=f"F-GQL p99 {gql['p99']:.1f} ms", ratio=p99_ratio,
             target="<= 10", verdict=_verdict((p99_ratio or 99) <= 10, closed)),
        _row("W1 validateStack, 1 conn", b, throughput=w1_1["rps"], unit="req/s",
             **_lat(w1_1), floor=f"F-GQL 1 conn {gql1['rps']:,.0f} req/s",
             ratio=_ratio(w1_1["rps"], gql1["rps"], closed), target="SQLite >= PostgreSQL (X)"),
        _row("F-DB raw lock+check+update+insert x500", b, throughput=500 / fdb["seconds"],
             unit="att/s", note=f"drain {fdb['seconds']:.2f} s, {fdb['wins']} wins"),
    ]
    storm_floor = m["f_gql_storm"]
    rows.append(_row(
        "S0 storm: 500 concurrent { __typename } (Python client)", b,
        throughput=storm_floor["rps"], unit="req/s", **_lat(storm_floor),
        note=(f"drain {storm_floor['seconds']:.2f} s; "
              f"{storm_floor['errors']} non-200/no-data")))
    counts, after = m["w3_counts"], m["replay_counts"]
    w3_ok = (w3["wins"] == 100 and counts["successes"] == 100
             and counts["redeemed_quantity"] == 100 and w3["errors"] == 0)
    w3_floor = storm_floor["seconds"] + fdb["seconds"]
    rows.append(_row(
        "W3 500 concurrent redeemStack, one code, limit 100 (Python client)", b,
        throughput=w3["rps"], unit="att/s", **_lat(w3),
        floor=f"S0 {storm_floor['seconds']:.2f} s + F-DB {fdb['seconds']:.2f} s",
        ratio=w3["seconds"] / w3_floor, target="exactly 100 wins",
        verdict=PASS if w3_ok else FAIL,
        note=(f"drain {w3['seconds']:.2f} s; {w3['wins']} wins, {counts['successes']} SUCCESS "
              f"rows, redeemed_quantity {counts['redeemed_quantity']}, "
              f"{w3['errors']} non-200/no-data, {w3['retries']} transport retries")))
    new_rows = after["rows"] - counts["rows"]
    replay_ok = (new_rows == 0 and after["redeemed_quantity"] == counts["redeemed_quantity"]
                 and rep["wins"] == w3["wins"] and rep["errors"] == 0)
    rows.append(_row(
        "W3 replay storm: same 500 requests, same idempotency keys", b, throughput=rep["rps"],
        unit="att/s", **_lat(rep), floor=f"W3 drain {w3['seconds']:.2f} s",
        ratio=rep["seconds"] / w3["seconds"], target="0 new redemptions; same answers",
        verdict=PASS if replay_ok else FAIL,
        note=(f"drain {rep['seconds']:.2f} s; {new_rows} new redemption rows, "
              f"{rep['wins']} stored wins, {rep['errors']} non-200/no-data, "
              f"{rep['retries']} transport retries")))
    red1, fdb1 = m["redeem_1"], m["f_db_1"]
    server_ms = red1["p50"] - gql1["p50"]
    rows += [
        _row("F-DB raw redemption transaction, 1 client", b, throughput=fdb1["rps"],
             unit="txn/s", **_lat(fdb1)),
        _row("Redemption (unlimited code), 1 conn", b, throughput=red1["rps"], unit="req/s",
             **_lat(red1),
             floor=f"F-GQL 1 conn p50 {gql1['p50']:.2f} ms; F-DB txn p50 {fdb1['p50']:.2f} ms",
             target="server time <= 5 ms",
             verdict=FAIL if red1["errors"] else _verdict(server_ms <= 5.0, closed),
             note=(f"server time = p50 - F-GQL 1 conn p50 = {server_ms:.2f} ms; "
                   f"errors {red1['errors']}")),
    ]
    rss = m.get("rss_kb")
    rows.append(_row("MEM server peak RSS (VmHWM) after W1 + W3 + replay", b,
                     throughput=rss / 1024 if rss else None, unit="MB"))
    return rows, m


def sized_rows(backend: str, runs: list[dict[str, Any]], floors: dict[str, Any], *,
               name: str, label: Any, size: str, min_ratio: float, max_growth: float,
               growth: Any) -> list[dict[str, Any]]:
    """The rows of a workload measured at several sizes (W2, W4), each on its own server:
    throughput per size beside this run's F-GQL (judged at the first size), then
    cost(largest) / cost(smallest), each normalised by its own server's P0."""
    gql = floors["f_gql"]
    closed = gate(floors["f_http"])
    rows = []
    for n, r in enumerate(runs):
        w, t = r["work"], r["floor"]
        first = n == 0
        ratio = _ratio(w["rps"], gql["rps"], closed)
        rows.append(_row(
            label(r), backend, throughput=w["rps"], unit="req/s", **_lat(w),
            floor=f"F-GQL {gql['rps']:,.0f} req/s; P0 same server {t['rps']:,.0f} req/s",
            ratio=ratio, target=f">= {min_ratio} x F-GQL" if first else "",
            verdict=(FAIL if w["errors"] else
                     _verdict((ratio or 0) >= min_ratio, closed) if first else INFO),
            note=f"errors {w['errors']}"))
    if len(runs) >= 2:
        small, large = runs[0], runs[-1]
        g = growth(small, large)
        at_10k = large[size] >= 10 * small[size]
        rows.append(_row(
            f"{name} cost({large[size]:,}) / cost({small[size]:,}), "
            "each normalised by its own server's P0", backend, ratio=g,
            target=f"<= {max_growth:.1f}" if at_10k else f"<= {max_growth:.1f} at 10k vs 1k",
            verdict=_judge(g <= max_growth) if at_10k else INFO,
            note="" if at_10k else "quick: indicative only"))
    return rows


def w2_rows(backend: str, seconds: float, sizes: list[int],
            floors: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    runs = [qualification_bench.run_size(backend, n, seconds) for n in sizes]
    rows = w2_table(backend, runs, floors)
    return rows, runs


def w2_table(backend: str, runs: list[dict[str, Any]],
             floors: dict[str, Any]) -> list[dict[str, Any]]:
    rows = sized_rows(
        backend, runs, floors, name="W2", size="campaigns", min_ratio=0.15, max_growth=3.0,
        growth=qualification_bench.growth,
        label=lambda r: f"W2 qualifications, {r['campaigns']:,} campaigns "
                        f"({r['qualifying']} qualify), 16 conns")
    rss = max((r["rss_kb"] or 0) for r in runs)
    rows.append(_row("MEM W2 server peak RSS (VmHWM), largest size", backend,
                     throughput=rss / 1024 if rss else None, unit="MB"))
    return rows


def workers_rows(backend: str, seconds: float, workers: int,
                 floors: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """W1 with `workers` server processes beside W1 with one, same database, same run."""
    m = stack_bench.measure_workers(backend, seconds, workers)
    one, many = m["w1_1w"], m[f"w1_{workers}w"]
    closed = gate(floors["f_http"])
    ratio = _ratio(many["rps"], one["rps"], closed)
    cores = m["cores"] or 0

    def cpu(r: dict[str, Any]) -> str:
        return (f"server {r['server_cores']:.2f} cores + wrk {r['driver_cores']:.2f} cores "
                f"of {cores}; errors {r['errors']}")

    measured = many["rps"] / one["rps"] if one["rps"] else 0.0
    busy = many["server_cores"] + many["driver_cores"]
    why = ("" if (ratio or 0) >= 1.6 or closed else
           f"; the box is the limit: server and wrk together used {busy:.2f} of {cores} cores"
           if busy >= 0.9 * cores else "")
    w3, counts = m["w3"], m["w3_counts"]
    w3_ok = (w3["wins"] == 100 and counts["successes"] == 100
             and counts["redeemed_quantity"] == 100 and w3["errors"] == 0)
    rows = [
        _row("W1 validateStack, 1 worker process, 16 conns", backend, throughput=one["rps"],
             unit="req/s", **_lat(one), note=cpu(one)),
        _row(f"W1 validateStack, {workers} worker processes (serve --workers {workers}), "
             "16 conns", backend, throughput=many["rps"], unit="req/s", **_lat(many),
             floor=f"W1 1 worker {one['rps']:,.0f} req/s", ratio=ratio,
             target=">= 1.6 x 1 worker",
             verdict=FAIL if many["errors"] else _verdict((ratio or 0) >= 1.6, closed),
             note=cpu(many) + why + (f"; measured {measured:.2f} x" if closed else "")),
        _row(f"W3 500 concurrent redeemStack, one code, limit 100, {workers} workers", backend,
             throughput=w3["rps"], unit="att/s", **_lat(w3), target="exactly 100 wins",
             verdict=PASS if w3_ok else FAIL,
             note=(f"{w3['wins']} wins, {counts['successes']} SUCCESS rows, redeemed_quantity "
                   f"{counts['redeemed_quantity']}, {w3['errors']} non-200/no-data")),
    ]
    return rows, m


def w5_rows(backend: str, counts: list[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, runs = [], []
    for count in counts:
        r = codegen_bench.measure(backend, count, floor=True)
        runs.append(r)
        copy = r["copy"]
        ratio = r["seconds"] / copy["seconds"]
        judged = count >= 1_000_000
        ok = r["distinct"] == count
        floor_name = "COPY" if backend == "postgresql" else "executemany"
        rows += [
            _row(f"F-COPY {count:,} voucher rows ({floor_name}, scratch table)", backend,
                 throughput=copy["rps"], unit="rows/s", note=f"{copy['seconds']:.2f} s"),
            _row(f"W5 generate {count:,} codes through the service", backend,
                 throughput=r["rps"], unit="codes/s",
                 floor=f"F-COPY {copy['seconds']:.2f} s", ratio=ratio,
                 target="<= 3 x F-COPY" if judged else "<= 3 x F-COPY at 1M",
                 verdict=(FAIL if not ok else _judge(ratio <= 3.0) if judged else INFO),
                 note=f"{r['seconds']:.2f} s; {r['distinct']:,} distinct codes"),
        ]
    return rows, runs


def w6_rows(backend: str, quick: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    r = bigdata_bench.run(backend, quick)
    s = r["sizes"]
    rows = []
    for name, small, big, ratio in bigdata_bench.rows(r):
        rows.append(_row(
            f"W6 big project {name} p50: {s['codes']:,} codes, {s['redemptions']:,} "
            f"redemptions, {s['customers']:,} customers vs small (in-process, 1 client)",
            backend, p50=big, floor=f"small p50 {small:.2f} ms", ratio=ratio,
            target="<= 1.5 x small", verdict=_judge(ratio <= 1.5),
            note="quick: indicative only" if quick else ""))
    return rows, r


# --- output -------------------------------------------------------------------------------

def _fmt(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if key == "throughput":
        return f"{value:,.1f} {row['unit']}"
    if key in ("p50", "p95", "p99"):
        return f"{value:.1f} ms"
    if key == "ratio":
        return f"{value:.2f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[_fmt(r, k) for k in COLUMNS] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(COLUMNS)]
    right = {"throughput", "p50", "p95", "p99", "ratio"}

    def line(values: list[str]) -> str:
        return "| " + " | ".join(
            v.rjust(w) if k in right else v.ljust(w)
            for v, w, k in zip(values, widths, COLUMNS, strict=True)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if k in right else "-" * (w + 2)
                          for w, k in zip(widths, COLUMNS, strict=True)) + "|"
    return "\n".join([line(list(COLUMNS)), rule, *(line(c) for c in cells)])


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        sha = ""
    pg = ""
    try:
        import asyncpg

        async def version() -> str:
            conn = await asyncpg.connect(PG_SERVER)
            try:
                return str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()

        pg = asyncio.run(version())
    except Exception:  # noqa: BLE001 - informational only
        pg = "unavailable"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "postgresql": pg, "commit": sha,
            "load_average": os.getloadavg(), "when": datetime.now(UTC).isoformat()}


def write(out: Path, rows: list[dict[str, Any]], meta: dict[str, Any],
          raw: dict[str, Any]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    csv_path, json_path = out / f"bench-{stamp}.csv", out / f"bench-{stamp}.json"
    fields = [*COLUMNS, "unit"]
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    json_path.write_text(json.dumps({"meta": meta, "rows": rows, "raw": raw}, indent=2,
                                    default=str))
    return csv_path, json_path


# --- main ---------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true",
                        help="2 s points, W2 at 1k and 2k, W5 at 100k only (~1 min/backend)")
    parser.add_argument("--seconds", type=float, help="per load point (default 10; quick 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="server processes of the workers section (W1 at N vs 1 worker)")
    parser.add_argument("--show", type=Path, metavar="JSON",
                        help="print the table of a saved run (a bench-*.json) and exit")
    args = parser.parse_args(argv)
    if args.show:
        saved = json.loads(args.show.read_text())
        meta = saved["meta"]
        print(f"<!-- {meta['cpu']} x{meta['cores']}, commit {meta['commit']}, {meta['mode']} "
              f"mode, {meta['when']} -->")
        print(table(saved["rows"]))
        return 0
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    sizes = [1000, 2000] if args.quick else [1000, 10_000]
    counts = [100_000] if args.quick else [100_000, 1_000_000]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    meta = {**machine(), "mode": "quick" if args.quick else "full", "seconds": seconds,
            "argv": sys.argv[1:]}
    print(f"# {meta['cpu']} x{meta['cores']}, Python {meta['python']}, SQLite {meta['sqlite']}, "
          f"PostgreSQL {meta['postgresql']}, commit {meta['commit']}, {meta['mode']} mode",
          file=sys.stderr)
    rows: list[dict[str, Any]] = []
    raw: dict[str, Any] = {}
    w1_single: dict[str, float] = {}
    began = time.perf_counter()
    for backend in backends:
        print(f"[{backend}] floors ...", file=sys.stderr, flush=True)
        floors = stack_bench.floors(seconds)
        raw[f"{backend}/floors"] = floors
        rows += floor_rows(backend, floors)
        sections = (
            ("stack", lambda b=backend, f=floors: stack_rows(b, seconds, f)),
            ("w2", lambda b=backend, f=floors: w2_rows(b, seconds, sizes, f)),
            ("w4", lambda b=backend, f=floors: autoapply_bench.w4_rows(b, seconds, sizes, f)),
            ("w5", lambda b=backend: w5_rows(b, counts)),
            ("w6", lambda b=backend: w6_rows(b, args.quick)),
            ("workers", lambda b=backend, f=floors: workers_rows(b, seconds, args.workers, f)),
        )
        for name, run in sections:
            if args.only and name not in args.only:
                continue
            started = time.perf_counter()
            print(f"[{backend}] {name} ...", file=sys.stderr, flush=True)
            try:
                got, data = run()
            except Exception as exc:  # noqa: BLE001 - one crash must not hide the rest
                traceback.print_exc()
                rows.append(_row(f"{name} crashed", backend, verdict=ERROR,
                                 note=f"{type(exc).__name__}: {exc}"))
                continue
            rows += got
            raw[f"{backend}/{name}"] = data
            if name == "stack":
                w1_single[backend] = data["w1_1"]["rps"]
            print(f"[{backend}] {name} done in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
    if len(w1_single) == 2:
        ratio = w1_single["sqlite"] / w1_single["postgresql"]
        rows.append(_row("X W1 1 client: SQLite / PostgreSQL throughput", "both", ratio=ratio,
                         target=">= 1.0", verdict=_judge(ratio >= 1.0)))
    meta["elapsed_s"] = round(time.perf_counter() - began, 1)
    print(table(rows))
    csv_path, json_path = write(args.out, rows, meta, raw)
    print(f"\n{meta['mode']} run, {meta['elapsed_s']} s; wrote {csv_path} and {json_path}",
          file=sys.stderr)
    if any(r["verdict"] == ERROR for r in rows):
        return 2
    return 1 if any(r["verdict"] == FAIL for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
