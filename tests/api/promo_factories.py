"""Factories and documents for campaigns, vouchers, tiers, rules and stacking rules tests."""

from __future__ import annotations

import asyncio
from typing import Any

from factories import ERRORS, mutate

Api = Any

DISCOUNT = (
    "discount { type effect amountOff percentOff amountLimit aggregatedAmountLimit fixedAmount "
    "unitOff unitType }"
)
RULE = (
    "id name logic error { message } rules { number name property conditions logic "
    "error { message } rules { number name conditions } } "
    "applicableTo { included { object id sourceId effect quantityLimit } excluded { object id } "
    "includedAll } bundleRules createdAt"
)
CAMPAIGN = (
    "id name description campaignType type vouchersCount active joinOnce autoJoin categoryId "
    "creationStatus redemptionsCount discountedAmount ordersAmount metadata startDate "
    "expirationDate validityTimeframe { duration interval } validityDayOfWeek "
    "validityHours { daily { startTime expirationTime daysOfWeek } } "
    f"voucher {{ type {DISCOUNT} gift {{ amount effect }} "
    "codeConfig { length charset prefix postfix pattern } redemption { quantity } "
    "isReferralCode } validationRules { id }"
)
VOUCHER = (
    f"id code type campaignId categoryId active isReferralCode metadata {DISCOUNT} "
    "gift { amount balance effect } redemption { quantity redeemedQuantity redeemedAmount } "
    "startDate expirationDate holderId publishedAt validationRules { id }"
)
TIER = (
    "id name banner hierarchy active campaignId categoryId metadata redeemedQuantity "
    f"discountedAmount ordersAmount action {{ {DISCOUNT} }} startDate expirationDate "
    "validationRules { id }"
)
STACK = "id name campaignId tierIds categoryId tiers { id }"
ACTION = "id type status progress total result error"
TRANSACTION = "id type amount balanceAfter reason sourceId"


def _mutation(name: str, input_type: str, selection: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {selection} {ERRORS} }} }}"
    )


CREATE_RULE = _mutation("createValidationRule", "CreateValidationRuleInput",
                        f"validationRule {{ {RULE} }}")
UPDATE_RULE = _mutation("updateValidationRule", "UpdateValidationRuleInput",
                        f"validationRule {{ {RULE} }}")
DELETE_RULE = _mutation("deleteValidationRule", "DeleteValidationRuleInput", "deletedId")
CREATE_CAMPAIGN = _mutation("createCampaign", "CreateCampaignInput",
                            f"campaign {{ {CAMPAIGN} }} asyncAction {{ {ACTION} }}")
UPDATE_CAMPAIGN = _mutation("updateCampaign", "UpdateCampaignInput", f"campaign {{ {CAMPAIGN} }}")
ENABLE_CAMPAIGN = _mutation("enableCampaign", "RefInput", "campaign { id active }")
DISABLE_CAMPAIGN = _mutation("disableCampaign", "RefInput", "campaign { id active }")
DELETE_CAMPAIGN = _mutation("deleteCampaign", "RefInput", "deletedId")
CREATE_VOUCHER = _mutation("createVoucher", "CreateVoucherInput", f"voucher {{ {VOUCHER} }}")
UPDATE_VOUCHER = _mutation("updateVoucher", "UpdateVoucherInput", f"voucher {{ {VOUCHER} }}")
ENABLE_VOUCHER = _mutation("enableVoucher", "VoucherRefInput", "voucher { code active }")
DISABLE_VOUCHER = _mutation("disableVoucher", "VoucherRefInput", "voucher { code active }")
DELETE_VOUCHER = _mutation("deleteVoucher", "VoucherRefInput", "deletedId")
ADD_BALANCE = _mutation(
    "addGiftCardBalance", "GiftCardBalanceInput",
    f"voucher {{ code gift {{ amount balance }} }} transaction {{ {TRANSACTION} }}",
)
CREATE_TIER = _mutation("createPromotionTier", "CreatePromotionTierInput",
                        f"promotionTier {{ {TIER} }}")
UPDATE_TIER = _mutation("updatePromotionTier", "UpdatePromotionTierInput",
                        f"promotionTier {{ {TIER} }}")
ENABLE_TIER = _mutation("enablePromotionTier", "RefInput", "promotionTier { id active }")
DISABLE_TIER = _mutation("disablePromotionTier", "RefInput", "promotionTier { id active }")
DELETE_TIER = _mutation("deletePromotionTier", "RefInput", "deletedId")
CREATE_STACK = _mutation("createPromotionStack", "CreatePromotionStackInput",
                         f"promotionStack {{ {STACK} }}")
