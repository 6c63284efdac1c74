"""Validation rules: create (numbered rules, logic, targets, bundles), update, delete, assign."""

from __future__ import annotations

from factories import create_product, create_sku, error_codes, mutate
from promo_factories import (
    CREATE_RULE,
    DELETE_RULE,
    RULE,
    UPDATE_CAMPAIGN,
    UPDATE_RULE,
    create_campaign,
    create_promotion,
    create_rule,
    create_tier,
    create_voucher,
)

RULE_QUERY = f"query($id: ID!) {{ validationRule(id: $id) {{ {RULE} }} }}"


class TestCreateValidationRule:
    async def test_numbers_rules_and_defaults_logic(self, api):
        rule = await create_rule(api, rules=[
            {"name": "order.amount", "conditions": {"$more_than": [5000]}},
            {"name": "customer.metadata", "property": "tier", "conditions": {"$is": ["gold"]},
             "error": {"message": "Gold only"}},
        ], error={"message": "Not for you"})

        assert rule["id"].startswith("val_")
        assert rule["logic"] == "1 and 2"
        assert rule["error"] == {"message": "Not for you"}
        assert [(r["number"], r["name"], r["property"]) for r in rule["rules"]] == [
            (1, "order.amount", None), (2, "customer.metadata", "tier")
        ]
        assert rule["rules"][0]["conditions"] == {"$more_than": [5000]}
        assert rule["rules"][1]["error"] == {"message": "Gold only"}
        assert (await api(RULE_QUERY, id=rule["id"]))["validationRule"] == rule

    async def test_keeps_logic_and_sub_rules(self, api):
        rule = await create_rule(api, logic="1 or 2", rules=[
            {"name": "order.amount", "conditions": {"$more_than": [5000]}},
            {"name": "order.items.any", "conditions": {"$is": [{"id": "prod_x", "object":
             "product"}]}, "rules": [{"name": "order.items.quantity",
                                      "conditions": {"$more_than": [1]}}]},
        ])

        assert rule["logic"] == "1 or 2"
        assert rule["rules"][1]["logic"] == "1"
        assert rule["rules"][1]["rules"] == [
            {"number": 1, "name": "order.items.quantity", "conditions": {"$more_than": [1]}}
        ]

    async def test_resolves_applicable_to_source_ids(self, api):
        product = await create_product(api, sourceId="shirt-1")
        sku = await create_sku(api, product["id"], sourceId="shirt-1-red")

        rule = await create_rule(api, rules=[], applicableTo={
            "included": [{"object": "product", "sourceId": "shirt-1", "quantityLimit": 2}],
            "excluded": [{"object": "sku", "id": sku["id"]}],
        })

        assert rule["rules"] == [] and rule["logic"] is None
        assert rule["applicableTo"] == {
            "included": [{"object": "product", "id": product["id"], "sourceId": "shirt-1",
                          "effect": None, "quantityLimit": 2}],
            "excluded": [{"object": "sku", "id": sku["id"]}],
            "includedAll": False,
        }

    async def test_unknown_target_is_not_found_with_path(self, api):
        payload = await mutate(api, CREATE_RULE, name="R", rules=[], applicableTo={
            "included": [{"object": "product", "sourceId": "nope"}]
        })

        assert error_codes(payload) == [
            ("not_found", ["applicableTo", "included", "0", "sourceId"])
        ]

    async def test_bundle_rules(self, api):
        product = await create_product(api)

        rule = await create_rule(api, rules=[], bundleRules={
            "items": [{"object": "product", "id": product["id"], "quantity": 2}], "limit": 3
        })

        assert rule["bundleRules"] == {
            "items": [{"object": "product", "id": product["id"], "quantity": 2}], "limit": 3
        }

    async def test_refuses_bad_definitions(self, api):
        cases = [
            ({"logic": "1 and 3"}, ("invalid_validation_rules", ["logic"])),
            ({"rules": [{"name": "order.amount", "conditions": {"$bogus": [1]}}]},
             ("invalid_validation_rules", ["rules", "0", "conditions", "$bogus"])),
            ({"rules": [{"name": "order.amount", "conditions": {"more_than": [1]}}]},
             ("invalid_validation_rules", ["rules", "0", "conditions"])),
            ({"rules": [{"name": "customer.metadata", "conditions": {"$is": [1]}}]},
             ("invalid_validation_rules", ["rules", "0", "property"])),
            ({"bundleRules": {"items": [], "limit": 1}},
             ("invalid_validation_rules", ["bundleRules", "items"])),
        ]
        for fields, expected in cases:
            fields.setdefault("rules", [
                {"name": "order.amount", "conditions": {"$more_than": [1]}},
                {"name": "order.amount", "conditions": {"$less_than": [9]}},
            ])
            payload = await mutate(api, CREATE_RULE, name="Bad", **fields)
            assert error_codes(payload) == [expected], (fields, payload["errors"])
        assert (await api("{ validationRules { totalCount } }"))["validationRules"][
            "totalCount"] == 0


