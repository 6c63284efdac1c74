"""Validation rules (reference §2.7) and their assignments.

The API takes rules as a list (numbered 1, 2, 3 … in list order); they are stored in the
reference's numbered shape (see `definitions`), after building and compiling the engine's
`ValidationRule`, so a bad logic expression, operator or formula is refused here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db import repository
from app.db.catalog import Product, ProductCollection, Sku
from app.db.ids import new_id
from app.db.rules import ValidationRule, ValidationRuleAssignment
from app.db.session import Database
from app.engine import rules as engine_rules
from app.engine.error_codes import INVALID_VALIDATION_RULES, REQUIRED, RESOURCE_IN_USE
from app.services.checkout import definitions
from app.services.errors import Checks, ServiceError, not_found

CODE = INVALID_VALIDATION_RULES
TARGET_MODELS: dict[str, Any] = {
    "product": Product, "sku": Sku, "products_collection": ProductCollection,
}
MAX_NESTING = 3  # sub-rules of sub-rules of sub-rules
MAX_LOGIC_LENGTH = 1000
MAX_BUNDLE_ITEMS = 50
BUNDLE_KEYS = {"items", "limit"}
BUNDLE_ITEM_KEYS = {"object", "id", "quantity"}
TARGET_FIELDS = (
    "effect", "target", "quantity_limit", "aggregated_quantity_limit", "amount_limit",
    "aggregated_amount_limit", "price", "skip_initially", "repeat",
)


def numbered(rules: list[dict[str, Any]], logic: str | None) -> dict[str, Any]:
    """The API's rule list as the reference's numbered mapping ("1", "2", …, "logic")."""
    out: dict[str, Any] = {}
    for n, rule in enumerate(rules, start=1):
        entry: dict[str, Any] = {"name": rule.get("name"), "conditions": rule.get("conditions")}
        if rule.get("property") is not None:
            entry["property"] = rule["property"]
        if rule.get("rules"):
            entry["rules"] = numbered(rule["rules"], rule.get("logic"))
        if (rule.get("error") or {}).get("message") is not None:
            entry["error"] = {"message": rule["error"]["message"]}
        out[str(n)] = entry
    if rules:
        out["logic"] = logic if logic and logic.strip() else " and ".join(out)
    return out


def _api_path(path: list[str]) -> list[str]:
    """Numbered-rule paths ("rules", "2") → list indices of the input ("rules", "1")."""
    out: list[str] = []
    for i, part in enumerate(path):
        if i > 0 and path[i - 1] == "rules" and part.isdigit():
            out.append(str(int(part) - 1))
        else:
            out.append(part)
    return out


def _check_rule_list(
    checks: Checks, rules: list[dict[str, Any]], path: list[str | int], depth: int = 0,
    parent: str | None = None,
) -> None:
    if depth > MAX_NESTING:
        checks.fail(CODE, f"rules nest at most {MAX_NESTING} levels", path)
        return
    if not checks.list_size(rules, path, maximum=definitions.MAX_RULES):
        return
    for index, rule in enumerate(rules):
        rule_path = [*path, index]
        checks.text(rule.get("name"), [*rule_path, "name"], max_length=200, required=True)
        name = str(rule.get("name") or "")
        if parent is not None and (problem := engine_rules.sub_rule_problem(parent, name)):
            checks.fail(CODE, problem, [*rule_path, "name"])
        _check_conditions(checks, name, rule.get("conditions"), [*rule_path, "conditions"])
        if engine_rules.takes_property(name):
            if not rule.get("property"):
                checks.fail(CODE, f"Rule '{name}' must have a 'property'",
                            [*rule_path, "property"])
            else:
                checks.text(rule["property"], [*rule_path, "property"], max_length=200)
        elif rule.get("property") is not None:
            checks.fail(CODE, f"rule {name} reads no property; remove it",
                        [*rule_path, "property"])
        message = (rule.get("error") or {}).get("message")
        checks.text(message, [*rule_path, "error", "message"], max_length=1000)
        sub = rule.get("rules") or []
        if sub:
            _check_rule_list(checks, sub, [*rule_path, "rules"], depth + 1,
                             name if engine_rules.takes_sub_rules(name) else None)
        _check_logic(checks, rule.get("logic"), len(sub), [*rule_path, "logic"])


def _check_conditions(checks: Checks, name: str, conditions: Any, path: list[str | int]) -> None:
    if not isinstance(conditions, dict):
        checks.fail(CODE, 'conditions is an object of operators, e.g. {"$more_than": [5000]}',
                    path)
        return
    if any(not str(op).startswith("$") for op in conditions):
        checks.fail(CODE, "condition operators start with $", path)
        return
    for op, message in engine_rules.condition_problems(name, conditions):
        checks.fail(CODE, message, [*path, op])


def _check_logic(checks: Checks, logic: Any, count: int, path: list[str | int]) -> None:
    """`logic` names the rules of its list (1..count); nothing to combine → no logic."""
    if logic is None or not logic.strip():
        return
    if count == 0:
        checks.fail(CODE, "logic combines rules: give them in `rules`", path)
        return
    if len(logic) > MAX_LOGIC_LENGTH:
        checks.fail(CODE, f"logic is at most {MAX_LOGIC_LENGTH} characters", path)
        return
    try:
        engine_rules.parse_logic(logic, [str(n) for n in range(1, count + 1)])
    except engine_rules.RuleCompileError as exc:
        checks.fail(CODE, str(exc), path)


def _check(checks: Checks, data: dict[str, Any], *, creating: bool) -> None:
    checks.text(data.get("name"), ["name"], max_length=200, required=creating)
    if not creating and "name" in data and data["name"] is None:
        checks.fail(REQUIRED, "a validation rule needs a name", ["name"])
    if data.get("rules") is not None:
        _check_rule_list(checks, data["rules"], ["rules"])
        _check_logic(checks, data.get("logic"), len(data["rules"]), ["logic"])
    if data.get("logic") is not None and data.get("rules") is None:
        checks.fail(CODE, "give the rules together with their logic", ["logic"])
    checks.text((data.get("error") or {}).get("message"), ["error", "message"], max_length=1000)
    for side in ("included", "excluded"):  # amounts of targets: within 2^53 - 1
        for index, target in enumerate((data.get("applicable_to") or {}).get(side) or []):
            for key, name in (("amount_limit", "amountLimit"), ("price", "price"),
                              ("aggregated_amount_limit", "aggregatedAmountLimit")):
                checks.fits(target.get(key), ["applicableTo", side, index, name])
    bundle = data.get("bundle_rules")
    if bundle is not None:
        _check_bundle_shape(checks, bundle)


def _check_bundle_shape(checks: Checks, bundle: Any) -> None:
    """bundleRules is {items: [{object, id, quantity}], limit}; nothing else is read, so
    nothing else is accepted."""
    path: list[str | int] = ["bundleRules"]
    if not isinstance(bundle, dict):
        checks.fail(CODE, "bundleRules is an object {items, limit}", path)
        return
    for key in bundle.keys() - BUNDLE_KEYS:
        checks.fail(CODE, f"unknown key {key!r}; bundleRules has items and limit", [*path, key])
    items = bundle.get("items")
    if items is None:
        return  # definitions.bundle_rules says a bundle needs items
    if not isinstance(items, list):
        checks.fail(CODE, "items is a list of {object, id, quantity}", [*path, "items"])
        return
    if not checks.list_size(items, [*path, "items"], maximum=MAX_BUNDLE_ITEMS):
        return
    for index, item in enumerate(items):
        item_path = [*path, "items", index]
        if not isinstance(item, dict):
            checks.fail(CODE, "an item is {object, id, quantity}", item_path)
            continue
        for key in item.keys() - BUNDLE_ITEM_KEYS:
            checks.fail(CODE, f"unknown key {key!r}; an item has object, id and quantity",
                        [*item_path, key])
        if not isinstance(item.get("id"), str) or not item["id"].strip():
            checks.fail(CODE, "an item names its product, SKU or collection by id",
                        [*item_path, "id"])


async def _resolve_targets(
    session: AsyncSession, project_id: str, applicable: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Store targets by id: a sourceId is resolved to the product/SKU id now."""
    if applicable is None:
        return None
    out: dict[str, Any] = {"included_all": bool(applicable.get("included_all"))}
    for side in ("included", "excluded"):
        targets = []
        for index, target in enumerate(applicable.get(side) or []):
            path = ["applicableTo", side, str(index)]
            targets.append(await _resolve_target(session, project_id, target, path))
        out[side] = targets
    return out