UPDATE_STACK = _mutation("updatePromotionStack", "UpdatePromotionStackInput",
                         f"promotionStack {{ {STACK} }}")
DELETE_STACK = _mutation("deletePromotionStack", "RefInput", "deletedId")
STACKING = (
    "redeemablesLimit applicableRedeemablesLimit applicableRedeemablesPerCategoryLimit "
    "applicableRedeemablesCategoryLimits applicableExclusiveRedeemablesLimit "
    "applicableExclusiveRedeemablesPerCategoryLimit exclusiveCategories jointCategories "
    "redeemablesApplicationMode redeemablesSortingRule redeemablesProductsApplicationMode "
    "redeemablesNoEffectRule noEffectSkipCategories noEffectRedeemAnywayCategories "
    "discountCalculationMode initialAmountModeCategories discountedAmountModeCategories "
    "redeemablesRollbackOrderMode"
)
UPDATE_STACKING = _mutation("updateStackingRules", "StackingRulesInput",
                            f"stackingRules {{ {STACKING} }}")

AMOUNT_10 = {"type": "AMOUNT", "amountOff": 1000}
PERCENT_20 = {"type": "PERCENT", "percentOff": 20}


async def _created(api: Api, mutation: str, key: str, **input_: Any) -> dict[str, Any]:
    payload = await mutate(api, mutation, **input_)
    assert payload["errors"] == [], payload["errors"]
    return payload[key]


async def create_rule(api: Api, name: str = "Big carts", **fields: Any) -> dict[str, Any]:
    fields.setdefault(
        "rules", [{"name": "order.amount", "conditions": {"$more_than": [5000]}}]
    )
    return await _created(api, CREATE_RULE, "validationRule", name=name, **fields)


async def create_campaign(api: Api, name: str = "Summer", **fields: Any) -> dict[str, Any]:
    fields.setdefault("campaignType", "DISCOUNT_COUPONS")
    if fields["campaignType"] in ("DISCOUNT_COUPONS", "REFERRAL_PROGRAM"):
        fields.setdefault("voucher", {"type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10})
    return await _created(api, CREATE_CAMPAIGN, "campaign", name=name, **fields)


async def create_gift_campaign(
    api: Api, name: str = "Gifts", amount: int = 5000, **fields: Any
) -> dict[str, Any]:
    return await create_campaign(
        api, name, campaignType="GIFT_VOUCHERS",
        voucher={"type": "GIFT_VOUCHER", "gift": {"amount": amount}}, **fields,
    )


async def create_promotion(api: Api, name: str = "Cart deals", **fields: Any) -> dict[str, Any]:
    return await create_campaign(api, name, campaignType="PROMOTION", **fields)


async def create_voucher(api: Api, **fields: Any) -> dict[str, Any]:
    if not fields.get("campaignId") and fields.get("type", "DISCOUNT_VOUCHER") == (
        "DISCOUNT_VOUCHER"
    ):
        fields.setdefault("discount", AMOUNT_10)
    return await _created(api, CREATE_VOUCHER, "voucher", **fields)


async def create_gift_card(api: Api, amount: int = 5000, **fields: Any) -> dict[str, Any]:
    return await create_voucher(api, type="GIFT_VOUCHER", gift={"amount": amount}, **fields)


async def create_tier(api: Api, campaign_id: str, name: str = "10 off", **fields: Any) -> Any:
    fields.setdefault("action", {"discount": AMOUNT_10})
    return await _created(api, CREATE_TIER, "promotionTier", campaignId=campaign_id, name=name,
                          **fields)


async def campaign_codes(api: Api, campaign_id: str) -> list[str]:
    codes: list[str] = []
    after = None
    while True:
        data = await api(
            "query($f: VoucherFilter, $after: String) { vouchers(first: 100, after: $after, "
            "filter: $f) { edges { node { code } } pageInfo { hasNextPage endCursor } } }",
            f={"campaignId": campaign_id}, after=after,
        )
        page = data["vouchers"]
        codes += [e["node"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return codes
        after = page["pageInfo"]["endCursor"]


async def wait_for_action(api: Api, action_id: str, timeout: float = 60) -> dict[str, Any]:
    query = f"query($id: ID!) {{ asyncAction(id: $id) {{ {ACTION} }} }}"
    for _ in range(int(timeout / 0.05)):
        action = (await api(query, id=action_id))["asyncAction"]
        if action["status"] in ("DONE", "FAILED"):
            return action
        await asyncio.sleep(0.05)
    raise AssertionError(f"async action {action_id} did not finish")
