"""Vouchers: discount codes and gift cards, alone or in a campaign; bulk code insertion.

A voucher made from a campaign copies the campaign's template (type, discount, gift, redemption
limit, referral flag) at creation. Its own dates, validity windows and category are overrides:
when unset, the campaign's apply (the evaluation reads voucher value, else campaign value).
Its campaign's validation rules apply on top of its own (nothing is copied).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.db import repository
from app.db.base import utcnow
from app.db.campaigns import Campaign, CampaignMode, CampaignType
from app.db.ids import new_id, new_ids, prefix_of
from app.db.rules import AssignedObject
from app.db.session import Database
from app.db.vouchers import TransactionType, Voucher, VoucherTransaction, VoucherType
from app.engine import money
from app.events.outbox import emit_row
from app.services import codes
from app.services import redeemable_inputs as shared
from app.services.errors import Checks, ServiceError, not_found

MAX_REDEMPTION_QUANTITY = 1_000_000_000
# Rounds in a row that insert nothing before a generation gives up (the space is full).
MAX_FRUITLESS_ROUNDS = 20
INITIAL_BALANCE_REASON = "initial balance"


# --- code insertion (shared with campaign generation) --------------------------------------

def template_rows(project_id: str, campaign: Campaign, codes_: list[str]) -> list[dict[str, Any]]:
    """Column values of vouchers made from the campaign's template, one per code."""
    template = campaign.voucher or {}
    gift = template.get("gift") or {}
    amount = int(gift.get("amount") or 0)
    base = {
        "project_id": project_id, "campaign_id": campaign.id,
        "type": template.get("type") or VoucherType.DISCOUNT_VOUCHER,
        "discount": template.get("discount"),
        "gift_amount": amount, "gift_balance": amount,
        "gift_effect": gift.get("effect") if gift else None,
        "redemption_quantity": (template.get("redemption") or {}).get("quantity"),
        "redeemed_quantity": 0, "redeemed_amount": 0, "active": True,
        "is_referral_code": bool(template.get("is_referral_code")),
        "created_at": utcnow(),
    }
    return [{**base, "id": new_id("v"), "code": code, "metadata": {}} for code in codes_]


def template_row(project_id: str, campaign: Campaign, code: str) -> dict[str, Any]:
    return template_rows(project_id, campaign, [code])[0]


def _insert(session: AsyncSession, table: sa.Table) -> Any:
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))


