"""Voucher rows: the source of every kind whose rows are vouchers (discount vouchers, gift cards;
loyalty cards next), and what those kinds share: the definition, the live state (redeemed
quantity and balance net of LOCK sessions' holds), the counter updates of spending and
refunding, and the hold of a LOCK session.

Vouchers carry live state (redeemed quantity, gift balance) on their rows, so they are read on
every request: a validation reads them in the same statement as the project head, with other
sessions' holds on them; a spending transaction reads and locks them first of all rows.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app import engine
from app.db.campaigns import Campaign
from app.db.categories import Category
from app.db.ids import new_id
from app.db.projects import Project
from app.db.redemptions import Redemption, SessionReservation
from app.db.rules import ValidationRule
from app.db.vouchers import TransactionType, Voucher, VoucherTransaction
from app.events import payloads
from app.events.outbox import emit
from app.services.checkout import definitions
from app.services.checkout.caches import CACHE_VOUCHERS
from app.services.checkout.counters import live_holds, reservations
from app.services.checkout.kinds.base import (
    Holds,
    KindHandler,
    Live,
    Needs,
    Parts,
    RowSource,
    Spending,
    categories_of_rows,
)
from app.services.checkout.rows import HEAD, distinct
from app.services.checkout.writes import bump


class VoucherRows(RowSource):
    object = engine.RedeemableObject.VOUCHER
    model = Voucher
    rank = 10
    link = "voucher_id"
    live_rows = True
    joins_head = True
    holds = True
    defs_limit = CACHE_VOUCHERS
    type_field = "type"

    async def read(
        self, session: AsyncSession, project_id: str, names: list[str], *, lock: bool,
        cache: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Vouchers named by code or `v_` id, keyed by both; locked in id order.

        The names are looked up by code and by id separately (each an index lookup whose
        plan needs no statistics), then the rows are read, and locked, by id."""
        if not names:
            return {}
        project = sa.bindparam("project_id")
        wanted = sa.bindparam("wanted", expanding=True)
        stmt = (
            sa.select(Voucher)
            .where(
                Voucher.project_id == project,
                Voucher.id.in_(_named_ids(project, wanted)),  # type: ignore[attr-defined]
            )
            .order_by(Voucher.id)
        )
        if lock:
            stmt = stmt.with_for_update(key_share=True)
        params = {"project_id": project_id, "wanted": names}
        found: dict[str, Voucher] = {}
        for voucher in (await session.execute(stmt, params)).scalars():
            found[voucher.code] = voucher
            found[voucher.id] = voucher
        return found

    async def read_with_head(
        self, session: AsyncSession, project_id: str, names: list[str], now: datetime,
        own_session: str | None,
    ) -> tuple[Any, dict[str, Any], Holds]:
        """In one statement: the project's time zone and versions, and the vouchers named by
        code or id with other sessions' live holds on them."""
        params: dict[str, Any] = {"project_id": project_id, "now": now, "wanted": names}
        if own_session is not None:
            params["own_session"] = own_session
        stmt = _head_statement(own_session is not None)
        found: dict[str, Voucher] = {}
        held: Holds = {}
        rows = (await session.execute(stmt, params)).all()
        for *_, voucher, held_uses, held_credits in rows:
            if voucher is None:
                continue
            found[voucher.code] = voucher
            found[voucher.id] = voucher
            if held_uses:
                held[voucher.id] = (int(held_uses), int(held_credits or 0))
        return rows[0], found, held

    async def read_holds(
        self, session: AsyncSession, project_id: str, ids: list[str], now: datetime,
        own_session: str | None,
    ) -> Holds:
        return await reservations(session, project_id, ids, now, own_session)

    def needs(
        self, found: Mapping[str, Any], defs: Mapping[str, engine.Redeemable],
        rules: Mapping[str, list[ValidationRule]],
    ) -> Needs:
        """Only vouchers whose definition is not compiled yet need their rules (read for this
        request: there can be millions of codes) and categories."""
        uncompiled = distinct([v.id for v in found.values() if v.id not in defs])
        rows = [v for v in found.values() if v.id in uncompiled]
        return Needs([], uncompiled, categories_of_rows(rows))