async def _resolve_target(
    session: AsyncSession, project_id: str, target: dict[str, Any], path: list[str]
) -> dict[str, Any]:
    kind = target.get("object")
    model = TARGET_MODELS.get(str(kind))
    if model is None:
        raise ServiceError.one(CODE, "object is product, sku or products_collection",
                               [*path, "object"])
    id_, source_id = target.get("id"), target.get("source_id")
    if id_ is not None:
        row = await repository.get(session, model, project_id, str(id_))
        if row is None:
            raise not_found(str(kind), str(id_), [*path, "id"])
    elif source_id is not None and model is not ProductCollection:
        row = await repository.get_by_source_id(session, model, project_id, source_id)
        if row is None:
            raise not_found(str(kind), source_id, [*path, "sourceId"])
    else:
        raise ServiceError.one(REQUIRED, "give the target's id (or sourceId)", path)
    stored: dict[str, Any] = {"object": kind, "id": row.id}
    if getattr(row, "source_id", None) is not None:
        stored["source_id"] = row.source_id
    stored.update({k: target[k] for k in TARGET_FIELDS if target.get(k) is not None})
    return stored


async def _check_bundle(
    session: AsyncSession, project_id: str, bundle: dict[str, Any] | None
) -> None:
    for index, item in enumerate((bundle or {}).get("items") or []):
        model = TARGET_MODELS.get(str(item.get("object")))
        if model is not None and item.get("id") and (
            await repository.get(session, model, project_id, str(item["id"])) is None
        ):
            raise not_found(str(item["object"]), str(item["id"]),
                            ["bundleRules", "items", str(index), "id"])