async def insert_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Insert voucher rows; codes already taken in the project are skipped (not an error).

    Returns (id, code) of the rows inserted. Gift cards get their opening ledger entry.
    """
    if not rows:
        return []
    stmt = (
        _insert(session, Voucher.__table__)  # type: ignore[arg-type]
        .on_conflict_do_nothing(index_elements=["project_id", "code"])
        .returning(Voucher.__table__.c.id, Voucher.__table__.c.code)  # type: ignore[attr-defined]
    )
    inserted = [(r[0], r[1]) for r in (await session.execute(stmt, rows)).all()]
    by_id = {row["id"]: row for row in rows}
    ledger = [
        _opening_entry(by_id[id_]) for id_, _ in inserted if by_id[id_]["gift_amount"] > 0
    ]
    if ledger:
        await session.execute(sa.insert(VoucherTransaction.__table__), ledger)  # type: ignore[arg-type]
    return inserted


def _opening_entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": new_id("vtx"), "project_id": row["project_id"], "voucher_id": row["id"],
        "type": TransactionType.CREDITS_ADDITION, "amount": row["gift_amount"],
        "balance_after": row["gift_amount"], "reason": INITIAL_BALANCE_REASON,
        "source_id": None, "redemption_id": None, "created_at": utcnow(),
    }


async def generate_into(
    session: AsyncSession, project_id: str, campaign: Campaign, generator: codes.CodeGenerator,
    count: int,
) -> int:
    """Insert `count` new vouchers with random codes; only collided codes are drawn again.

    A round is one INSERT ... SELECT over the round's ids and codes, passed as one or two
    parameters: no statement parameter, ORM object or dict per voucher. The rows are the
    `template_rows` ones, column for column."""
    remaining, fruitless, expect_new = count, 0, True
    while remaining > 0:
        batch = generator.batch(remaining)
        inserted = await _insert_generated(session, project_id, campaign, batch, expect_new)
        expect_new = inserted == len(batch)  # after a collision, expect more
        remaining -= inserted
        fruitless = 0 if inserted else fruitless + 1
        if fruitless >= MAX_FRUITLESS_ROUNDS:
            raise ServiceError.one(
                "invalid_code_config",
                "the code configuration has no free codes left in this project; lengthen "
                "the pattern or widen the charset", ["voucher", "codeConfig"],
            )
    return count


# Columns of a generated voucher that are the same for the whole batch (see template_rows).
_SHARED_COLUMNS = (
    "project_id", "campaign_id", "type", "discount", "gift_amount", "gift_balance",
    "gift_effect", "redemption_quantity", "redeemed_quantity", "redeemed_amount", "active",
    "is_referral_code", "metadata", "created_at",
)
_ID_WIDTH = len(new_id("v"))


@functools.cache
def _generated_insert(dialect: str, gift: bool, skip_taken: bool) -> Any:
    """INSERT INTO vouchers SELECT each (id, code) of the batch parameter and the shared
    values. PostgreSQL: `unnest` of two arrays; SQLite: `json_each` of one JSON array of
    id + code strings (ids have a fixed width). `skip_taken`: codes already in the project
    are skipped (ON CONFLICT DO NOTHING) instead of failing the statement. Gift cards
    return the new ids, for their ledger entries."""
    table: sa.Table = Voucher.__table__  # type: ignore[attr-defined]
    shared_values = [sa.bindparam(name, type_=table.c[name].type) for name in _SHARED_COLUMNS]
    if dialect == "postgresql":
        batch = sa.func.unnest(
            sa.bindparam("ids", type_=postgresql.ARRAY(sa.String)),
            sa.bindparam("codes", type_=postgresql.ARRAY(sa.String)),
        ).table_valued("id", "code").render_derived(name="batch")
        id_, code = batch.c.id, batch.c.code
        insert: Any = postgresql.insert(table)
    else:
        batch = sa.func.json_each(sa.bindparam("batch", type_=sa.String)).table_valued("value")
        id_ = sa.func.substr(batch.c.value, 1, _ID_WIDTH)
        code = sa.func.substr(batch.c.value, _ID_WIDTH + 1)
        insert = sqlite.insert(table)
    # WHERE true: SQLite needs it to parse ON CONFLICT after INSERT ... SELECT.
    rows = sa.select(id_, code, *shared_values).select_from(batch).where(sa.true())
    stmt = insert.from_select(["id", "code", *_SHARED_COLUMNS], rows)
    if skip_taken:
        stmt = stmt.on_conflict_do_nothing(index_elements=["project_id", "code"])
    return stmt.returning(table.c.id) if gift else stmt


async def _insert_generated(
    session: AsyncSession, project_id: str, campaign: Campaign, codes_: list[str],
    expect_new: bool,
) -> int:
    """Insert vouchers of the campaign's template with these codes, skipping codes already
    taken in the project; returns how many were inserted. Gift cards get their opening
    ledger entry."""
    template = template_rows(project_id, campaign, [""])[0]
    params = {name: template[name] for name in _SHARED_COLUMNS}
    ids = new_ids("v", len(codes_))
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    gift = template["gift_amount"] > 0
    if dialect == "postgresql":
        params.update(ids=ids, codes=codes_)
    else:
        params["batch"] = json.dumps([id_ + code for id_, code in zip(ids, codes_, strict=True)],
                                     ensure_ascii=False)

    async def insert(skip_taken: bool) -> list[str] | int:
        """The new vouchers' ids (gift cards: for their ledger), else how many."""
        result = await session.execute(_generated_insert(dialect, gift, skip_taken), params)
        return list(result.scalars()) if gift else int(result.rowcount)

    if dialect == "postgresql" and expect_new:
        # PostgreSQL inserts about 20 % faster without ON CONFLICT's speculative insertion,
        # and new codes rarely collide: insert plainly in a savepoint, and only if a code
        # is taken redo the round skipping the taken ones.
        await session.flush()  # the savepoint would; its errors stay the caller's
        try:
            async with session.begin_nested():
                inserted = await insert(skip_taken=False)
        except IntegrityError:
            inserted = await insert(skip_taken=True)
    else:
        inserted = await insert(skip_taken=True)
    if isinstance(inserted, int):
        return inserted
    if inserted:
        await session.execute(
            sa.insert(VoucherTransaction.__table__),  # type: ignore[arg-type]
            [_opening_entry({**template, "id": id_}) for id_ in inserted],
        )
    return len(inserted)