AMOUNT_RULE = {"name": "order.amount", "conditions": {"$more_than": [1]}}


def nested_json(depth: int) -> dict:
    value: dict = {"a": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


async def rule_count(api) -> int:
    return (await api("{ validationRules { totalCount } }"))["validationRules"]["totalCount"]


class TestHostileRuleInput:
    """Nothing a client sends reaches a RecursionError: nesting is bounded and refused with
    the path (issue 12, item 3)."""

    async def test_logic_of_5000_nested_parentheses_is_refused(self, api):
        logic = "(" * 5000 + "1" + ")" * 5000

        payload = await mutate(api, CREATE_RULE, name="Deep", rules=[AMOUNT_RULE], logic=logic)

        assert error_codes(payload) == [("invalid_validation_rules", ["logic"])]
        assert await rule_count(api) == 0

    async def test_logic_nests_at_most_32_parentheses(self, api):
        deep = "(" * 33 + "1" + ")" * 33
        ok = "(" * 32 + "1" + ")" * 32

        refused = await mutate(api, CREATE_RULE, name="Deep", rules=[AMOUNT_RULE], logic=deep)
        nested = await mutate(api, CREATE_RULE, name="Sub", rules=[{
            "name": "order.items.any", "conditions": {"$is": ["prod_a"]},
            "rules": [{"name": "order.items.quantity", "conditions": {"$more_than": [1]}}],
            "logic": deep,
        }])
        accepted = await mutate(api, CREATE_RULE, name="Ok", rules=[AMOUNT_RULE], logic=ok)

        assert error_codes(refused) == [("invalid_validation_rules", ["logic"])]
        assert "at most 32 levels" in refused["errors"][0]["message"]
        assert error_codes(nested) == [("invalid_validation_rules", ["rules", "0", "logic"])]
        assert accepted["errors"] == [] and accepted["validationRule"]["logic"] == ok

    async def test_sub_rules_nest_at_most_3_levels(self, api):
        rule = AMOUNT_RULE
        for _ in range(5):
            rule = {"name": "order.items.any", "conditions": {"$is": ["prod_a"]}, "rules": [rule]}

        payload = await mutate(api, CREATE_RULE, name="Deep", rules=[rule])

        assert ("invalid_validation_rules", ["rules", "0", "rules", "0", "rules", "0", "rules",
                                             "0", "rules"]) in error_codes(payload)
        assert await rule_count(api) == 0

    async def test_rules_nested_300_deep_are_a_request_error_not_a_crash(self, api):
        rule = AMOUNT_RULE
        for _ in range(300):
            rule = {"name": "order.items.any", "conditions": {}, "rules": [rule]}

        response = await api.raw(CREATE_RULE, input={"name": "Deep", "rules": [rule]})

        # the request body nests deeper than any input may (64): refused before parsing
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["BAD_REQUEST"]
        assert "nests deeper than 64 levels" in errors[0]["message"]
        assert await rule_count(api) == 0

    async def test_condition_json_nests_at_most_32_levels(self, api):
        deep = await api.raw(CREATE_RULE, input={"name": "Deep", "rules": [
            {"name": "customer.metadata", "property": "x",
             "conditions": {"$is": [nested_json(900)]}},
        ]})
        assert [e["extensions"]["code"] for e in deep.json()["errors"]] == ["BAD_REQUEST"]
        for depth in (33, 50):
            response = await api.raw(CREATE_RULE, input={"name": "Deep", "rules": [
                {"name": "customer.metadata", "property": "x",
                 "conditions": {"$is": [nested_json(depth)]}},
            ]})
            (error,) = response.json()["errors"]
            assert error["extensions"]["code"] == "json_too_deep", error
            assert "rules[0].conditions" in error["message"]
        payload = await mutate(api, CREATE_RULE, name="Nested", rules=[
            {"name": "customer.metadata", "property": "x", "conditions": {"$is": [nested_json(3)]}}
        ])
        assert error_codes(payload) == [
            ("invalid_validation_rules", ["rules", "0", "conditions", "$is"])
        ]
        assert await rule_count(api) == 0

    async def test_metadata_nests_at_most_32_levels_everywhere(self, api):
        ok = (await api("mutation($m: JSON) { createProduct(input: {name: \"p\", metadata: $m})"
                        " { product { metadata } errors { code } } }",
                        m=nested_json(32)))["createProduct"]
        assert ok["errors"] == [] and ok["product"]["metadata"] == nested_json(32)
        literal = "{" + "a: {" * 33 + "b: 1" + "}" * 34
        for query, variables in [
            ("mutation($m: JSON) { createProduct(input: {name: \"p\", metadata: $m}) "
             "{ errors { code } } }", {"m": nested_json(33)}),
            ("mutation($m: JSON) { createProduct(input: {name: \"p\", metadata: $m}) "
             "{ errors { code } } }", {"m": nested_json(55)}),
            ("mutation { createProduct(input: {name: \"p\", metadata: " + literal + "}) "
             "{ errors { code } } }", {}),
            ("query($i: StackInput!) { validateStack(input: $i) { valid } }",
             {"i": {"redeemables": [{"object": "VOUCHER", "id": "X"}],
                    "metadata": {"deep": nested_json(40)}}}),
        ]:
            response = await api.raw(query, **variables)
            (error,) = response.json()["errors"]
            assert error["extensions"]["code"] == "json_too_deep", error
        literal = await api('mutation { createProduct(input: {name: "q", metadata: '
                            '{a: {b: [1, "x", {c: $v}]}}}) { product { metadata } } }'
                            .replace("mutation {", "mutation($v: JSON) {"), v={"d": True})
        assert literal["createProduct"]["product"]["metadata"] == {
            "a": {"b": [1, "x", {"c": {"d": True}}]}
        }
        products = await api("{ products { totalCount } }")
        assert products["products"]["totalCount"] == 2


class TestRuleOperands:
    """Conditions are checked against what the property is, at save time (issue 12, item 16)."""

    async def test_more_than_abc_on_order_amount_is_refused(self, api):
        payload = await mutate(api, CREATE_RULE, name="Bad", rules=[
            {"name": "order.amount", "conditions": {"$more_than": ["abc"]}}
        ])

        assert error_codes(payload) == [
            ("invalid_validation_rules", ["rules", "0", "conditions", "$more_than"])
        ]
        assert "number" in payload["errors"][0]["message"]
        assert await rule_count(api) == 0

    async def test_every_problem_is_listed_with_its_path(self, api):
        payload = await mutate(api, CREATE_RULE, name="Bad", logic="1 or 2", rules=[
            {"name": "order.items.count", "conditions": {"$is": ["three"]}},
            {"name": "order.items.any", "conditions": {"$is": [{"object": "shelf", "id": "x"}]},
             "rules": [
                 {"name": "order.items.quantity", "conditions": {"$contains": ["1"]}},
                 {"name": "order.amount", "conditions": {"$more_than": [1]}},
             ]},
            {"name": "customer.metadata", "property": "birthday",
             "conditions": {"$timeframe_daily_hours": ["25:00;26:00"]}},
            {"name": "customer.segment", "conditions": {"$more_than": [3]}},
        ])

        assert error_codes(payload) == [
            ("invalid_validation_rules", ["rules", "0", "conditions", "$is"]),
            ("invalid_validation_rules", ["rules", "1", "conditions", "$is"]),
            ("invalid_validation_rules", ["rules", "1", "rules", "0", "conditions", "$contains"]),
            ("invalid_validation_rules", ["rules", "1", "rules", "1", "name"]),
            ("invalid_validation_rules", ["rules", "2", "conditions",
                                          "$timeframe_daily_hours"]),
            ("invalid_validation_rules", ["rules", "3", "conditions", "$more_than"]),
        ]

    async def test_property_and_logic_are_never_dropped(self, api):
        cases = [
            ({"name": "order.amount", "property": "total", "conditions": {"$more_than": [1]}},
             ["rules", "0", "property"]),
            ({"name": "order.items.metadata_any", "conditions": {"$is": ["red"]}},
             ["rules", "0", "property"]),
            ({"name": "order.amount", "logic": "1", "conditions": {"$more_than": [1]}},
             ["rules", "0", "logic"]),
        ]
        for rule, field in cases:
            payload = await mutate(api, CREATE_RULE, name="Bad", rules=[rule])
            assert error_codes(payload) == [("invalid_validation_rules", field)], rule
        assert await rule_count(api) == 0

    async def test_update_checks_operands_too(self, api):
        rule = await create_rule(api)

        payload = await mutate(api, UPDATE_RULE, id=rule["id"], rules=[
            {"name": "order.amount", "conditions": {"$less_than": ["lots"]}}
        ])

        assert error_codes(payload) == [
            ("invalid_validation_rules", ["rules", "0", "conditions", "$less_than"])
        ]
        stored = (await api(RULE_QUERY, id=rule["id"]))["validationRule"]
        assert stored["rules"][0]["conditions"] == {"$more_than": [5000]}

    async def test_bundle_rules_take_only_what_is_read(self, api):
        product = await create_product(api)
        cases = [
            ({"items": [{"object": "product", "id": product["id"]}], "limit": 1, "max": 2},
             ["bundleRules", "max"]),
            ({"items": [{"object": "product", "id": product["id"], "qty": 2}]},
             ["bundleRules", "items", "0", "qty"]),
            ({"items": [{"object": "product", "quantity": 2}]},
             ["bundleRules", "items", "0", "id"]),
            ({"items": ["prod_x"]}, ["bundleRules", "items", "0"]),
            ({"items": {"object": "product"}}, ["bundleRules", "items"]),
        ]
        for bundle, field in cases:
            payload = await mutate(api, CREATE_RULE, name="Bundle", rules=[], bundleRules=bundle)
            assert error_codes(payload) == [("invalid_validation_rules", field)], bundle
        assert await rule_count(api) == 0


class TestUpdateAndDeleteValidationRule:
    async def test_replaces_rules_and_keeps_name(self, api):
        rule = await create_rule(api, name="Keep")

        payload = await mutate(api, UPDATE_RULE, id=rule["id"], rules=[
            {"name": "order.items.count", "conditions": {"$more_than_or_equal": [3]}}
        ])

        assert payload["errors"] == []
        assert payload["validationRule"]["name"] == "Keep"
        assert [r["name"] for r in payload["validationRule"]["rules"]] == ["order.items.count"]

    async def test_delete_in_use_needs_force(self, api):
        rule = await create_rule(api)
        campaign = await create_campaign(api, validationRuleIds=[rule["id"]])
        assert campaign["validationRules"] == [{"id": rule["id"]}]

        refused = await mutate(api, DELETE_RULE, id=rule["id"])
        forced = await mutate(api, DELETE_RULE, id=rule["id"], force=True)

        assert error_codes(refused) == [("resource_in_use", ["id"])]
        assert forced == {"deletedId": rule["id"], "errors": []}
        data = await api("query($id: ID!) { campaign(id: $id) { validationRules { id } } }",
                         id=campaign["id"])
        assert data["campaign"]["validationRules"] == []

    async def test_delete_unused(self, api):
        rule = await create_rule(api)

        payload = await mutate(api, DELETE_RULE, id=rule["id"])

        assert payload == {"deletedId": rule["id"], "errors": []}
        assert (await api(RULE_QUERY, id=rule["id"]))["validationRule"] is None


class TestAssignments:
    async def test_campaign_voucher_and_tier_rules(self, api):
        a, b = await create_rule(api, name="A"), await create_rule(api, name="B")
        voucher = await create_voucher(api, code="RULED", validationRuleIds=[a["id"], b["id"]])
        promotion = await create_promotion(api)
        tier = await create_tier(api, promotion["id"], validationRuleIds=[b["id"]])

        assert voucher["validationRules"] == [{"id": a["id"]}, {"id": b["id"]}]
        assert tier["validationRules"] == [{"id": b["id"]}]
        data = await api(
            "query($id: ID!) { validationRule(id: $id) { assignments { ruleId "
            "relatedObjectType relatedObjectId } } }", id=b["id"]
        )
        assert data["validationRule"]["assignments"] == [
            {"ruleId": b["id"], "relatedObjectType": "voucher", "relatedObjectId": voucher["id"]},
            {"ruleId": b["id"], "relatedObjectType": "promotion_tier",
             "relatedObjectId": tier["id"]},
        ]

    async def test_update_replaces_assignments(self, api):
        a, b = await create_rule(api, name="A"), await create_rule(api, name="B")
        campaign = await create_campaign(api, validationRuleIds=[a["id"]])

        payload = await mutate(api, UPDATE_CAMPAIGN, id=campaign["id"],
                               validationRuleIds=[b["id"]])

        assert payload["campaign"]["validationRules"] == [{"id": b["id"]}]

    async def test_unknown_or_foreign_rule_is_not_found(self, api, make_tenant):
        other = await make_tenant("Other")
        foreign = await create_rule(other.api)

        payload = await mutate(api, UPDATE_CAMPAIGN, id=(await create_campaign(api))["id"],
                               validationRuleIds=[foreign["id"]])

        assert error_codes(payload) == [("not_found", ["validationRuleIds", "0"])]


class TestRuleTenancy:
    async def test_other_project_cannot_read_change_or_delete(self, api, make_tenant):
        rule = await create_rule(api)
        other = (await make_tenant("Other")).api

        assert (await other(RULE_QUERY, id=rule["id"]))["validationRule"] is None
        assert error_codes(await mutate(other, UPDATE_RULE, id=rule["id"], name="X")) == [
            ("not_found", ["id"])
        ]
        assert error_codes(await mutate(other, DELETE_RULE, id=rule["id"])) == [
            ("not_found", ["id"])
        ]
        assert (await api(RULE_QUERY, id=rule["id"]))["validationRule"]["name"] == rule["name"]


class TestRulePermissions:
    async def test_publishable_key_is_forbidden(self, tenant):
        errors = await tenant.client_api.errors(
            CREATE_RULE, input={"name": "X", "rules": []}
        )
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
