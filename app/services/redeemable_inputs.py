"""Input checks shared by campaigns, vouchers and promotion tiers: discounts, validity windows,
categories and validation-rule assignments.

Discounts and validity are checked by building the engine's objects through
`app.services.checkout.definitions` and compiling them, so what is stored is what the engine runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db import repository
from app.db.categories import Category
from app.db.ids import new_id
from app.db.rules import ValidationRule, ValidationRuleAssignment
from app.engine.values import parse_duration
from app.services.checkout import definitions
from app.services.errors import Checks, not_found

# Fields that only one kind of discount reads (anything else would be stored and ignored).
FOREIGN_DISCOUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "amount_off": ("AMOUNT",), "amount_off_formula": ("AMOUNT",),
    "percent_off": ("PERCENT",), "percent_off_formula": ("PERCENT",),
    "fixed_amount": ("FIXED",), "fixed_amount_formula": ("FIXED",),
    "unit_off": ("UNIT",), "unit_type": ("UNIT",), "unit_off_formula": ("UNIT",),
    "units": ("UNIT", "SHIPPING"),
}
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
MAX_RULES_PER_OBJECT = 10
MAX_DAILY_PERIODS = 20


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def stored_discount(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The discount as stored: the input's snake_case fields without the unset ones."""
    return _drop_none(data) if data is not None else None


def check_discount(
    checks: Checks, data: dict[str, Any] | None, path: list[str | int], *, required: bool = False
) -> None:
    if data is None:
        if required:
            checks.fail("invalid_discount", "a discount is required", path)
        return
    kind = data.get("type")
    for key in sorted(data.keys() & FOREIGN_DISCOUNT_FIELDS.keys()):
        if data[key] is not None and kind not in FOREIGN_DISCOUNT_FIELDS[key]:
            checks.fail("invalid_discount", f"a {kind} discount does not use {_camel(key)}",
                        [*path, _camel(key)])
    try:
        built = definitions.discount(stored_discount(data) or {}, [str(p) for p in path])
        definitions.check_compiles(engine.Redeemable(
            object=engine.RedeemableObject.VOUCHER, id="check", discount=built
        ))
    except definitions.DefinitionError as exc:
        checks.fail("invalid_discount", str(exc), exc.path or path)
        return
    for key in ("amount_off", "amount_limit", "aggregated_amount_limit", "fixed_amount"):
        checks.money(data.get(key), [*path, _camel(key)])


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def check_validity(checks: Checks, data: dict[str, Any], current: Any = None) -> None:
    """Dates and recurring windows of a campaign, voucher or tier (`current`: the stored row
    an update changes, so a partial update is checked against what it keeps)."""

    def value(key: str) -> Any:
        if key in data:
            return data[key]
        return getattr(current, key, None) if current is not None else None

    start, end = value("start_date"), value("expiration_date")
    for key, moment in (("startDate", start), ("expirationDate", end)):
        if isinstance(moment, datetime) and moment.tzinfo is None:
            checks.fail("invalid_date", "give the date with a UTC offset", [key])
            return
    if start is not None and end is not None and end <= start:
        checks.fail("invalid_expiration_date", "expirationDate must be after startDate",
                    ["expirationDate"])
    timeframe, days, hours = (
        value("validity_timeframe"), value("validity_day_of_week"), value("validity_hours")
    )
    if timeframe is not None:
        _check_timeframe(checks, timeframe, start)
    if days is not None:
        _check_days(checks, days, ["validityDayOfWeek"])
    if hours is not None:
        if timeframe is not None or days is not None:
            checks.fail("invalid_validity",
                        "validityHours cannot be combined with validityTimeframe or "
                        "validityDayOfWeek", ["validityHours"])
        _check_hours(checks, hours)


def _check_timeframe(checks: Checks, timeframe: dict[str, Any], start: Any) -> None:
    parsed = {}
    for key in ("duration", "interval"):
        try:
            parsed[key] = parse_duration(str(timeframe.get(key) or ""))
        except ValueError:
            checks.fail("invalid_validity", f"{key} must be an ISO 8601 duration such as PT1H",
                        ["validityTimeframe", key])
    if start is None:
        checks.fail("invalid_validity", "a validityTimeframe is anchored at startDate; set it",
                    ["startDate"])


def _check_days(checks: Checks, days: Sequence[Any], path: list[str | int]) -> None:
    if len(set(days)) != len(days) or any(
        isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days
    ):
        checks.fail("invalid_validity", "days of week are distinct numbers 0 (Sunday) to 6",
                    path)