# --- lookups ------------------------------------------------------------------------------

async def find(session: AsyncSession, project_id: str, ref: str) -> Voucher | None:
    """A voucher by code, or by its `v_` id."""
    if prefix_of(ref) == "v":
        found = await repository.get(session, Voucher, project_id, ref)
        if found is not None:
            return found
    stmt = sa.select(Voucher).where(Voucher.project_id == project_id, Voucher.code == ref)
    return (await session.execute(stmt)).scalar_one_or_none()


async def resolve(session: AsyncSession, project_id: str, ref: str) -> Voucher:
    voucher = await find(session, project_id, ref)
    if voucher is None:
        raise not_found("voucher", ref, ["code"])
    return voucher


async def get_voucher(db: Database, project_id: str, ref: str) -> Voucher | None:
    async with db.read() as session:
        return await find(session, project_id, ref)


# --- create / update ----------------------------------------------------------------------

def check_code(checks: Checks, code: str | None, path: list[str | int]) -> None:
    if code is None:
        return
    if not code or len(code) > codes.MAX_CODE_LENGTH or any(
        c.isspace() or not c.isprintable() for c in code
    ):
        checks.fail("invalid_code", "a code is 1-200 printable characters without spaces", path)


def _check_common(checks: Checks, data: dict[str, Any], current: Voucher | None) -> None:
    check_code(checks, data.get("code"), ["code"])
    shared.check_validity(checks, data, current)
    shared.check_rule_ids(checks, data.get("validation_rule_ids"), ["validationRuleIds"])
    checks.metadata(data.get("metadata"), ["metadata"])
    quantity = (data.get("redemption") or {}).get("quantity")
    checks.positive(quantity, ["redemption", "quantity"], maximum=MAX_REDEMPTION_QUANTITY)


def _check_kind(checks: Checks, kind: str, data: dict[str, Any]) -> None:
    if kind == VoucherType.LOYALTY_CARD:
        checks.fail("invalid_voucher", "loyalty cards are not supported yet", ["type"])
    elif kind == VoucherType.GIFT_VOUCHER:
        if data.get("discount") is not None:
            checks.fail("invalid_voucher", "a gift card has no discount", ["discount"])
        gift = data.get("gift")
        if gift is None:
            checks.fail("invalid_voucher", "a gift card needs gift {amount}", ["gift"])
        else:
            check_gift_amount(checks, gift.get("amount"), ["gift", "amount"])
    else:
        if data.get("gift") is not None:
            checks.fail("invalid_voucher", "only a GIFT_VOUCHER has gift", ["gift"])
        shared.check_discount(checks, data.get("discount"), ["discount"], required=True)


def check_gift_amount(checks: Checks, amount: Any, path: list[str | int]) -> None:
    if amount is None or amount <= 0:
        checks.fail("invalid_balance", "a gift card's amount must be greater than zero", path)
    else:
        checks.fits(amount, path, "a gift card's amount")


def _apply(voucher: Voucher, data: dict[str, Any]) -> None:
    for key, value in shared.stored_validity(data).items():
        setattr(voucher, key, value)
    if "discount" in data and data["discount"] is not None:
        voucher.discount = shared.stored_discount(data["discount"])
    if "gift" in data and data["gift"] is not None and data["gift"].get("effect"):
        voucher.gift_effect = data["gift"]["effect"]
    if "redemption" in data:
        voucher.redemption_quantity = (data["redemption"] or {}).get("quantity")
    if data.get("active") is not None:
        voucher.active = data["active"]
    if "category_id" in data:
        voucher.category_id = data["category_id"]
    if "metadata" in data:
        voucher.metadata_ = data["metadata"] or {}
    if data.get("is_referral_code") is not None:
        voucher.is_referral_code = data["is_referral_code"]


