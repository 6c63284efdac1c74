"""Shared benchmark plumbing: fresh databases, a real uvicorn server, load drivers that run in
their own process (so the client never competes with the server's event loop)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

import httpx

from bench import wrk

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("PROMOGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "sk_bench_secret_key_0123456789abcdef"
PUBLISHABLE = "pk_bench_publishable_key_0123456789"


# --- databases ----------------------------------------------------------------------------

async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_SERVER)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def make_database(backend: str, workdir: Path) -> tuple[str, str]:
    """(sqlalchemy url, raw dsn) of a fresh, migrated database."""
    from app.db.migrate import upgrade

    if backend == "sqlite":
        path = workdir / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        raw = str(path)
    else:
        name = f"promogate_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        raw = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
        url = raw.replace("postgresql://", "postgresql+asyncpg://", 1)
    upgrade(url)
    return url, raw


def drop_database(backend: str, raw: str) -> None:
    if backend == "postgresql":
        name = raw.rsplit("/", 1)[1]
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """The service as `promogate serve --workers N` runs it: uvicorn's supervisor and N
    children on one port (just the one process when N is 1)."""
    # The pool is per process: N workers share the one process's 20 (+ overflow), so the
    # W3 storm opens as many PostgreSQL connections with N workers as with one.
    env = {**os.environ, "PROMOGATE_DATABASE_URL": url, "PROMOGATE_GRAPHIQL": "false",
           "PROMOGATE_LOG_LEVEL": "warning",
           "PROMOGATE_DATABASE_POOL_SIZE": str(max(5, 20 // workers))}
    several = ["--workers", str(workers), "--timeout-worker-healthcheck", "30"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port),
         "--log-level", "warning", "--no-access-log", *(several if workers > 1 else [])],
        cwd=ROOT, env=env,
    )
    return _wait_healthy(proc, port, timeout=30 + 30 * workers)


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and its live descendants (a server
    and its worker processes)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def start_floor_server(port: int) -> subprocess.Popen[bytes]:
    """F-HTTP: bench/floor_app.py (a bare Starlette echo) as its own uvicorn process."""
    return _start_app("bench.floor_app:app", port)


def start_gql_floor_server(port: int) -> subprocess.Popen[bytes]:
    """F-GQL: bench/floor_gql.py (a bare Strawberry `{ hello }`) as its own uvicorn process."""
    return _start_app("bench.floor_gql:app", port)


def _start_app(app: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return _wait_healthy(proc, port)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


def peak_rss_kb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM, kB) so far; None where /proc has no such entry."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _wait_healthy(proc: subprocess.Popen[bytes], port: int,
                  timeout: float = 30) -> subprocess.Popen[bytes]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


# --- load -------------------------------------------------------------------------------

def drive(port: int, body: dict[str, Any], seconds: float, concurrency: int, *,
          token: str | None = SECRET) -> dict[str, Any]:
    """Sustained load from wrk (bench/wrk.py): `concurrency` connections, one wrk thread."""
    return wrk.drive(port, body, seconds, concurrency, token=token)


def _collect(proc: mp.Process, queue: mp.Queue) -> dict[str, Any]:  # type: ignore[type-arg]
    """The driver's result; an error (not a hang) when the driver process died without one."""
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Empty:
            if not proc.is_alive() and queue.empty():
                raise RuntimeError(
                    f"load driver exited ({proc.exitcode}) without a result") from None
    proc.join()
    return result  # type: ignore[no-any-return]


# The storms stay on a Python client: their point is correctness (exactly 100 winners, a
# replay that adds nothing), which needs every answer parsed, not a rate.
def _storm(port: int, bodies: list[dict[str, Any]], out: mp.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {SECRET}"}
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                     timeout=120) as client:
            latencies: list[float] = []

            retries = 0

            async def one(body: dict[str, Any]) -> httpx.Response | None:
                # A dropped connection is retried with the same body: every storm request
                # carries an idempotency key, so a retry is what a real client would do.
                nonlocal retries
                started = time.perf_counter()
                for attempt in range(3):
                    try:
                        response = await client.post("/graphql", json=body, headers=headers)
                    except httpx.TransportError:
                        retries += attempt < 2
                        continue
                    latencies.append(time.perf_counter() - started)
                    return response
                return None

            began = time.perf_counter()
            responses = await asyncio.gather(*(one(b) for b in bodies))
            elapsed = time.perf_counter() - began
        ok = [r for r in responses
              if r is not None and r.status_code == 200 and r.json().get("data")]
        wins = sum(1 for r in ok
                   if "redeemStack" in r.json()["data"]
                   and not r.json()["data"]["redeemStack"]["errors"])
        latencies = sorted(latencies) or [float("nan")]
        return {"seconds": elapsed, "wins": wins, "attempts": len(bodies),
                "errors": len(bodies) - len(ok), "retries": retries,
                "rps": len(bodies) / elapsed,
                "p50": latencies[len(latencies) // 2] * 1000,
                "p95": latencies[int(len(latencies) * 0.95)] * 1000,
                "p99": latencies[int(len(latencies) * 0.99)] * 1000}

    out.put(asyncio.run(main()))


def storm(port: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    proc = mp.Process(target=_storm, args=(port, bodies, queue))
    proc.start()
    return _collect(proc, queue)


