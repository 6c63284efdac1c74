"""publishVoucher: specific codes, the next free code, minting, joinOnce, idempotency."""

from __future__ import annotations

import asyncio

from tests.stack import factories as f
from tests.stack.test_validate_stack import CART

PUBLISH = """mutation($i: PublishVoucherInput!) { publishVoucher(input: $i) {
  publication { id customerId voucherId campaignId channel sourceId }
  voucher { code holderId publishedAt }
  errors { code field }
} }"""

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid redeemables { status reason { code } } } }"""


async def publish(api, **i):  # type: ignore[no-untyped-def]
    return (await api(PUBLISH, i=i))["publishVoucher"]


async def bulk(db, project_id, *codes, mode="STATIC", **fields):  # type: ignore[no-untyped-def]
    camp = await f.campaign(db, project_id, type=mode, voucher={
        "type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 100},
        "code_config": {"pattern": "NEW-####", "charset": "0123456789"},
    }, **fields)
    for code in codes:
        await f.voucher(db, project_id, code, campaign_id=camp.id,
                        discount={"type": "AMOUNT", "amount_off": 100})
    return camp


class TestPublishVoucher:
    async def test_next_free_code_then_exhausted(self, tenant, db) -> None:
        camp = await bulk(db, tenant.project_id, "A-1", "A-2")
        first = await publish(tenant.api, customer={"sourceId": "ann"}, campaignId=camp.id)
        second = await publish(tenant.api, customer={"sourceId": "ben"}, campaignId=camp.id)
        assert first["errors"] == [] and second["errors"] == []
        assert {first["voucher"]["code"], second["voucher"]["code"]} == {"A-1", "A-2"}
        assert first["voucher"]["holderId"] and first["voucher"]["publishedAt"]
        none_left = await publish(tenant.api, customer={"sourceId": "cyd"}, campaignId=camp.id)
        assert none_left["errors"] == [{"code": "no_voucher_suitable_for_publication",
                                        "field": ["campaignId"]}]

    async def test_auto_update_mints_a_code_when_the_pool_is_empty(self, tenant, db) -> None:
        camp = await bulk(db, tenant.project_id, mode="AUTO_UPDATE")
        done = await publish(tenant.api, customer={"sourceId": "ann"}, campaignId=camp.id)
        assert done["errors"] == []
        assert done["voucher"]["code"].startswith("NEW-") and len(done["voucher"]["code"]) == 8

    async def test_join_once_and_specific_codes(self, tenant, db) -> None:
        camp = await bulk(db, tenant.project_id, "J-1", "J-2", join_once=True)
        ok = await publish(tenant.api, customer={"sourceId": "ann"}, campaignId=camp.id)
        assert ok["errors"] == []
        again = await publish(tenant.api, customer={"sourceId": "ann"}, campaignId=camp.id)
        assert again["errors"][0]["code"] == "voucher_cannot_be_published"
        taken = ok["voucher"]["code"]
        other = await publish(tenant.api, customer={"sourceId": "ben"}, code=taken)
        assert other["errors"][0]["code"] == "voucher_already_published"
        missing = await publish(tenant.api, customer={"sourceId": "ben"}, code="NOPE")
        assert missing["errors"][0] == {"code": "not_found", "field": ["code"]}
        neither = await publish(tenant.api, customer={"sourceId": "ben"})
        assert neither["errors"][0]["code"] == "missing_vouchers"

    async def test_source_id_makes_it_idempotent(self, tenant, db) -> None:
        camp = await bulk(db, tenant.project_id, "S-1", "S-2")
        ask = {"customer": {"sourceId": "ann"}, "campaignId": camp.id, "sourceId": "pub-1"}
        first = await publish(tenant.api, **ask)
        replay = await publish(tenant.api, **ask)
        assert replay == first
        clash = await publish(tenant.api, **{**ask, "customer": {"sourceId": "ben"}})
        assert clash["errors"] == [{"code": "duplicate_source_id", "field": ["sourceId"]}]
        listed = await tenant.api("{ publications { totalCount } }")
        assert listed["publications"]["totalCount"] == 1

    async def test_concurrent_publications_never_share_a_code(self, tenant, db) -> None:
        codes = [f"C-{n}" for n in range(10)]
        camp = await bulk(db, tenant.project_id, *codes)
        results = await asyncio.gather(*(
            publish(tenant.api, customer={"sourceId": f"c{n}"}, campaignId=camp.id)
            for n in range(14)
        ))
        won = [r["voucher"]["code"] for r in results if not r["errors"]]
        assert sorted(won) == sorted(codes)
        assert sum(1 for r in results if r["errors"]) == 4

    async def test_holder_only_rule_is_enforced_at_validation(self, tenant, db) -> None:
        camp = await bulk(db, tenant.project_id, "H-1")
        await f.rule(db, tenant.project_id, camp.id, "campaign", {
            "1": {"name": "publication.redeemable_by_linked_customer", "conditions": {}},
            "logic": "1",
        })
        await publish(tenant.api, customer={"sourceId": "ann"}, code="H-1")
        mine = await tenant.api(VALIDATE, i={"redeemables": [{"object": "VOUCHER", "id": "H-1"}],
                                             "order": CART, "customer": {"sourceId": "ann"}})
        assert mine["validateStack"]["valid"] is True
        theirs = await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "H-1"}], "order": CART,
            "customer": {"sourceId": "ben"}})
        assert theirs["validateStack"]["redeemables"][0]["reason"]["code"] == (
            "customer_rules_violated")

    async def test_publishable_key_needs_client_publish(self, tenant, db) -> None:
        camp = await bulk(db, tenant.project_id, "P-1")
        errors = await tenant.client_api.errors(PUBLISH, i={"customer": {"sourceId": "a"},
                                                            "campaignId": camp.id})
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
        await tenant.api("mutation { updateProject(input: {clientPublishEnabled: true}) "
                         "{ errors { code } } }")
        done = await publish(tenant.client_api, customer={"sourceId": "a"}, campaignId=camp.id)
        assert done["errors"] == []


class TestAssets:
    async def test_qr_and_barcode_are_served_for_a_voucher(self, tenant, db, client) -> None:
        v = await f.voucher(db, tenant.project_id, "SHOW-ME",
                            discount={"type": "AMOUNT", "amount_off": 1})
        data = await tenant.api('{ voucher(code: "SHOW-ME") { assets { qr { url } '
                                'barcode { url } } } }')
        links = data["voucher"]["assets"]
        assert links["qr"]["url"] == f"http://promogate.test/assets/vouchers/{v.id}/qr.svg"
        qr = await client.get(links["qr"]["url"])
        assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
        assert qr.content.lstrip().startswith(b"<?xml") and b"<svg" in qr.content
        bar = await client.get(links["barcode"]["url"])
        assert bar.status_code == 200 and b"SHOW-ME" in bar.content
        missing = await client.get("/assets/vouchers/v_01ARZ3NDEKTSV4RRFFQ69G5FAV/qr.svg")
        assert missing.status_code == 404
        wrong_kind = await client.get(f"/assets/vouchers/{v.id}/logo.svg")
        assert wrong_kind.status_code == 404


REFERRAL = {"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amountOff": 500}}
CREATE_CAMPAIGN = """mutation($i: CreateCampaignInput!) { createCampaign(input: $i) {
  campaign { id } errors { code field } } }"""
REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { result customerId children { voucherId amount } } errors { code } } }"""