async def create_voucher(db: Database, project_id: str, data: dict[str, Any]) -> Voucher:
    checks = Checks()
    _check_common(checks, data, None)
    if data.get("loyalty_card") is not None:
        checks.fail("not_supported", "loyalty cards are not supported yet; leave loyaltyCard "
                    "out", ["loyaltyCard"])
    checks.raise_if_any()
    try:
        async with db.write() as session:
            voucher = await _build_new(session, project_id, data)
            await shared.check_category(session, project_id, data.get("category_id"),
                                        ["categoryId"])
            session.add(voucher)
            await session.flush()
            if voucher.gift_amount > 0:
                session.add(VoucherTransaction(**_opening_entry(
                    {"id": voucher.id, "project_id": project_id,
                     "gift_amount": voucher.gift_amount}
                )))
            if data.get("validation_rule_ids"):
                await shared.set_assignments(
                    session, project_id, AssignedObject.VOUCHER, voucher.id,
                    data["validation_rule_ids"], ["validationRuleIds"], replace=False,
                )
            if voucher.campaign_id is not None:
                await session.execute(
                    sa.update(Campaign)
                    .where(Campaign.project_id == project_id, Campaign.id == voucher.campaign_id)
                    .values(vouchers_count=Campaign.vouchers_count + 1)
                )
            await emit_row(session, project_id, "voucher.created", "voucher", voucher)
    except IntegrityError as exc:
        raise ServiceError.one(
            "duplicate_code", "another voucher of this project has this code", ["code"]
        ) from exc
    return voucher


async def _build_new(session: AsyncSession, project_id: str, data: dict[str, Any]) -> Voucher:
    campaign = None
    if data.get("campaign_id") is not None:
        campaign = await repository.get(session, Campaign, project_id, data["campaign_id"])
        if campaign is None:
            raise not_found("campaign", data["campaign_id"], ["campaignId"])
        _check_campaign_takes_voucher(campaign)
    template = (campaign.voucher if campaign else None) or {}
    kind = data.get("type") or template.get("type") or VoucherType.DISCOUNT_VOUCHER
    checks = Checks()
    if campaign is not None and data.get("type") and data["type"] != template.get("type"):
        checks.fail("invalid_voucher", "the type must match the campaign's vouchers", ["type"])
    merged = {
        "discount": data.get("discount") if data.get("discount") is not None
        else template.get("discount"),
        "gift": _merge_gift(template.get("gift"), data.get("gift")),
    }
    _check_kind(checks, kind, merged)
    checks.raise_if_any()
    code = data.get("code")
    if code is None:
        code = await _free_code(session, project_id, template.get("code_config"))
    elif await find(session, project_id, code) is not None:
        raise ServiceError.one(
            "duplicate_code", "another voucher of this project has this code", ["code"]
        )
    if campaign is not None:
        row = template_row(project_id, campaign, code)
        row["metadata_"] = row.pop("metadata")
        voucher = Voucher(**row)
    else:
        voucher = Voucher(
            id=new_id("v"), project_id=project_id, code=code, type=kind, active=True,
            redeemed_quantity=0, redeemed_amount=0, gift_amount=0, gift_balance=0,
            is_referral_code=False, metadata_={},
        )
    voucher.code, voucher.type = code, kind
    given = {k: v for k, v in {**data, **merged}.items() if v is not None}
    _apply(voucher, given)
    if kind == VoucherType.GIFT_VOUCHER:
        voucher.gift_amount = voucher.gift_balance = merged["gift"]["amount"]
        voucher.gift_effect = merged["gift"].get("effect") or "APPLY_TO_ORDER"
        voucher.discount = None
    return voucher


def _merge_gift(template: dict[str, Any] | None, given: dict[str, Any] | None) -> Any:
    if given is None:
        return template
    return {**(template or {}), **{k: v for k, v in given.items() if v is not None}}


def _check_campaign_takes_voucher(campaign: Campaign) -> None:
    if campaign.campaign_type == CampaignType.PROMOTION:
        raise ServiceError.one(
            "invalid_campaign", "a PROMOTION campaign has promotion tiers, not vouchers",
            ["campaignId"],
        )
    if campaign.type == CampaignMode.STANDALONE and campaign.vouchers_count >= 1:
        raise ServiceError.one(
            "invalid_campaign", "a STANDALONE campaign has exactly one code", ["campaignId"]
        )