VOUCHERS = VoucherRows()


@functools.cache
def _head_statement(own_session: bool) -> Any:
    """Built once per shape, with bind parameters (see `rows.head_statement`)."""
    project_id = sa.bindparam("project_id")
    named = aliased(Voucher, _named(project_id, sa.bindparam("wanted", expanding=True)))
    holds = live_holds(project_id, named.id, sa.bindparam("now"),
                       sa.bindparam("own_session") if own_session else None)
    uses = sa.select(sa.func.count()).where(*holds).scalar_subquery()
    credits = sa.select(
        sa.func.coalesce(sa.func.sum(SessionReservation.gift_credits), 0)
    ).where(*holds).scalar_subquery()
    return (
        sa.select(*HEAD, named, uses.label("held_uses"), credits.label("held_credits"))
        .select_from(Project)
        .outerjoin(named, sa.true())
        .where(Project.id == project_id)
        .order_by(named.id)
    )


def _by_code_or_id(project_id: Any, wanted: Any, *columns: Any) -> Any:
    """`columns` of the vouchers whose code or id is in `wanted`: two index lookups, on
    (project_id, code) and on id, joined by UNION ALL (a row named both ways comes twice:
    the readers key rows by code and id, so that is harmless).

    Never one `code IN … OR id IN …`: PostgreSQL plans that from the table's statistics and
    scans the whole table when they are stale (after a bulk insert, before ANALYZE)."""
    return sa.union_all(
        sa.select(*columns).where(Voucher.project_id == project_id,
                                  Voucher.code.in_(wanted)),  # type: ignore[attr-defined]
        sa.select(*columns).where(Voucher.project_id == project_id,
                                  Voucher.id.in_(wanted)),  # type: ignore[attr-defined]
    )


def _named(project_id: Any, wanted: Any) -> Any:
    return _by_code_or_id(project_id, wanted, *Voucher.__table__.c).subquery("named")


def _named_ids(project_id: Any, wanted: Any) -> Any:
    return _by_code_or_id(project_id, wanted, Voucher.id)


def voucher_definition(
    kind: engine.RedeemableKind, requested: str, voucher: Voucher, campaign: Campaign | None,
    rules: list[ValidationRule], category: Category | None,
) -> engine.Redeemable:
    return engine.Redeemable(
        object=engine.RedeemableObject.VOUCHER,
        id=requested,
        kind=kind,
        campaign_id=voucher.campaign_id,
        active=voucher.active and (campaign.active if campaign else True),
        discount=definitions.discount(voucher.discount) if voucher.discount else None,
        gift_effect=engine.DiscountEffect(voucher.gift_effect or "APPLY_TO_ORDER"),
        validity=definitions.campaign_window(campaign, definitions.validity_of(voucher)),
        redemption_quantity=voucher.redemption_quantity,
        validation_rules=tuple(definitions.engine_rule(r) for r in rules),
        categories=definitions.categories_of(category),
        metadata=voucher.metadata_,
        is_referral_code=voucher.is_referral_code,
    )