async def referral_campaign(api, **fields):  # type: ignore[no-untyped-def]
    data = await api(CREATE_CAMPAIGN, i={"name": "Refer a friend",
                                         "campaignType": "REFERRAL_PROGRAM",
                                         "voucher": REFERRAL, **fields})
    assert data["createCampaign"]["errors"] == []
    return data["createCampaign"]["campaign"]["id"]


def use(code: str, who: str) -> dict:
    return {"redeemables": [{"object": "VOUCHER", "id": code}], "order": CART,
            "customer": {"sourceId": who}}


class TestReferrer:
    """The customer a referral code is published to is its referrer, who may not redeem it
    (issue 12, item 11)."""

    async def test_referrer_is_refused_and_a_friend_is_not(self, tenant) -> None:
        campaign_id = await referral_campaign(tenant.api, type="STATIC", vouchersCount=2)
        code = (await publish(tenant.api, customer={"sourceId": "alice"},
                              campaignId=campaign_id))["voucher"]["code"]

        own = (await tenant.api(VALIDATE, i=use(code, "alice")))["validateStack"]
        own_redeem = (await tenant.api(REDEEM, i=use(code, "alice")))["redeemStack"]
        friend = (await tenant.api(VALIDATE, i=use(code, "bob")))["validateStack"]
        friend_redeem = (await tenant.api(REDEEM, i=use(code, "bob")))["redeemStack"]

        assert own == {"valid": False, "redeemables": [
            {"status": "INAPPLICABLE", "reason": {"code": "referrer_not_permitted_to_redeem"}}
        ]}
        assert own_redeem["errors"] == [{"code": "referrer_not_permitted_to_redeem"}]
        assert own_redeem["redemption"]["result"] == "FAILURE"
        assert friend["valid"] is True
        assert friend_redeem["errors"] == []
        assert friend_redeem["redemption"]["result"] == "SUCCESS"
        assert friend_redeem["redemption"]["children"][0]["amount"] == 500

    async def test_a_generic_referral_code_has_one_referrer(self, tenant) -> None:
        campaign_id = await referral_campaign(
            tenant.api, voucher={**REFERRAL, "code": "FRIENDS"}
        )

        first = await publish(tenant.api, customer={"sourceId": "alice"}, campaignId=campaign_id)
        second = await publish(tenant.api, customer={"sourceId": "carl"}, campaignId=campaign_id)
        again = await publish(tenant.api, customer={"sourceId": "alice"}, code="FRIENDS")

        assert first["errors"] == [] and first["voucher"]["holderId"]
        assert second["errors"] == [{"code": "voucher_already_published",
                                     "field": ["campaignId"]}]
        assert again["errors"] == []
        own = (await tenant.api(VALIDATE, i=use("FRIENDS", "alice")))["validateStack"]
        friend = (await tenant.api(VALIDATE, i=use("FRIENDS", "carl")))["validateStack"]
        assert own["redeemables"][0]["reason"] == {"code": "referrer_not_permitted_to_redeem"}
        assert friend["valid"] is True

    async def test_a_single_referral_voucher_published_by_code(self, tenant) -> None:
        created = await tenant.api(
            "mutation($i: CreateVoucherInput!) { createVoucher(input: $i) { errors { code } } }",
            i={"code": "ALICE-REF", "isReferralCode": True,
               "discount": {"type": "AMOUNT", "amountOff": 500}},
        )
        assert created["createVoucher"]["errors"] == []
        done = await publish(tenant.api, customer={"sourceId": "alice"}, code="ALICE-REF")
        assert done["errors"] == []

        own = (await tenant.api(REDEEM, i=use("ALICE-REF", "alice")))["redeemStack"]
        friend = (await tenant.api(REDEEM, i=use("ALICE-REF", "dora")))["redeemStack"]

        assert own["errors"] == [{"code": "referrer_not_permitted_to_redeem"}]
        assert friend["errors"] == [] and friend["redemption"]["result"] == "SUCCESS"

    async def test_the_referrer_is_not_offered_their_own_code(self, tenant) -> None:
        campaign_id = await referral_campaign(tenant.api, type="STATIC", vouchersCount=1)
        await publish(tenant.api, customer={"sourceId": "alice"}, campaignId=campaign_id)

        data = await tenant.api(
            "query($i: QualificationInput!) { qualifications(input: $i) { totalCount } }",
            i={"customer": {"sourceId": "alice"}, "order": CART, "scenario": "CUSTOMER_WALLET"},
        )

        assert data["qualifications"]["totalCount"] == 0
