"""Management changes write their events in the same transaction (outbox rows, in order)."""

from __future__ import annotations

import sqlalchemy as sa

from app.db.events import Event


async def types_of(db, project_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    async with db.read() as s:
        rows = await s.execute(
            sa.select(Event.type).where(Event.project_id == project_id).order_by(Event.id)
        )
        return list(rows.scalars())


async def made(api, mutation: str, key: str, **input_):  # type: ignore[no-untyped-def]
    name = mutation.split("(")[0]
    data = await api(f"mutation($i: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $i) "
                     f"{{ {key} {{ id }} errors {{ code }} }} }}", i=input_)
    assert data[name]["errors"] == [], data
    return data[name][key]


async def test_campaign_tier_voucher_gift_and_publication_events(tenant, db) -> None:
    api = tenant.api
    discount = {"type": "AMOUNT", "amountOff": 100}
    promo = await made(api, "createCampaign", "campaign", name="Deals",
                       campaignType="PROMOTION")
    await api("mutation($i: CreatePromotionTierInput!) { createPromotionTier(input: $i) "
              "{ errors { code } } }",
              i={"campaignId": promo["id"], "name": "t", "action": {"discount": discount}})
    await api("mutation($i: CreateVoucherInput!) { createVoucher(input: $i) { errors { code } } }",
              i={"code": "CARD-1", "type": "GIFT_VOUCHER", "gift": {"amount": 1000}})
    await api('mutation { addGiftCardBalance(input: {code: "CARD-1", amount: 500, '
              'reason: "top-up"}) { errors { code } } }')
    coupons = await made(api, "createCampaign", "campaign", name="Coupons",
                         campaignType="DISCOUNT_COUPONS", type="STATIC", vouchersCount=2,
                         voucher={"type": "DISCOUNT_VOUCHER", "discount": discount})
    await api('mutation($c: ID!) { publishVoucher(input: {customer: {sourceId: "ann"}, '
              'campaignId: $c}) { errors { code } } }', c=coupons["id"])
    await api('mutation($c: ID!) { disableCampaign(input: {id: $c}) { errors { code } } }',
              c=coupons["id"])
    seen = await types_of(db, tenant.project_id)
    for expected in (
        "campaign.created", "campaign.promotion_tier.created", "voucher.created",
        "voucher.gift.balance_added", "publication.succeeded", "voucher.published",
        "customer.created", "campaign.disabled",
    ):
        assert expected in seen, (expected, seen)
    # bulk codes do not emit one event per code
    assert seen.count("voucher.created") == 1


async def test_a_refused_change_emits_nothing(tenant, db) -> None:
    before = await types_of(db, tenant.project_id)
    payload = await tenant.api(
        "mutation { createCampaign(input: {name: \"\", campaignType: PROMOTION}) "
        "{ errors { code } } }")
    assert payload["createCampaign"]["errors"]
    assert await types_of(db, tenant.project_id) == before
