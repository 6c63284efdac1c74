"""Checkout reads stay index lookups on big tables whose statistics are stale.

A fresh database, its statistics taken while the project was small, then tens of thousands of
unrelated codes, redemptions, orders and customers added without ANALYZE (autovacuum off, as
after a bulk insert before autovacuum comes by). Every statement a validation and a redemption
send (captured on the wire) is EXPLAINed with its parameters: none may scan vouchers,
redemptions, customers or orders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.db.migrate import upgrade_async
from app.db.rules import ValidationRule
from app.db.session import Database
from app.main import create_app
from app.settings import Settings
from bench import bigdata_bench as big
from tests.conftest import BACKENDS, fresh_database_url

BIG_TABLES = {"vouchers", "redemptions", "customers", "orders"}


def _whole(index: str, cond: str) -> bool:
    """An index read that is a scan in disguise: the project's every row, or every child
    redemption (`parent_id IS NOT NULL`), instead of the rows named. Codes without a campaign
    (`campaign_id IS NULL` on the campaign index) are rows named: every one of them is a
    qualification candidate, and codes of campaigns are not read."""
    if "campaign_id IS NULL" in cond:
        return index.endswith("_project_id")
    return index.endswith("_project_id") or "=" not in cond


def _pg_scans(plan: Any) -> list[str]:
    """Big tables read whole anywhere in a PostgreSQL JSON plan: a Seq Scan, or an index
    read with no selective condition."""
    found: list[str] = []
    if isinstance(plan, dict):
        node = plan.get("Node Type", "")
        if node == "Seq Scan":
            found.append(plan.get("Relation Name", "?"))
        elif "Index" in node and _whole(plan.get("Index Name", ""), plan.get("Index Cond", "")):
            index = plan.get("Index Name", "")
            found += [t for t in BIG_TABLES if t in index]
        for value in plan.values():
            found += _pg_scans(value)
    elif isinstance(plan, list):
        for value in plan:
            found += _pg_scans(value)
    return found


def _sqlite_scans(rows: list[Any]) -> list[str]:
    """Tables SQLite reads whole: "SCAN t" (with or without a covering index), or a SEARCH
    on an index that is no selection ("USING INDEX ix_t_project_id (project_id=?)")."""
    scans = []
    for row in rows:
        detail = str(row[-1])
        words = detail.split()
        if detail.startswith("SCAN "):
            scans.append(words[1])
        elif detail.startswith("SEARCH ") and "INDEX" in words:
            index = words[words.index("INDEX") + 1]
            if _whole(index, detail[detail.find("("):]):
                scans.append(words[1])
    return scans


async def _scans(db: Database, statement: str, parameters: Any) -> list[str]:
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                               parameters)).all()
            return _sqlite_scans(list(rows))
        plan = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                           parameters)).scalar_one()
        return _pg_scans(json.loads(plan) if isinstance(plan, str) else plan)


async def _plan(db: Database, statement: str, parameters: Any) -> Any:
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            return [r[-1] for r in (await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)).all()]
        return (await conn.exec_driver_sql("EXPLAIN " + statement, parameters)).all()


@pytest.fixture(params=BACKENDS)
async def grown(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    async with fresh_database_url(request.param, tmp_path) as url:
        await upgrade_async(url)
        db = Database.from_url(url, pool_size=2)
        try:
            await big.autovacuum_off(db)
            ids = await big.setup(db)
            pid, camp = ids["project_id"], ids["big_campaign"]
            await big.seed_rows(db, pid, camp, codes=(1, 100), customers=(1, 10),
                                redemptions=(1, 20), customer_count=10)
            await big.analyze(db)
            # A quarter of the new redemptions spend the measured coupon TEN itself.
            await big.seed_rows(db, pid, camp, codes=(101, 60_000), customers=(11, 2_000),
                                redemptions=(21, 12_000), customer_count=2_000,
                                hot=ids["hot"])
            app = create_app(Settings(database_url=url), database=db)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://promogate.test") as client:
                yield db, client
        finally:
            await db.dispose()


async def test_checkout_statements_never_scan_big_tables(grown: Any) -> None:
    db, client = grown
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            sent.append((statement, parameters))

    headers = {"Authorization": f"Bearer {big.SECRET}"}
    answers = {}
    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        # qualify first: it builds the project's candidate cache (the unheld generic codes)
        for n, name in enumerate(("qualify", "validate", "redeem", "validate", "redeem")):
            body = big.bodies(n, 10)[name]
            answers[name] = (await client.post("/graphql", json=body, headers=headers)).json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert answers["validate"]["data"]["validateStack"]["valid"] is True
    assert answers["validate"]["data"]["validateStack"]["order"] == {"totalAmount": 6660}
    assert answers["redeem"]["data"]["redeemStack"]["errors"] == []
    assert "errors" not in answers["qualify"]

    texts = {s for s, _ in sent}
    assert any("FROM projects" in s and "vouchers" in s for s in texts)  # the head statement
    counts = [s for s in texts if "redemptions" in s and "GROUP BY" in s]
    assert counts and all("customer_id = " in s for s in counts)  # only the customer's own
    assert any("FROM customers" in s for s in texts)  # the customer by source id
    scanned = {}
    for statement, parameters in sent:
        scans = [t for t in await _scans(db, statement, parameters) if t in BIG_TABLES]
        if scans:
            scanned[statement[:60]] = (scans, await _plan(db, statement, parameters))
    assert scanned == {}


async def test_the_per_customer_counts_count_the_customers_redemptions(grown: Any) -> None:
    """The split lookups answer as before: under a limit of 2 per customer, big-3 redeems TEN
    twice and the third ask fails; big-4, with 5 seeded redemptions of TEN, fails at once;
    big-2 passes."""
    db, client = grown
    headers = {"Authorization": f"Bearer {big.SECRET}"}
    async with db.write() as session:  # a Core UPDATE: the catalog version moves with it
        await session.execute(sa.update(ValidationRule).values(rules={
            "1": {"name": "redemption.count.per_customer",
                  "conditions": {"$less_than_or_equal": [2]}}, "logic": "1"}))
    body = big.bodies(2, 10)["redeem"]  # customer big-3
    for _ in range(2):
        got = (await client.post("/graphql", json=body, headers=headers)).json()
        assert got["data"]["redeemStack"]["errors"] == []
    third = (await client.post("/graphql", json=body, headers=headers)).json()
    assert [e["code"] for e in third["data"]["redeemStack"]["errors"]] == [
        "redemption_rules_violated"]
    # big-4 spent TEN 5 times in the seeded rows (redemptions 2004, 4004, … 10004).
    seeded = (await client.post("/graphql", json=big.bodies(3, 10)["redeem"],
                                headers=headers)).json()
    assert [e["code"] for e in seeded["data"]["redeemStack"]["errors"]] == [
        "redemption_rules_violated"]
    other = (await client.post("/graphql", json=big.bodies(1, 10)["redeem"],
                               headers=headers)).json()  # big-2: none seeded
    assert other["data"]["redeemStack"]["errors"] == []
