"""The HTTP load driver: wrk (C, event loop, LuaJIT), so the client is never the bottleneck.

A Python load process tops out at a few hundred requests per second on this kind of box,
which is below what the bare framework serves; figures measured with it were the driver's,
not the server's. wrk runs as its own process on its own core (1 thread by default), keeps
`connections` requests in flight, and checks every response in Lua: a non-200 status or a
body with a non-empty `errors` list (GraphQL's, or a mutation payload's) counts as an
error, so a workload that starts failing cannot look fast.

    drive(port, body, seconds=8, connections=16) -> {"rps", "p50", "p95", "p99", "errors", ...}

Install: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

MARK = "WRKJSON "

# Every thread keeps its own Lua state; `done` runs in the main state and reads the threads'
# counters through the thread objects collected in `setup`.
SCRIPT = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(auth)s
wrk.body = [==[%(body)s]==]

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":[{', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do bad_total = bad_total + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"bad":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50":%%d,"p90":%%d,"p95":%%d,"p99":%%d,' ..
    '"mean":%%f,"max":%%d}\n',
    summary.requests, summary.duration, bad_total, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max))
end
"""


class WrkMissing(RuntimeError):
    pass


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing(
            "wrk is not installed: the benchmark drives HTTP load with it, because a Python "
            "load process is slower than the server it measures. Install it with "
            "`apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)."
        )
    return path


def version() -> str:
    done = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True,
                          check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()


def _precheck(port: int, body: dict[str, Any], token: str | None) -> None:
    """One request through httpx first: a body that errors is a broken benchmark, not a
    slow one, and must stop the run with the server's answer instead of a meaningless rate."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"http://127.0.0.1:{port}/graphql", json=body, headers=headers,
                          timeout=60)
    if response.status_code != 200 or "errors" in response.json():
        raise RuntimeError(f"the benchmark request fails: {response.status_code} "
                           f"{response.text[:500]}")


def _duration(seconds: float) -> str:
    """wrk takes whole seconds (`2s`; no fractions, no `ms`)."""
    return f"{max(1, round(seconds))}s"


def drive(port: int, body: dict[str, Any], seconds: float, connections: int, *,
          token: str | None = None, threads: int = 1, warmup: float = 1.0,
          precheck: bool = True) -> dict[str, Any]:
    """`connections` clients for `seconds` against POST /graphql; latency in ms."""
    binary = wrk_path()
    if precheck:
        _precheck(port, body, token)
    text = json.dumps(body, separators=(",", ":"))
    if "]==]" in text:
        raise ValueError("body contains the Lua long-bracket terminator")
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "load.lua"
        script.write_text(SCRIPT % {"auth": auth, "body": text, "mark": MARK})
        url = f"http://127.0.0.1:{port}/graphql"
        threads = max(1, min(threads, connections))
        if warmup > 0:  # connections open, caches and the JIT of both sides warm
            subprocess.run([binary, "-t", str(threads), "-c", str(connections),
                            "-d", _duration(warmup), "-s", str(script), url],
                           capture_output=True, text=True, check=False)
        done = subprocess.run(
            [binary, "-t", str(threads), "-c", str(connections), "-d", _duration(seconds),
             "--timeout", "30s", "-s", str(script), url],
            capture_output=True, text=True, check=False,
        )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARK)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    raw = json.loads(line[len(MARK):])
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    seconds_run = raw["duration_us"] / 1e6
    return {
        "driver": "wrk", "connections": connections, "threads": threads,
        "requests": raw["requests"], "rps": raw["requests"] / seconds_run,
        "errors": raw["bad"] + socket_errors, "socket_errors": socket_errors,
        "p50": raw["p50"] / 1000, "p90": raw["p90"] / 1000, "p95": raw["p95"] / 1000,
        "p99": raw["p99"] / 1000, "mean": raw["mean"] / 1000, "max": raw["max"] / 1000,
    }