def _build(rule: ValidationRule) -> None:
    """Build and compile the engine's rule: what is stored is what the engine can run."""
    try:
        built = definitions.validation_rule(
            rule.id, rule.name, rule.rules, rule.error_message, rule.applicable_to,
            rule.bundle_rules,
        )
        definitions.check_compiles(engine.Redeemable(
            object=engine.RedeemableObject.VOUCHER, id=rule.id, validation_rules=(built,)
        ))
    except definitions.DefinitionError as exc:
        field = _api_path(exc.path) if exc.path else (
            ["logic"] if "logic" in str(exc).lower() else ["rules"]
        )
        raise ServiceError.one(CODE, str(exc), field) from exc


def _apply(rule: ValidationRule, data: dict[str, Any]) -> None:
    if data.get("name") is not None:
        rule.name = data["name"].strip()
    if data.get("rules") is not None:
        rule.rules = numbered(data["rules"], data.get("logic"))
    if "error" in data:
        rule.error_message = (data["error"] or {}).get("message")


async def create_validation_rule(
    db: Database, project_id: str, data: dict[str, Any]
) -> ValidationRule:
    checks = Checks()
    _check(checks, data, creating=True)
    checks.raise_if_any()
    rule = ValidationRule(id=new_id("val"), project_id=project_id, name="", rules={})
    _apply(rule, data)
    async with db.write() as session:
        rule.applicable_to = await _resolve_targets(session, project_id, data.get("applicable_to"))
        rule.bundle_rules = data.get("bundle_rules")
        _build(rule)
        await _check_bundle(session, project_id, rule.bundle_rules)
        session.add(rule)
    return rule


async def update_validation_rule(
    db: Database, project_id: str, rule_id: str, data: dict[str, Any]
) -> ValidationRule:
    checks = Checks()
    _check(checks, data, creating=False)
    checks.raise_if_any()
    async with db.write() as session:
        rule = await repository.get(session, ValidationRule, project_id, rule_id)
        if rule is None:
            raise not_found("validation rule", rule_id, ["id"])
        _apply(rule, data)
        if "applicable_to" in data:
            rule.applicable_to = await _resolve_targets(
                session, project_id, data["applicable_to"]
            )
        if "bundle_rules" in data:
            rule.bundle_rules = data["bundle_rules"]
        _build(rule)
        await _check_bundle(session, project_id, rule.bundle_rules)
    return rule


async def delete_validation_rule(
    db: Database, project_id: str, rule_id: str, *, force: bool
) -> ValidationRule:
    async with db.write() as session:
        rule = await repository.get(session, ValidationRule, project_id, rule_id)
        if rule is None:
            raise not_found("validation rule", rule_id, ["id"])
        in_use = await repository.count(
            session, ValidationRuleAssignment, project_id,
            [ValidationRuleAssignment.rule_id == rule_id],
        )
        if in_use and not force:
            raise ServiceError.one(
                RESOURCE_IN_USE,
                f"the rule is assigned to {in_use} object(s); pass force: true to delete it "
                "and its assignments", ["id"],
            )
        await session.execute(sa.delete(ValidationRuleAssignment).where(
            ValidationRuleAssignment.project_id == project_id,
            ValidationRuleAssignment.rule_id == rule_id,
        ))
        await session.delete(rule)
    return rule


async def rules_of_objects(
    db: Database, project_id: str, object_ids: list[str]
) -> dict[str, list[ValidationRule]]:
    """The rules assigned to each object, in assignment order."""
    stmt = (
        sa.select(ValidationRuleAssignment.related_object_id, ValidationRule)
        .join(ValidationRule, ValidationRule.id == ValidationRuleAssignment.rule_id)
        .where(
            ValidationRuleAssignment.project_id == project_id,
            ValidationRuleAssignment.related_object_id.in_(object_ids),  # type: ignore[attr-defined]
        )
        .order_by(ValidationRuleAssignment.id)
    )
    grouped: dict[str, list[ValidationRule]] = {i: [] for i in object_ids}
    async with db.read() as session:
        for object_id, rule in (await session.execute(stmt)).all():
            grouped[object_id].append(rule)
    return grouped


async def assignments_of_rules(
    db: Database, project_id: str, rule_ids: list[str]
) -> dict[str, list[ValidationRuleAssignment]]:
    stmt = (
        sa.select(ValidationRuleAssignment)
        .where(
            ValidationRuleAssignment.project_id == project_id,
            ValidationRuleAssignment.rule_id.in_(rule_ids),  # type: ignore[attr-defined]
        )
        .order_by(ValidationRuleAssignment.id)
    )
    grouped: dict[str, list[ValidationRuleAssignment]] = {i: [] for i in rule_ids}
    async with db.read() as session:
        for row in (await session.execute(stmt)).scalars():
            grouped[row.rule_id].append(row)
    return grouped
