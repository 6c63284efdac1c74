"""Project stacking rules: defaults, updates, validation."""

from __future__ import annotations

from factories import create_category, error_codes, mutate
from promo_factories import STACKING, UPDATE_STACKING

QUERY = f"{{ stackingRules {{ {STACKING} }} }}"
DEFAULTS = {
    "redeemablesLimit": 30, "applicableRedeemablesLimit": 5,
    "applicableRedeemablesPerCategoryLimit": 1, "applicableRedeemablesCategoryLimits": {},
    "applicableExclusiveRedeemablesLimit": 1,
    "applicableExclusiveRedeemablesPerCategoryLimit": 1, "exclusiveCategories": [],
    "jointCategories": [], "redeemablesApplicationMode": "ALL",
    "redeemablesSortingRule": "REQUESTED_ORDER", "redeemablesProductsApplicationMode": "STACK",
    "redeemablesNoEffectRule": "REDEEM_ANYWAY", "noEffectSkipCategories": [],
    "noEffectRedeemAnywayCategories": [], "discountCalculationMode": "DISCOUNTED_AMOUNT",
    "initialAmountModeCategories": [], "discountedAmountModeCategories": [],
    "redeemablesRollbackOrderMode": "WITH_ORDER",
}


class TestStackingRules:
    async def test_defaults_when_never_set(self, api):
        assert (await api(QUERY))["stackingRules"] == DEFAULTS

    async def test_update_merges_and_resets(self, api):
        category = await create_category(api)

        first = await mutate(api, UPDATE_STACKING, redeemablesLimit=10,
                             redeemablesApplicationMode="PARTIAL",
                             exclusiveCategories=[category["id"]])
        second = await mutate(api, UPDATE_STACKING, applicableRedeemablesLimit=7,
                              redeemablesLimit=None)

        assert first["errors"] == []
        assert first["stackingRules"] == {
            **DEFAULTS, "redeemablesLimit": 10, "redeemablesApplicationMode": "PARTIAL",
            "exclusiveCategories": [category["id"]],
        }
        assert (await api(QUERY))["stackingRules"] == second["stackingRules"] == {
            **DEFAULTS, "applicableRedeemablesLimit": 7, "redeemablesApplicationMode": "PARTIAL",
            "exclusiveCategories": [category["id"]],
        }

    async def test_refusals(self, api):
        category = await create_category(api)
        cases = [
            ({"redeemablesLimit": 31}, [("invalid_stacking_rules", ["redeemablesLimit"])]),
            ({"applicableRedeemablesLimit": 0},
             [("invalid_stacking_rules", ["applicableRedeemablesLimit"])]),
            ({"applicableExclusiveRedeemablesLimit": 6},
             [("invalid_stacking_rules", ["applicableExclusiveRedeemablesLimit"])]),
            ({"noEffectSkipCategories": [category["id"]],
              "noEffectRedeemAnywayCategories": [category["id"]]},
             [("invalid_stacking_rules", ["noEffectRedeemAnywayCategories"])]),
            ({"jointCategories": ["cat_01J00000000000000000000000"]},
             [("not_found", ["jointCategories", "0"])]),
        ]
        for fields, expected in cases:
            assert error_codes(await mutate(api, UPDATE_STACKING, **fields)) == expected, fields
        assert (await api(QUERY))["stackingRules"] == DEFAULTS

    async def test_per_project(self, api, make_tenant):
        await mutate(api, UPDATE_STACKING, redeemablesLimit=3)
        other = (await make_tenant("Other")).api

        assert (await other(QUERY))["stackingRules"] == DEFAULTS

    async def test_publishable_key_is_forbidden(self, tenant):
        errors = await tenant.client_api.errors(UPDATE_STACKING, input={"redeemablesLimit": 2})
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