async def _free_code(session: AsyncSession, project_id: str, config: Any) -> str:
    generator = codes.CodeGenerator(codes.parse_config(config))
    for _ in range(MAX_FRUITLESS_ROUNDS):
        candidate = generator.one()
        if await find(session, project_id, candidate) is None:
            return candidate
    raise ServiceError.one(
        "invalid_code_config", "no free code left for this code configuration", ["code"]
    )


async def update_voucher(
    db: Database, project_id: str, ref: str, data: dict[str, Any]
) -> Voucher:
    checks = Checks()
    check_code(checks, data.get("code"), ["code"])
    checks.raise_if_any()
    async with db.write() as session:
        voucher = await resolve(session, project_id, ref)
        checks = Checks()
        _check_common(checks, data, voucher)
        if voucher.type == VoucherType.GIFT_VOUCHER:
            if data.get("discount") is not None:
                checks.fail("invalid_voucher", "a gift card has no discount", ["discount"])
            if (data.get("gift") or {}).get("amount") is not None:
                checks.fail("invalid_voucher",
                            "change a gift card's balance with addGiftCardBalance",
                            ["gift", "amount"])
        else:
            if data.get("gift") is not None:
                checks.fail("invalid_voucher", "only a GIFT_VOUCHER has gift", ["gift"])
            shared.check_discount(checks, data.get("discount"), ["discount"])
        checks.raise_if_any()
        await shared.check_category(session, project_id, data.get("category_id"), ["categoryId"])
        _apply(voucher, data)
        voucher.updated_at = utcnow()
        if data.get("validation_rule_ids") is not None:
            await shared.set_assignments(
                session, project_id, AssignedObject.VOUCHER, voucher.id,
                data["validation_rule_ids"], ["validationRuleIds"], replace=True,
            )
        await emit_row(session, project_id, "voucher.updated", "voucher", voucher)
    return voucher


async def set_active(db: Database, project_id: str, ref: str, active: bool) -> Voucher:
    async with db.write() as session:
        voucher = await resolve(session, project_id, ref)
        voucher.active = active
        voucher.updated_at = utcnow()
        await emit_row(session, project_id, "voucher.enabled" if active else "voucher.disabled",
                       "voucher", voucher)
    return voucher


async def delete_voucher(db: Database, project_id: str, ref: str) -> Voucher:
    async with db.write() as session:
        voucher = await resolve(session, project_id, ref)
        await shared.delete_assignments(session, project_id, [voucher.id])
        if voucher.campaign_id is not None:
            await session.execute(
                sa.update(Campaign)
                .where(Campaign.project_id == project_id, Campaign.id == voucher.campaign_id,
                       Campaign.vouchers_count > 0)
                .values(vouchers_count=Campaign.vouchers_count - 1)
            )
        await emit_row(session, project_id, "voucher.deleted", "voucher", voucher)
        await session.delete(voucher)
    return voucher


def list_clauses(
    campaign_id: str | None, holder_id: str | None, active: bool | None
) -> list[Any]:
    where: list[Any] = []
    if campaign_id is not None:
        where.append(Voucher.campaign_id == campaign_id)
    if holder_id is not None:
        where.append(Voucher.holder_id == holder_id)
    if active is not None:
        where.append(Voucher.active == active)
    return where


# --- gift cards ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BalanceChange:
    voucher: Voucher
    transaction: VoucherTransaction


def _check_balance_input(data: dict[str, Any]) -> None:
    checks = Checks()
    amount = data.get("amount")
    if not amount:
        checks.fail("invalid_amount", "amount must not be zero", ["amount"])
    else:
        checks.fits(amount, ["amount"], "the change")
    checks.text(data.get("reason"), ["reason"], max_length=500)
    checks.source_id(data.get("source_id"), ["sourceId"])
    checks.raise_if_any()


async def _replayed(
    session: AsyncSession, project_id: str, voucher: Voucher, data: dict[str, Any]
) -> BalanceChange | None:
    """The first answer for this sourceId, or None when the sourceId is new."""
    if data.get("source_id") is None:
        return None
    stmt = sa.select(VoucherTransaction).where(
        VoucherTransaction.project_id == project_id,
        VoucherTransaction.voucher_id == voucher.id,
        VoucherTransaction.source_id == data["source_id"],
    )
    first = (await session.execute(stmt)).scalar_one_or_none()
    if first is None:
        return None
    if first.amount != data["amount"]:
        raise ServiceError.one(
            "duplicate_source_id",
            "this sourceId was already used for a different amount", ["sourceId"],
        )
    return BalanceChange(voucher=voucher, transaction=first)


