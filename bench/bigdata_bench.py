"""W6 "big project": checkout latency must not grow with the data.

    python bench/bigdata_bench.py [--backend sqlite|postgresql|both] [--quick] [--rounds 150]

One fresh database per backend, autovacuum off for every table (PostgreSQL). One project:
an unlimited 10 % coupon `TEN` with a per-customer limit rule (so every request reads the
customer and the per-customer redemption counts), a small catalog of customers, codes and
redemptions, ANALYZEd while small. Measured in-process (the ASGI app driven by httpx, 1
client, median of `rounds` requests each): `{ __typename }` (the load control),
validateStack, qualifications (scenario ALL) and redeemStack of `TEN` for a 3-line cart and a
customer named by source id.

Then the same project grows by direct SQL, never analyzed (the planner keeps the small
statistics, as after a bulk insert before autovacuum comes by): 1,000,000 codes in an
unrelated STATIC campaign, 200,000 redemptions (parent + child, each with its order) of those
codes across 10,000 customers (`--quick`: 100,000 codes, 20,000 redemptions, 1,000 customers).
The same three requests are measured again. Target: big p50 <= 1.5 x small p50, each request.

The rows are valid for the app: prefixed ids, project and campaign ids, created_at, the
campaign's counters.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/bigdata_bench.py`

from bench.harness import PUBLISHABLE, SECRET, drop_database, make_database  # noqa: E402

FULL = {"codes": 1_000_000, "redemptions": 200_000, "customers": 10_000}
QUICK = {"codes": 100_000, "redemptions": 20_000, "customers": 1_000}
SMALL = {"codes": 1_000, "redemptions": 200, "customers": 100}
HOT_EVERY = 4  # every 4th seeded redemption spends the measured coupon TEN itself
TABLES = ("vouchers", "redemptions", "customers", "orders", "order_items", "campaigns",
          "session_reservations", "idempotency_records", "validation_rule_assignments")

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) { valid
  redeemables { status } order { totalAmount } } }"""
QUALIFY = """query($i: QualificationInput!) { qualifications(input: $i) { totalCount
  edges { node { id } } } }"""
REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id } errors { code } } }"""
CART = {"items": [{"sourceId": "tee", "quantity": 2, "price": 2000},
                  {"sourceId": "cap", "quantity": 1, "price": 1000},
                  {"sourceId": "mug", "quantity": 3, "price": 800}]}


# --- seeding by direct SQL ----------------------------------------------------------------

def _series(dialect: str) -> tuple[str, str]:
    """(WITH clause, FROM item) producing n = :first .. :last."""
    if dialect == "postgresql":
        return "", "generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS s(n)"
    return ("WITH RECURSIVE s(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM s "
            "WHERE n < :last) ", "s")


def _pad(dialect: str, expr: str, width: int) -> str:
    if dialect == "postgresql":
        return f"lpad(CAST({expr} AS text), {width}, '0')"
    return f"printf('%0{width}d', {expr})"


def _id(dialect: str, prefix: str, expr: str = "n") -> str:
    """`prefix_` and 26 Crockford characters, like a ULID (a fixed head, then the number)."""
    return f"'{prefix}_01JB6' || {_pad(dialect, expr, 21)}"


def _json(dialect: str, text: str) -> str:
    return f"CAST('{text}' AS jsonb)" if dialect == "postgresql" else f"'{text}'"


def _bool(dialect: str, value: bool) -> str:
    if dialect == "postgresql":
        return "true" if value else "false"
    return "1" if value else "0"


async def seed_rows(db: Any, project_id: str, campaign_id: str, *, codes: tuple[int, int],
                    customers: tuple[int, int], redemptions: tuple[int, int],
                    customer_count: int, hot: tuple[str, str] | None = None) -> None:
    """Rows numbered first..last of each kind (ranges, so a project can grow in steps):
    codes `BIG00000001…` in `campaign_id`; customers `big-1…`; per redemption n an order, a
    parent redemption and its child on code n by customer ((n - 1) % customer_count) + 1.
    `hot`: (voucher id, campaign id) of a code that every HOT_EVERY-th redemption spends
    instead (a popular coupon, redeemed by many customers)."""
    import sqlalchemy as sa

    d = db.dialect
    with_, series = _series(d)
    when = datetime.now(UTC) - timedelta(days=1)
    created: Any = when if d == "postgresql" else when.replace(tzinfo=None).isoformat(" ")
    customer = f"(((n - 1) % {customer_count}) + 1)"
    spent, spent_campaign = _id(d, "v"), ":camp"
    if hot is not None:
        spent = f"CASE WHEN n % {HOT_EVERY} = 0 THEN :hot ELSE {spent} END"
        spent_campaign = f"CASE WHEN n % {HOT_EVERY} = 0 THEN :hot_campaign ELSE :camp END"
    statements = [
        (codes, f"""{with_}INSERT INTO vouchers (id, project_id, code, campaign_id, type,
            discount, gift_amount, gift_balance, redemption_quantity, redeemed_quantity,
            redeemed_amount, active, is_referral_code, metadata, created_at)
            SELECT {_id(d, 'v')}, :pid, 'BIG' || {_pad(d, 'n', 8)}, :camp, 'DISCOUNT_VOUCHER',
            {_json(d, '{"type": "PERCENT", "percent_off": 5}')}, 0, 0, 1,
            CASE WHEN n <= :redeemed THEN 1 ELSE 0 END, CASE WHEN n <= :redeemed THEN 250
            ELSE 0 END, {_bool(d, True)}, {_bool(d, False)}, {_json(d, '{}')}, :created
            FROM {series}"""),
        (customers, f"""{with_}INSERT INTO customers (id, project_id, source_id, name, metadata,
            redemptions_succeeded, redemptions_failed, redemptions_rolled_back, orders_count,
            orders_amount, created_at)
            SELECT {_id(d, 'cust')}, :pid, 'big-' || n, 'Customer ' || n, {_json(d, '{}')},
            0, 0, 0, 0, 0, :created FROM {series}"""),
        (redemptions, f"""{with_}INSERT INTO orders (id, project_id, source_id, status, amount,
            discount_amount, items_discount_amount, total_discount_amount, total_amount,
            customer_id, metadata, created_at)
            SELECT {_id(d, 'ord')}, :pid, NULL, 'PAID', 5000, 250, 0, 250, 4750,
            {_id(d, 'cust', customer)}, {_json(d, '{}')}, :created FROM {series}"""),
        (redemptions, f"""{with_}INSERT INTO redemptions (id, project_id, parent_id, result,
            status, related_object_type, voucher_id, campaign_id, customer_id, order_id,
            amount, gift_credits, order_amount, metadata, created_at)
            SELECT {_id(d, 'r', '2 * n')}, :pid, NULL, 'SUCCESS', 'SUCCEEDED', 'redemption',
            NULL, NULL, {_id(d, 'cust', customer)}, {_id(d, 'ord')}, 250, 0, 5000,
            {_json(d, '{}')}, :created FROM {series}"""),
        (redemptions, f"""{with_}INSERT INTO redemptions (id, project_id, parent_id, result,
            status, related_object_type, voucher_id, campaign_id, customer_id, order_id,
            amount, gift_credits, order_amount, metadata, created_at)
            SELECT {_id(d, 'r', '2 * n + 1')}, :pid, {_id(d, 'r', '2 * n')}, 'SUCCESS',
            'SUCCEEDED', 'voucher', {spent}, {spent_campaign}, {_id(d, 'cust', customer)},
            {_id(d, 'ord')}, 250, 0, 5000, {_json(d, '{}')}, :created FROM {series}"""),
    ]
    async with db.write() as session:
        for (first, last), sql in statements:
            if last < first:
                continue
            await session.execute(sa.text(sql), {
                "first": first, "last": last, "pid": project_id, "camp": campaign_id,
                "redeemed": redemptions[1], "created": created,
                **({"hot": hot[0], "hot_campaign": hot[1]} if hot else {})})
        if hot is not None and redemptions[1] >= redemptions[0]:
            spent_hot = redemptions[1] // HOT_EVERY - (redemptions[0] - 1) // HOT_EVERY
            await session.execute(sa.text(
                "UPDATE vouchers SET redeemed_quantity = redeemed_quantity + :n WHERE id = :v"),
                {"n": spent_hot, "v": hot[0]})
        await session.execute(sa.text(
            "UPDATE campaigns SET vouchers_count = :codes, redemptions_count = :red "
            "WHERE id = :camp"), {"codes": codes[1], "red": redemptions[1], "camp": campaign_id})


async def autovacuum_off(db: Any) -> None:
    import sqlalchemy as sa

    if db.dialect != "postgresql":
        return
    async with db.write() as session:
        for table in TABLES:
            await session.execute(sa.text(
                f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))


async def settle(db: Any) -> None:
    """SQLite: checkpoint the WAL the seeding transaction grew. The app's own bulk jobs commit
    in batches, each followed by an automatic checkpoint; one seeding transaction of a million
    rows leaves a WAL of hundreds of MB that every read would search until the next
    checkpoint, which is the seeding's cost, not the requests'. Statistics are untouched."""

    if db.dialect == "sqlite":
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            await conn.commit()


async def analyze(db: Any) -> None:
    import sqlalchemy as sa

    async with db.write() as session:
        for table in TABLES:
            await session.execute(sa.text(f"ANALYZE {table}"))


async def setup(db: Any) -> dict[str, Any]:
    """The project, its coupon `TEN` (unlimited, 10 %, at most 1,000,000 uses per customer)
    and the unrelated STATIC campaign the big codes go to."""
    from app.db.campaigns import Campaign
    from app.db.ids import new_id
    from app.db.rules import ValidationRule, ValidationRuleAssignment
    from app.db.vouchers import Voucher
    from app.services import projects

    boot = await projects.ensure_sandbox(db, currency="USD", time_zone="UTC",
                                         secret_key=SECRET, publishable_key=PUBLISHABLE)
    pid = boot.project.id

    def campaign(name: str, type_: str) -> Campaign:
        return Campaign(
            id=new_id("camp"), project_id=pid, name=name, campaign_type="DISCOUNT_COUPONS",
            type=type_, vouchers_count=0, active=True, join_once=False, auto_join=False,
            creation_status="DONE", redemptions_count=0, discounted_amount=0, orders_amount=0,
            metadata_={})

    coupons, big = campaign("coupons", "STANDALONE"), campaign("big", "STATIC")
    ten = Voucher(id=new_id("v"), project_id=pid, code="TEN", campaign_id=coupons.id,
                  type="DISCOUNT_VOUCHER", discount={"type": "PERCENT", "percent_off": 10},
                  gift_amount=0, gift_balance=0, redemption_quantity=None, redeemed_quantity=0,
                  redeemed_amount=0, active=True, is_referral_code=False, metadata_={})
    rule = ValidationRule(id=new_id("val"), project_id=pid, name="per customer", rules={
        "1": {"name": "redemption.count.per_customer",
              "conditions": {"$less_than_or_equal": [1_000_000]}},
        "logic": "1"})
    async with db.write() as session:
        session.add_all([coupons, big])
        await session.flush()
        session.add_all([ten, rule])
        await session.flush()
        session.add(ValidationRuleAssignment(
            id=new_id("asgm"), project_id=pid, rule_id=rule.id, related_object_type="voucher",
            related_object_id=ten.id))
    return {"project_id": pid, "big_campaign": big.id, "hot": (ten.id, coupons.id)}


# --- measuring ----------------------------------------------------------------------------

def bodies(n: int, customers: int) -> dict[str, dict[str, Any]]:
    customer = {"sourceId": f"big-{1 + n % customers}"}
    return {
        "trivial": {"query": "{ __typename }"},
        "validate": {"query": VALIDATE, "variables": {"i": {
            "redeemables": [{"object": "VOUCHER", "id": "TEN"}], "order": CART,
            "customer": customer}}},
        "qualify": {"query": QUALIFY, "variables": {"i": {
            "order": CART, "customer": customer, "scenario": "ALL"}}},
        "redeem": {"query": REDEEM, "variables": {"i": {
            "redeemables": [{"object": "VOUCHER", "id": "TEN"}], "order": CART,
            "customer": customer}}},
    }


def _check(name: str, data: dict[str, Any]) -> None:
    if data.get("errors"):
        raise RuntimeError(f"{name}: {data['errors']}")
    body = data["data"]
    ok = (body["__typename"] == "Query" if name == "trivial"
          else body["validateStack"]["valid"] if name == "validate"
          else body["qualifications"]["totalCount"] >= 0 if name == "qualify"
          else not body["redeemStack"]["errors"])
    if not ok:
        raise RuntimeError(f"{name}: unexpected answer {body}")


async def measure(client: Any, rounds: int, customers: int) -> dict[str, dict[str, float]]:
    """p50 and p95 (ms) of each request kind, `rounds` sequential requests each (after 10
    warm-up requests), customers cycling through the small set."""
    headers = {"Authorization": f"Bearer {SECRET}"}
    out: dict[str, dict[str, float]] = {}
    for name in ("trivial", "validate", "qualify", "redeem"):
        times: list[float] = []
        for n in range(rounds + 10):
            body = bodies(n, customers)[name]
            started = time.perf_counter()
            response = await client.post("/graphql", json=body, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            _check(name, response.json())
            if n >= 10:
                times.append(elapsed)
        times.sort()
        out[name] = {"p50": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1]}
    return out


async def run_backend(backend: str, sizes: dict[str, int], rounds: int) -> dict[str, Any]:
    import httpx

    from app.db.session import Database
    from app.main import create_app
    from app.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        url, raw = await asyncio.to_thread(make_database, backend, Path(tmp))
        db = Database.from_url(url, pool_size=2)
        try:
            await autovacuum_off(db)
            ids = await setup(db)
            pid, camp = ids["project_id"], ids["big_campaign"]
            per = SMALL["customers"]
            await seed_rows(db, pid, camp, codes=(1, SMALL["codes"]),
                            customers=(1, SMALL["customers"]),
                            redemptions=(1, SMALL["redemptions"]), customer_count=per,
                            hot=ids["hot"])
            await analyze(db)
            app = create_app(Settings(database_url=url), database=db)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                small = await measure(client, rounds, per)
                started = time.perf_counter()
                await seed_rows(db, pid, camp, codes=(SMALL["codes"] + 1, sizes["codes"]),
                                customers=(SMALL["customers"] + 1, sizes["customers"]),
                                redemptions=(SMALL["redemptions"] + 1, sizes["redemptions"]),
                                customer_count=sizes["customers"], hot=ids["hot"])
                await settle(db)
                seeded = time.perf_counter() - started
                big = await measure(client, rounds, per)
        finally:
            await db.dispose()
            await asyncio.to_thread(drop_database, backend, raw)
    return {"backend": backend, "sizes": sizes, "seed_seconds": seeded, "small": small,
            "big": big,
            "ratios": {k: big[k]["p50"] / small[k]["p50"] for k in small},
            # each p50 over the same phase's `{ __typename }` p50: what is left of the ratio
            # when the box's load moved between the two phases
            "normalised": {k: (big[k]["p50"] / big["trivial"]["p50"])
                           / (small[k]["p50"] / small["trivial"]["p50"]) for k in small}}


def rows(result: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """(request, small p50, big p50, ratio) per request kind."""
    return [(k, result["small"][k]["p50"], result["big"][k]["p50"], result["ratios"][k])
            for k in ("validate", "qualify", "redeem")]


def run(backend: str, quick: bool, rounds: int = 150) -> dict[str, Any]:
    return asyncio.run(run_backend(backend, QUICK if quick else FULL, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=150)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run(backend, args.quick, args.rounds)
        s = r["sizes"]
        print(f"## W6 {backend}: {s['codes']:,} codes, {s['redemptions']:,} redemptions, "
              f"{s['customers']:,} customers (seeded in {r['seed_seconds']:.1f} s)")
        print("| request | small p50 ms | big p50 ms | big / small | target <= 1.5 | "
              "normalised by { __typename } |")
        print("|---|---:|---:|---:|---|---:|")
        for name, small, big, ratio in rows(r):
            print(f"| {name} | {small:.2f} | {big:.2f} | {ratio:.2f} | "
                  f"{'pass' if ratio <= 1.5 else 'MISS'} | {r['normalised'][name]:.2f} |")
        print(f"{{ __typename }} p50: small {r['small']['trivial']['p50']:.2f} ms, "
              f"big {r['big']['trivial']['p50']:.2f} ms")
        print(f"redeem p95: small {r['small']['redeem']['p95']:.2f} ms, "
              f"big {r['big']['redeem']['p95']:.2f} ms")


if __name__ == "__main__":
    main()
