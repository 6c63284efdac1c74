"""Bulk code generation: inline up to 1,000 codes, background job above, resume on restart."""

from __future__ import annotations

import sqlalchemy as sa
from factories import error_codes, mutate
from promo_factories import (
    AMOUNT_10,
    CREATE_CAMPAIGN,
    TRANSACTION,
    VOUCHER,
    campaign_codes,
    wait_for_action,
)

from app.db.campaigns import Campaign
from app.db.redemptions import AsyncAction
from app.db.vouchers import Voucher, VoucherTransaction
from app.services import async_actions

TEMPLATE = {"type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10}


async def _create(api, name, count, **template):
    return await mutate(api, CREATE_CAMPAIGN, name=name, campaignType="DISCOUNT_COUPONS",
                        type="STATIC", vouchersCount=count, voucher={**TEMPLATE, **template})


class TestInlineGeneration:
    async def test_thousand_codes_inline(self, api):
        payload = await _create(api, "K", 1000, codeConfig={"length": 10})

        assert payload["errors"] == [] and payload["asyncAction"] is None
        assert payload["campaign"]["vouchersCount"] == 1000
        assert len(set(await campaign_codes(api, payload["campaign"]["id"]))) == 1000

    async def test_infeasible_config(self, api):
        too_many = await _create(api, "A", 10, codeConfig={"charset": "01", "length": 3})
        too_dense = await _create(api, "B", 5, codeConfig={"charset": "01", "length": 3})
        bad = await _create(api, "C", 5, codeConfig={"charset": "x"})

        assert error_codes(too_many) == [("invalid_code_config", ["voucher", "codeConfig"])]
        assert "Not possible to generate" in too_many["errors"][0]["message"]
        assert error_codes(too_dense) == [("invalid_code_config", ["voucher", "codeConfig"])]
        assert error_codes(bad) == [("invalid_code_config", ["voucher", "codeConfig", "charset"])]

    async def test_every_code_config_field_is_checked(self, api):
        cases = [
            ({"charset": ""}, "charset"),
            ({"charset": "AABC"}, "charset"),
            ({"charset": "AB\u0301C"}, "charset"),
            ({"pattern": ""}, "pattern"),
            ({"pattern": "CODE"}, "pattern"),
            ({"pattern": "##-##", "length": 6}, "length"),
            ({"length": 0}, "length"),
        ]
        for index, (config, field) in enumerate(cases):
            payload = await _create(api, f"Bad {index}", 3, codeConfig=config)
            assert error_codes(payload) == [
                ("invalid_code_config", ["voucher", "codeConfig", field])
            ], config
        data = await api("{ campaigns { totalCount } vouchers { totalCount } }")
        assert (data["campaigns"]["totalCount"], data["vouchers"]["totalCount"]) == (0, 0)

    async def test_generic_code_with_a_code_config_is_refused(self, api):
        payload = await mutate(api, CREATE_CAMPAIGN, name="One", campaignType="DISCOUNT_COUPONS",
                               voucher={**TEMPLATE, "code": "SPRING",
                                        "codeConfig": {"length": 4}})

        assert error_codes(payload) == [("invalid_code_config", ["voucher", "codeConfig"])]

    async def test_collisions_with_other_campaigns_are_drawn_again(self, api):
        config = {"charset": "ABCD", "length": 4}  # 256 possible codes
        first = await _create(api, "First", 100, codeConfig=config)
        second = await _create(api, "Second", 28, codeConfig=config)

        codes = (await campaign_codes(api, first["campaign"]["id"])
                 + await campaign_codes(api, second["campaign"]["id"]))
        assert len(codes) == len(set(codes)) == 128


class TestBackgroundGeneration:
    async def test_above_inline_limit_runs_in_background(self, api, monkeypatch):
        monkeypatch.setattr(async_actions, "BATCH_SIZE", 700)

        payload = await _create(api, "Big", 2500, codeConfig={"length": 12})

        assert payload["errors"] == []
        assert payload["campaign"]["creationStatus"] == "IN_PROGRESS"
        action = payload["asyncAction"]
        assert (action["type"], action["total"]) == ("campaign.vouchers.generate", 2500)
        done = await wait_for_action(api, action["id"])
        assert (done["status"], done["progress"], done["result"]) == (
            "DONE", 2500, {"vouchers_count": 2500}
        )
        data = await api("query($id: ID!) { campaign(id: $id) { vouchersCount creationStatus } }",
                         id=payload["campaign"]["id"])
        assert data["campaign"] == {"vouchersCount": 2500, "creationStatus": "DONE"}
        assert len(set(await campaign_codes(api, payload["campaign"]["id"]))) == 2500

    async def test_resumes_from_what_is_stored(self, api, db, tenant, monkeypatch):
        monkeypatch.setattr(async_actions, "BATCH_SIZE", 500)
        payload = await _create(api, "Resume", 1500, codeConfig={"length": 12})
        action_id, campaign_id = payload["asyncAction"]["id"], payload["campaign"]["id"]
        await wait_for_action(api, action_id)
        # Simulate a crash mid-way: 600 codes lost, the job still marked as running.
        async with db.write() as session:
            doomed = sa.select(Voucher.id).where(Voucher.campaign_id == campaign_id).limit(600)
            await session.execute(sa.delete(Voucher).where(Voucher.id.in_(doomed)))
            await session.execute(sa.update(AsyncAction).where(AsyncAction.id == action_id)
                                  .values(status="IN_PROGRESS", progress=900))
            await session.execute(sa.update(Campaign).where(Campaign.id == campaign_id)
                                  .values(creation_status="IN_PROGRESS"))

        assert action_id in await async_actions.resume_pending(db)

        done = await wait_for_action(api, action_id)
        assert (done["status"], done["progress"]) == ("DONE", 1500)
        assert len(set(await campaign_codes(api, campaign_id))) == 1500

    async def test_shutdown_then_resume_finishes_exactly(self, api, db, monkeypatch):
        monkeypatch.setattr(async_actions, "BATCH_SIZE", 300)
        payload = await _create(api, "Stop", 2100, codeConfig={"length": 12})

        await async_actions.shutdown()
        await async_actions.resume_pending(db)

        done = await wait_for_action(api, payload["asyncAction"]["id"])
        assert (done["status"], done["progress"]) == ("DONE", 2100)
        assert len(set(await campaign_codes(api, payload["campaign"]["id"]))) == 2100

    async def test_async_action_is_per_project(self, api, make_tenant, monkeypatch):
        payload = await _create(api, "Mine", 1001, codeConfig={"length": 12})
        other = (await make_tenant("Other")).api
        await wait_for_action(api, payload["asyncAction"]["id"])

        data = await other("query($id: ID!) { asyncAction(id: $id) { id } }",
                           id=payload["asyncAction"]["id"])
        assert data["asyncAction"] is None


async def _vouchers(api, campaign_id):
    """Every voucher of the campaign (VOUCHER fields and timestamps), page by page."""
    nodes, after = [], None
    while True:
        data = await api(
            f"query($f: VoucherFilter, $after: String) {{ vouchers(first: 100, after: $after, "
            f"filter: $f) {{ edges {{ node {{ {VOUCHER} createdAt updatedAt }} }} "
            "pageInfo { hasNextPage endCursor } } }", f={"campaignId": campaign_id}, after=after,
        )
        nodes += [e["node"] for e in data["vouchers"]["edges"]]
        if not data["vouchers"]["pageInfo"]["hasNextPage"]:
            return nodes
        after = data["vouchers"]["pageInfo"]["endCursor"]


def _template_fields(voucher):
    return {k: v for k, v in voucher.items() if k not in ("id", "code", "campaignId",
                                                           "createdAt")}


class TestBackgroundBatches:
    """The job's batches: codes taken elsewhere in the project, gift ledgers, exact rows."""

    async def test_codes_taken_by_another_campaign_are_drawn_again(self, api, monkeypatch):
        monkeypatch.setattr(async_actions, "BATCH_SIZE", 300)
        config = {"charset": "ABCD", "length": 6}  # 4,096 codes: ~1 draw in 4 is taken
        first = await _create(api, "Taken", 1000, codeConfig=config)

        second = await _create(api, "Drawn again", 1001, codeConfig=config)
        done = await wait_for_action(api, second["asyncAction"]["id"])

        assert (done["status"], done["progress"], done["result"]) == (
            "DONE", 1001, {"vouchers_count": 1001}
        )
        data = await api("query($id: ID!) { campaign(id: $id) { vouchersCount } }",
                         id=second["campaign"]["id"])
        assert data["campaign"]["vouchersCount"] == 1001
        taken = await campaign_codes(api, first["campaign"]["id"])
        drawn = await campaign_codes(api, second["campaign"]["id"])
        assert len(taken) == len(set(taken)) == 1000
        assert len(drawn) == len(set(drawn)) == 1001
        assert set(taken).isdisjoint(drawn)

    async def test_vouchers_are_the_same_as_inline_ones(self, api, monkeypatch):
        monkeypatch.setattr(async_actions, "BATCH_SIZE", 400)
        template = {"discount": {"type": "PERCENT", "percentOff": 15},
                    "redemption": {"quantity": 3},
                    "codeConfig": {"pattern": "X-###-%##", "prefix": "P%", "postfix": "é"}}
        inline = await _create(api, "Inline", 1, **template)
        background = await _create(api, "Background", 1001, **template)
        await wait_for_action(api, background["asyncAction"]["id"])

        (reference,) = await _vouchers(api, inline["campaign"]["id"])
        made = await _vouchers(api, background["campaign"]["id"])

        assert len(made) == 1001 and reference["redemption"]["quantity"] == 3
        assert all(_template_fields(v) == _template_fields(reference) for v in made)
        assert len({v["id"] for v in made}) == 1001
        assert all(v["id"].startswith("v_") and len(v["id"]) == len(reference["id"])
                   for v in made)
        assert all(len(v["code"]) == 12 and v["code"][:4] == "P%X-" and v["code"][7:9] == "-%"
                   and v["code"][11] == "é" for v in made)
        assert all(v["campaignId"] == background["campaign"]["id"] for v in made)

    async def test_gift_cards_get_their_opening_ledger_entry(self, api, db, monkeypatch):
        monkeypatch.setattr(async_actions, "BATCH_SIZE", 400)
        payload = await mutate(
            api, CREATE_CAMPAIGN, name="Gifts", campaignType="GIFT_VOUCHERS", type="STATIC",
            vouchersCount=1001, voucher={"type": "GIFT_VOUCHER", "gift": {"amount": 2500},
                                         "codeConfig": {"length": 12}},
        )
        done = await wait_for_action(api, payload["asyncAction"]["id"])
        campaign_id = payload["campaign"]["id"]

        made = await _vouchers(api, campaign_id)
        assert done["progress"] == len(made) == 1001
        assert {(v["type"], v["gift"]["amount"], v["gift"]["balance"]) for v in made} == {
            ("GIFT_VOUCHER", 2500, 2500)
        }
        data = await api(
            f"query($code: String!) {{ voucherTransactions(code: $code) {{ totalCount "
            f"edges {{ node {{ {TRANSACTION} }} }} }} }}", code=made[-1]["code"],
        )
        entries = [e["node"] for e in data["voucherTransactions"]["edges"]]
        assert [(e["type"], e["amount"], e["balanceAfter"]) for e in entries] == [
            ("CREDITS_ADDITION", 2500, 2500)
        ]
        async with db.read() as session:
            ledger = (await session.execute(
                sa.select(sa.func.count(sa.distinct(VoucherTransaction.voucher_id)),
                          sa.func.count())
                .join(Voucher, Voucher.id == VoucherTransaction.voucher_id)
                .where(Voucher.campaign_id == campaign_id)
            )).one()
        assert tuple(ledger) == (1001, 1001)
