"""Gift cards: opening balance in the ledger, top-ups and removals, idempotency, races."""

from __future__ import annotations

import asyncio

from factories import error_codes, mutate
from promo_factories import ADD_BALANCE, TRANSACTION, create_gift_card, create_voucher

LEDGER = (
    f"query($code: String!) {{ voucherTransactions(code: $code, first: 100) {{ totalCount "
    f"edges {{ node {{ {TRANSACTION} }} }} }} "
    "voucher(code: $code) { gift { amount balance } } }"
)


async def ledger(api, code):
    data = await api(LEDGER, code=code)
    entries = [e["node"] for e in data["voucherTransactions"]["edges"]]
    return entries, data["voucher"]["gift"]


class TestGiftCardBalance:
    async def test_opening_balance_is_a_ledger_entry(self, api):
        await create_gift_card(api, amount=5000, code="GIFT1")

        entries, gift = await ledger(api, "GIFT1")

        assert gift == {"amount": 5000, "balance": 5000}
        assert [(e["type"], e["amount"], e["balanceAfter"], e["reason"]) for e in entries] == [
            ("CREDITS_ADDITION", 5000, 5000, "initial balance")
        ]

    async def test_add_and_remove(self, api):
        await create_gift_card(api, amount=1000, code="GIFT2")

        added = await mutate(api, ADD_BALANCE, code="GIFT2", amount=500, reason="goodwill")
        removed = await mutate(api, ADD_BALANCE, code="GIFT2", amount=-1200)

        assert added["voucher"]["gift"] == {"amount": 1500, "balance": 1500}
        assert (added["transaction"]["type"], added["transaction"]["balanceAfter"]) == (
            "CREDITS_ADDITION", 1500
        )
        assert removed["voucher"]["gift"] == {"amount": 1500, "balance": 300}
        assert (removed["transaction"]["type"], removed["transaction"]["amount"]) == (
            "CREDITS_REMOVAL", -1200
        )
        entries, gift = await ledger(api, "GIFT2")
        assert sum(e["amount"] for e in entries) == gift["balance"] == 300

    async def test_never_below_zero(self, api):
        await create_gift_card(api, amount=100, code="GIFT3")

        payload = await mutate(api, ADD_BALANCE, code="GIFT3", amount=-101)

        assert error_codes(payload) == [("gift_amount_exceeded", ["amount"])]
        entries, gift = await ledger(api, "GIFT3")
        assert gift["balance"] == 100 and len(entries) == 1

    async def test_source_id_makes_it_idempotent(self, api):
        await create_gift_card(api, amount=100, code="GIFT4")

        first = await mutate(api, ADD_BALANCE, code="GIFT4", amount=50, sourceId="topup-1")
        again = await mutate(api, ADD_BALANCE, code="GIFT4", amount=50, sourceId="topup-1")
        other = await mutate(api, ADD_BALANCE, code="GIFT4", amount=70, sourceId="topup-1")

        assert again["transaction"] == first["transaction"]
        assert error_codes(other) == [("duplicate_source_id", ["sourceId"])]
        entries, gift = await ledger(api, "GIFT4")
        assert gift["balance"] == 150 and len(entries) == 2

    async def test_refusals(self, api):
        await create_voucher(api, code="NOTGIFT")
        await create_gift_card(api, code="GIFT5")

        assert error_codes(await mutate(api, ADD_BALANCE, code="NOTGIFT", amount=5)) == [
            ("invalid_voucher", ["code"])
        ]
        assert error_codes(await mutate(api, ADD_BALANCE, code="GIFT5", amount=0)) == [
            ("invalid_amount", ["amount"])
        ]
        assert error_codes(await mutate(api, ADD_BALANCE, code="NOPE", amount=5)) == [
            ("not_found", ["code"])
        ]

    async def test_concurrent_adjustments_keep_the_ledger_balanced(self, api):
        await create_gift_card(api, amount=1000, code="RACE")
        amounts = [300 if i % 2 else -400 for i in range(30)]

        results = await asyncio.gather(
            *(mutate(api, ADD_BALANCE, code="RACE", amount=a) for a in amounts)
        )

        entries, gift = await ledger(api, "RACE")
        ok = [a for a, r in zip(amounts, results, strict=True) if not r["errors"]]
        refused = [r for r in results if r["errors"]]
        assert all(error_codes(r) == [("gift_amount_exceeded", ["amount"])] for r in refused)
        assert gift["balance"] == 1000 + sum(ok) >= 0
        assert sum(e["amount"] for e in entries) == gift["balance"]
        assert len(entries) == 1 + len(ok)
        assert all(e["balanceAfter"] >= 0 for e in entries)

    async def test_other_project_cannot_top_up(self, api, make_tenant):
        await create_gift_card(api, code="MYGIFT")
        other = (await make_tenant("Other")).api

        payload = await mutate(other, ADD_BALANCE, code="MYGIFT", amount=100)

        assert error_codes(payload) == [("not_found", ["code"])]
        assert (await ledger(api, "MYGIFT"))[1]["balance"] == 5000