async def add_gift_balance(db: Database, project_id: str, data: dict[str, Any]) -> BalanceChange:
    """Add (or, negative, remove) gift credits: one ledger entry, one conditional UPDATE."""
    _check_balance_input(data)
    try:
        return await _add_gift_balance(db, project_id, data)
    except IntegrityError:
        # A concurrent call with the same sourceId committed first: answer as it did.
        async with db.read() as session:
            voucher = await resolve(session, project_id, data["code"])
            replay = await _replayed(session, project_id, voucher, data)
        if replay is None:
            raise
        return replay


def _check_new_balance(voucher: Voucher, amount: int) -> None:
    """A top-up may not carry the balance, or the credits ever added, past the largest
    amount: refused before anything is written (the UPDATE re-checks it under its lock).
    As the balance never exceeds the credits ever added, refunds of spent credits (rollbacks)
    stay within the limit too."""
    for total, what in ((voucher.gift_balance + amount, "the balance after this change"),
                        (voucher.gift_amount + max(amount, 0), "the credits ever added")):
        if not money.fits(total):
            raise ServiceError.one(money.AMOUNT_TOO_LARGE, money.too_large_message(what),
                                   ["amount"])


async def _add_gift_balance(db: Database, project_id: str, data: dict[str, Any]) -> BalanceChange:
    amount = data["amount"]
    async with db.write() as session:
        voucher = await resolve(session, project_id, data["code"])
        if voucher.type != VoucherType.GIFT_VOUCHER:
            raise ServiceError.one("invalid_voucher", "only a gift card has a balance", ["code"])
        replay = await _replayed(session, project_id, voucher, data)
        if replay is not None:
            return replay
        _check_new_balance(voucher, amount)
        table = Voucher.__table__
        stmt = (
            sa.update(table)
            .where(
                table.c.project_id == project_id, table.c.id == voucher.id,  # type: ignore[attr-defined]
                table.c.gift_balance + amount >= 0,  # type: ignore[attr-defined]
                # the same limit _check_new_balance applied, against the row as updated
                table.c.gift_balance + amount <= money.MAX_AMOUNT,  # type: ignore[attr-defined]
                table.c.gift_amount + max(amount, 0) <= money.MAX_AMOUNT,  # type: ignore[attr-defined]
            )
            .values(
                gift_balance=table.c.gift_balance + amount,  # type: ignore[attr-defined]
                gift_amount=table.c.gift_amount + max(amount, 0),  # type: ignore[attr-defined]
                updated_at=utcnow(),
            )
            .returning(table.c.gift_balance, table.c.gift_amount)  # type: ignore[attr-defined]
        )
        changed = (await session.execute(stmt)).first()
        if changed is None and amount > 0:  # a concurrent top-up got there first
            raise ServiceError.one(money.AMOUNT_TOO_LARGE,
                                   money.too_large_message("the balance after this change"),
                                   ["amount"])
        if changed is None:
            raise ServiceError.one(
                "gift_amount_exceeded", "the gift card's balance is smaller than the amount "
                "removed", ["amount"],
            )
        # Mirror the SQL result without making the row dirty (no second, absolute UPDATE).
        set_committed_value(voucher, "gift_balance", int(changed[0]))
        set_committed_value(voucher, "gift_amount", int(changed[1]))
        entry = VoucherTransaction(
            id=new_id("vtx"), project_id=project_id, voucher_id=voucher.id,
            type=TransactionType.CREDITS_ADDITION if amount > 0
            else TransactionType.CREDITS_REMOVAL,
            amount=amount, balance_after=voucher.gift_balance, reason=data.get("reason"),
            source_id=data.get("source_id"),
        )
        session.add(entry)
        await session.flush()
        await emit_row(session, project_id, "voucher.gift.balance_added", "voucher", voucher,
                       transaction=entry)
    return BalanceChange(voucher=voucher, transaction=entry)
