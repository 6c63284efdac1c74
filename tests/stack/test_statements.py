"""How many SQL statements a warm validateStack sends: the project head, the vouchers and their
LOCK-session holds in one statement; every definition (tiers, campaigns, rules, categories,
stacking rules, order lines' catalog) comes from the per-process caches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from app.db.session import Database
from tests.stack import factories as f

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid redeemables { id status } order { totalAmount } } }"""
CART = {"items": [{"sourceId": "tee", "quantity": 2, "price": 2000},
                  {"sourceId": "cap", "quantity": 1, "price": 1000}]}


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            sent.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


async def test_a_warm_validation_of_every_kind_is_one_statement(tenant, db, statements) -> None:
    pid = tenant.project_id
    camp = await f.campaign(db, pid)
    await f.voucher(db, pid, "TEN", campaign_id=camp.id,
                    discount={"type": "PERCENT", "percent_off": 10})
    await f.voucher(db, pid, "CARD", gift=10_000)
    promo = await f.campaign(db, pid, campaign_type="PROMOTION")
    tier = await f.tier(db, pid, promo.id, discount={"type": "AMOUNT", "amount_off": 300})
    asks = {"redeemables": [{"object": "VOUCHER", "id": "TEN"},
                            {"object": "PROMOTION_TIER", "id": tier.id},
                            {"object": "VOUCHER", "id": "CARD", "gift": {"credits": 700}}],
            "order": CART}
    first = (await tenant.api(VALIDATE, i=asks))["validateStack"]
    assert first["valid"] and first["order"] == {"totalAmount": 3500}  # 5000 - 500 - 300 - 700
    statements.clear()
    again = (await tenant.api(VALIDATE, i=asks))["validateStack"]
    assert again == first
    assert len(statements) == 1, statements
    assert statements[0].startswith("SELECT projects.time_zone"), statements
    assert "FROM projects LEFT OUTER JOIN (SELECT vouchers" in statements[0], statements
