"""How many SQL statements one warm redeemStack sends, and which: a regression (a statement
per row, a re-read after a write, a flush per object) shows here first. Each spent voucher
costs its lock and its guarded UPDATE; everything else is one statement per table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from app.db.session import Database
from tests.stack import factories as f

REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id result amount } order { totalAmount } errors { code } } }"""
CART = {"items": [{"sourceId": f"p{n}", "quantity": 1 + n % 3, "price": 1000 + 100 * n}
                  for n in range(10)]}
# what one successful redemption of one discount voucher sends (BEGIN/COMMIT aside)
EXPECTED = [
    # read-only pre-check: the key, then the project head with the vouchers and their holds
    ("SELECT", "idempotency_records"),
    ("SELECT", "projects"),
    # the spending transaction: lock, head, holds, then one write per table
    ("SELECT", "vouchers"),
    ("SELECT", "projects"),
    ("SELECT", "session_reservations"),
    ("INSERT", "orders"),
    ("INSERT", "order_items"),
    ("INSERT", "redemptions"),
    ("UPDATE", "vouchers"),
    ("SELECT", "webhook_endpoints"),  # PostgreSQL: with the pg_notify
    ("INSERT", "events"),
    ("INSERT", "idempotency_records"),
]


def shape(statement: str) -> tuple[str, str]:
    """(verb, table): the table written, or the first one read outside subqueries."""
    verb = statement.split(None, 1)[0].upper()
    while re.search(r"\([^()]*\)", statement):
        statement = re.sub(r"\([^()]*\)", "", statement)
    pattern = {"INSERT": r"INSERT INTO (\w+)", "UPDATE": r"UPDATE (\w+)"}.get(
        verb, r"\bFROM \(?(\w+)")
    found = re.search(pattern, statement)
    if verb == "SELECT" and " AS notified " in statement:
        found = re.search(r"JOIN (\w+)", statement)
    return verb, found.group(1) if found else "?"


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            sent.append(" ".join(statement.split()))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


async def test_one_redemption_sends_twelve_statements(tenant, db, statements) -> None:
    await f.voucher(db, tenant.project_id, "TEN", discount={"type": "PERCENT", "percent_off": 10})

    async def redeem(key: str) -> dict[str, Any]:
        return (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "TEN"}], "order": CART,
            "idempotencyKey": key}))["redeemStack"]

    first = await redeem("k1")  # warms the definition and catalog caches
    assert first["errors"] == [] and first["redemption"]["result"] == "SUCCESS"
    statements.clear()
    again = await redeem("k2")
    assert again["errors"] == [] and again["redemption"]["amount"] == first["redemption"][
        "amount"] == 2770  # 10% of 27700
    assert [shape(s) for s in statements] == EXPECTED, statements
    if db.is_sqlite:
        assert not any("pg_notify" in s for s in statements)
    else:
        assert sum("pg_notify" in s for s in statements) == 1, statements

    statements.clear()  # a replay reads the key, then the stored answer's rows
    replay = await redeem("k2")
    assert replay["redemption"]["id"] == again["redemption"]["id"]
    assert not any(s.startswith(("INSERT", "UPDATE")) for s in statements), statements