class VoucherKind(KindHandler):
    """What every kind of voucher row shares."""

    source = VOUCHERS
    related_object_type = "voucher"
    kind: ClassVar[engine.RedeemableKind]

    def definition(self, name: str, row: Any, parts: Parts) -> engine.Redeemable:
        campaign = parts.campaign_of(row)
        return voucher_definition(self.kind, name, row, campaign, parts.rules_of(row),
                                  parts.category_of(row, campaign))

    def state(self, row: Any, definition: engine.Redeemable, live: Live) -> engine.RedeemableState:
        uses, credits = live.holds.get(row.id, (0, 0))
        return engine.RedeemableState(
            redeemed_quantity=row.redeemed_quantity + uses,
            gift_balance=max(0, row.gift_balance - credits),
            holder_id=row.holder_id,
            referrer_id=row.referrer_id,
            counters=live.counters(row.id, definition.campaign_id),
        )

    def totals(
        self, row: Any, result: engine.RedeemableResult, order_amount: int
    ) -> list[tuple[int, str]]:
        credits = result.gift.credits if result.gift else 0
        discount = result.order.total_applied_discount_amount
        return [(row.redeemed_amount + (credits or discount), "the code's redeemed amount")]

    async def spend(
        self, session: AsyncSession, spending: Spending, row: Any,
        result: engine.RedeemableResult, child: Redemption,
    ) -> None:
        await spend_voucher(session, row, result, spending.holds.get(row.id, (0, 0))[0])

    def reservation(
        self, row: Any, result: engine.RedeemableResult, project_id: str, session_key: str,
        expires_at: datetime,
    ) -> SessionReservation | None:
        """One use, and the gift credits it would spend."""
        return SessionReservation(
            project_id=project_id, session_key=session_key, voucher_id=row.id,
            gift_credits=result.gift.credits if result.gift else 0, expires_at=expires_at,
        )

    async def refund(
        self, session: AsyncSession, project_id: str, child: Redemption, rollback_id: str
    ) -> None:
        await refund_voucher(session, child)


async def spend_voucher(
    session: AsyncSession, voucher: Voucher, item: engine.RedeemableResult, reserved_uses: int,
) -> None:
    """One use (and the gift credits) off the row, re-checking the limit and the balance: a
    guard failing under the locks means a lost race, and the transaction starts over."""
    credits = item.gift.credits if item.gift else 0
    discount = item.order.total_applied_discount_amount
    await bump(session, _spend_statement(), {
        "voucher_id": voucher.id, "reserved": reserved_uses, "credits": credits,
        "amount": credits or discount,
    })


@functools.cache
def _spend_statement() -> Any:
    """Built once, with bind parameters (building it costs more than running it)."""
    limit_ok = sa.or_(
        Voucher.redemption_quantity.is_(None),  # type: ignore[union-attr]
        Voucher.redeemed_quantity + sa.bindparam("reserved") + 1 <= Voucher.redemption_quantity,
    )
    return sa.update(Voucher).where(
        Voucher.id == sa.bindparam("voucher_id"), limit_ok,
        Voucher.gift_balance >= sa.bindparam("credits"),
    ).values(
        redeemed_quantity=Voucher.redeemed_quantity + 1,
        redeemed_amount=Voucher.redeemed_amount + sa.bindparam("amount"),
        gift_balance=Voucher.gift_balance - sa.bindparam("credits"),
    ).execution_options(synchronize_session=False)


async def refund_voucher(session: AsyncSession, child: Redemption) -> None:
    assert child.voucher_id is not None
    await bump(session, sa.update(Voucher).where(
        Voucher.id == child.voucher_id, Voucher.redeemed_quantity >= 1,
    ).values(
        redeemed_quantity=Voucher.redeemed_quantity - 1,
        redeemed_amount=Voucher.redeemed_amount - (child.gift_credits or child.amount),
        gift_balance=Voucher.gift_balance + child.gift_credits,
    ).execution_options(synchronize_session=False))


async def balance_entry(
    session: AsyncSession, project_id: str, voucher_id: str, type_: TransactionType,
    amount: int, reason: str, redemption_id: str, source_id: str | None = None,
) -> None:
    """A gift card ledger entry with the balance after it, and its
    `voucher.gift.transaction.created` event."""
    balance = (await session.execute(
        sa.select(Voucher.gift_balance).where(Voucher.id == voucher_id)
    )).scalar_one()
    entry = VoucherTransaction(
        id=new_id("vtx"), project_id=project_id, voucher_id=voucher_id, type=type_,
        amount=amount, balance_after=balance, reason=reason, redemption_id=redemption_id,
        source_id=source_id,
    )
    session.add(entry)
    await session.flush()
    await emit(session, project_id, "voucher.gift.transaction.created",
               {"transaction": payloads.row_json(entry)}, aggregate=("voucher", entry.voucher_id))
