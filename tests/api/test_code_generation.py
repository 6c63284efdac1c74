"""Bulk code generation: inline up to 1,000 codes, background job above, resume on restart."""

from __future__ import annotations

import sqlalchemy as sa
from factories import error_codes, mutate
from promo_factories import AMOUNT_10, CREATE_CAMPAIGN, campaign_codes, wait_for_action

from app.db.campaigns import Campaign
from app.db.redemptions import AsyncAction
from app.db.vouchers import Voucher
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