def _check_hours(checks: Checks, hours: dict[str, Any]) -> None:
    daily = hours.get("daily") or []
    if not checks.list_size(daily, ["validityHours", "daily"], maximum=MAX_DAILY_PERIODS):
        return
    spans: list[tuple[int, int, int, int]] = []
    for index, period in enumerate(daily):
        path: list[str | int] = ["validityHours", "daily", index]
        ok = True
        for key, name in (("start_time", "startTime"), ("expiration_time", "expirationTime")):
            if not HHMM.match(str(period.get(key) or "")):
                checks.fail("invalid_validity", "times are HH:MM (00:00 to 23:59)", [*path, name])
                ok = False
        _check_days(checks, period.get("days_of_week") or [], [*path, "daysOfWeek"])
        if not ok:
            continue
        lo, hi = (_minutes(period["start_time"]), _minutes(period["expiration_time"]))
        if lo == hi:
            checks.fail("invalid_validity", "expirationTime must differ from startTime",
                        [*path, "expirationTime"])
            continue
        for day in period.get("days_of_week") or []:
            for a, b in _week_spans(day, lo, hi):
                for other in spans:
                    if a < other[1] and other[0] < b:
                        checks.fail("invalid_validity", "daily periods must not overlap", path)
                        return
                spans.append((a, b, index, day))


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _week_spans(day: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """Minute spans of the week (overnight periods spill into the next day)."""
    base, week = day * 1440, 7 * 1440
    start, end = base + lo, base + hi if hi > lo else base + 1440 + hi
    if end <= week:
        return [(start, end)]
    return [(start, week), (0, end - week)]


def validity_definition(row_or_data: Any) -> engine.Validity:
    def get(key: str) -> Any:
        if isinstance(row_or_data, dict):
            return row_or_data.get(key)
        return getattr(row_or_data, key)

    return definitions.validity(
        get("start_date"), get("expiration_date"), get("validity_timeframe"),
        get("validity_day_of_week"), get("validity_hours"),
    )


def stored_validity(data: dict[str, Any]) -> dict[str, Any]:
    """The validity fields of an input as the columns store them."""
    out: dict[str, Any] = {}
    for key in ("validity_timeframe", "validity_hours"):
        if key in data:
            out[key] = _drop_none(data[key]) if data[key] is not None else None
    for key in ("start_date", "expiration_date", "validity_day_of_week"):
        if key in data:
            out[key] = data[key]
    return out


async def check_category(
    session: AsyncSession, project_id: str, category_id: str | None, path: list[str]
) -> None:
    if category_id is not None and (
        await repository.get(session, Category, project_id, category_id) is None
    ):
        raise not_found("category", category_id, path)


def check_rule_ids(checks: Checks, rule_ids: list[str] | None, path: list[str | int]) -> None:
    if rule_ids is not None:
        checks.list_size(rule_ids, path, maximum=MAX_RULES_PER_OBJECT)


async def set_assignments(
    session: AsyncSession, project_id: str, object_type: str, object_id: str,
    rule_ids: list[str], path: list[str], *, replace: bool,
) -> None:
    """Assign exactly these rules to the object (unknown or foreign rule ids: not_found)."""
    wanted = list(dict.fromkeys(str(r) for r in rule_ids))
    found = await repository.get_many(session, ValidationRule, project_id, wanted)
    for index, rule_id in enumerate(rule_ids):
        if str(rule_id) not in found:
            raise not_found("validation rule", str(rule_id), [*path, str(index)])
    if replace:
        await delete_assignments(session, project_id, [object_id])
    for rule_id in wanted:
        session.add(ValidationRuleAssignment(
            id=new_id("asgm"), project_id=project_id, rule_id=rule_id,
            related_object_type=object_type, related_object_id=object_id,
        ))


async def delete_assignments(
    session: AsyncSession, project_id: str, object_ids: Sequence[str] | Any
) -> None:
    """Drop the assignments of these objects (`object_ids` may be a SQL subquery)."""
    await session.execute(
        sa.delete(ValidationRuleAssignment).where(
            ValidationRuleAssignment.project_id == project_id,
            ValidationRuleAssignment.related_object_id.in_(object_ids),  # type: ignore[attr-defined]
        )
    )


def nested(checks: Checks, prefix: list[str | int], run: Any) -> None:
    """Run `run(sub_checks)` and file its errors under `prefix` (e.g. promotion.tiers.2)."""
    sub = Checks()
    run(sub)
    for error in sub.errors:
        checks.fail(error.code, error.message, [*prefix, *(error.field or [])])
