"""Load everything one stack evaluation needs, in a fixed handful of batched queries.

The same loader serves validation (plain reads) and redemption (inside the spending
transaction, with the spent rows locked first). Nothing here writes. What is read for each
redeemable, and how its definition and live state are built, is up to its kind's handler
(`kinds`); this module only walks the registry's row sources in their order.

Read path (validation, the read-only pre-check of a redemption): the project head with the
vouchers and their holds in one statement, then whatever the project's cached definitions
lack (nothing, once warm). Spending path: every row source's rows read fresh and locked in
rank order, then campaigns, then the project head, the order and the customer.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.campaigns import Campaign
from app.db.catalog import auto_collections
from app.db.categories import Category
from app.db.customers import Customer
from app.db.orders import Order, OrderItem
from app.db.redemptions import StackingRulesRecord
from app.db.rules import ValidationRule
from app.services.checkout import definitions
from app.services.checkout.caches import CACHE, LINES, Definitions, remember
from app.services.checkout.counters import (
    campaign_totals,
    counter_names,
    counters,
    needs_counters,
)
from app.services.checkout.kinds import REGISTRY, Holds, KindHandler, Live
from app.services.checkout.kinds.base import categories_of_rows
from app.services.checkout.lines import load_customer, load_order_lines
from app.services.checkout.request import RedeemableRef, StackRequest
from app.services.checkout.rows import by_id, distinct, read_head, rules_for

Found = dict[engine.RedeemableObject, dict[str, Any]]  # per row source: rows by name (or None)


# --- loaded snapshot ----------------------------------------------------------------------

@dataclass
class Snapshot:
    time_zone: str
    stacking_raw: dict[str, Any]
    stacking: engine.StackingRules
    # per row source: the rows found, by the names the request used (a voucher by code and
    # by id; a stack's tiers by id)
    rows: dict[engine.RedeemableObject, dict[str, Any]]
    campaigns: dict[str, Campaign]
    # per requested redeemable: (object, requested id, row id or None)
    resolved: list[tuple[engine.RedeemableObject, str, str | None]]
    customer_row: Customer | None
    order_row: Order | None
    request: engine.EvaluationRequest
    holds: Holds = field(default_factory=dict)  # other sessions' holds: row id → (uses, amount)
    sent_lines: tuple[engine.OrderItem, ...] | None = None  # the request's lines, resolved
    stored_lines: list[OrderItem] | None = None  # the existing order's lines it was built from

    @property
    def rollback_with_order(self) -> bool:
        return self.stacking_raw.get("redeemables_rollback_order_mode", "WITH_ORDER") == (
            "WITH_ORDER"
        )

    def row_of(self, obj: engine.RedeemableObject, name: str) -> tuple[KindHandler, Any] | None:
        """The kind and row a result (or a request) names; None if there is none."""
        row = self.rows.get(obj, {}).get(name)
        if row is None:
            return None
        handler = REGISTRY.handler_for(REGISTRY.source(obj), row)
        return (handler, row) if handler is not None else None


async def load_stacking_rules(
    session: AsyncSession, project_id: str
) -> tuple[dict[str, Any], engine.StackingRules]:
    record = await session.get(StackingRulesRecord, project_id)
    raw = dict(record.rules) if record else {}
    return raw, definitions.stacking_rules(raw)


# --- rows ---------------------------------------------------------------------------------

@dataclass
class Rows:
    """What both loaders hand to the assembly: rows by name, and where definitions are kept.
    It is the `Parts` the kinds build their definitions from."""

    time_zone: str
    products_version: int
    stacking_raw: dict[str, Any]
    stacking: engine.StackingRules
    found: Found
    campaigns: dict[str, Campaign | None]
    categories: dict[str, Category | None]
    rules: dict[str, list[ValidationRule]]  # cached: campaigns' and tiers' own
    own_rules: dict[str, list[ValidationRule]]  # read for rows compiled in this request only
    entry: Definitions
    holds: Holds | None  # None: read after the definitions (locked path)
    autos: list[tuple[str, dict[str, Any]]] | None
    live_campaigns: bool  # campaign rows carry live counters (locked path)

    def campaign_of(self, row: Any) -> Campaign | None:
        return self.campaigns.get(row.campaign_id) if row.campaign_id else None

    def rules_of(self, row: Any) -> list[ValidationRule]:
        own = self.rules.get(row.id)
        if own is None:
            own = self.own_rules.get(row.id, [])
        return self.rules.get(row.campaign_id or "", []) + own

    def category_of(self, row: Any, campaign: Campaign | None) -> Category | None:
        key = row.category_id or (campaign.category_id if campaign else None)
        return self.categories.get(key) if key else None

    def resolve(self, obj: engine.RedeemableObject, name: str) -> tuple[KindHandler, Any] | None:
        row = self.found.get(obj, {}).get(name)
        if row is None:
            return None
        handler = REGISTRY.handler_for(REGISTRY.source(obj), row)
        return (handler, row) if handler is not None else None

    def definition(self, obj: engine.RedeemableObject, name: str) -> engine.Redeemable:
        return self.definition_of(obj, name, self.resolve(obj, name))

    def definition_of(
        self, obj: engine.RedeemableObject, name: str, hit: tuple[KindHandler, Any] | None
    ) -> engine.Redeemable:
        """The definition of the redeemable requested as `name` (its kind and row: `hit`),
        compiled once per catalog version (per row id) where its source keeps definitions;
        unknown: `found=False`."""
        if hit is None:
            return definitions.not_found(obj, name)
        handler, row = hit
        source = handler.source
        defs = self.entry.defs_of(obj) if source.keeps_definitions else None
        definition = defs.get(row.id) if defs is not None else None
        if definition is None:
            definition = handler.definition(row.id, row, self)
            if defs is not None:
                remember(defs, row.id, definition, source.defs_limit)
        return definition if name == row.id else dataclasses.replace(definition, id=name)


def _row_ids(rows: Mapping[str, Any]) -> list[str]:
    return distinct([row.id for row in rows.values() if row is not None])


def _campaign_ids(found: Found) -> list[str]:
    return distinct([row.campaign_id for rows in found.values() for row in rows.values()
                     if row is not None and row.campaign_id])


def _bring_along(members: dict[engine.RedeemableObject, list[str]], source: Any,
                 rows: Mapping[str, Any]) -> None:
    for row in rows.values():
        if row is not None:
            for obj, name in source.members(row):
                members[obj].append(name)


async def _locked_rows(
    session: AsyncSession, project_id: str, refs: Sequence[RedeemableRef]
) -> Rows:
    """Spending path: every source's rows read fresh (and locked, where the source locks) in
    rank order — stacks, vouchers, tiers — then the campaigns, locked.

    The catalog version is read after the locks: a change to a locked row commits (with its
    version bump) before we get the lock, so the cached rules, categories and stacking rules
    of that version are the ones these rows were defined with."""
    found: Found = {}
    members: dict[engine.RedeemableObject, list[str]] = defaultdict(list)
    for source in REGISTRY.sources:
        names = source.wanted(refs, members[source.object])
        rows = found[source.object] = await source.read(
            session, project_id, names, lock=True, cache=None)
        _bring_along(members, source, rows)
    campaigns = await by_id(session, project_id, Campaign, _campaign_ids(found), lock=True)
    head = await read_head(session, project_id)
    entry = CACHE.entry(project_id, head.catalog_version)
    await _fill_shared(session, project_id, entry, with_autos=True)
    return await _with_rules(session, project_id, entry, head, found, campaigns, holds=None,
                             live_campaigns=True)


async def _cached_rows(
    session: AsyncSession, project_id: str, request: StackRequest, now: datetime
) -> Rows:
    """Read path: one statement for the catalog version and the vouchers with their holds,
    then only what the project's cached definitions lack (nothing, once warm).

    The version is read with (not before) the vouchers, so a voucher definition compiled
    here may be newer than the entry's version, never older: an entry only ever holds
    definitions at least as new as its version."""
    refs = request.redeemables
    found: Found = {}
    holds: Holds = {}
    first = REGISTRY.head
    names = first.wanted(refs, ()) if first is not None else []
    if first is not None and names:
        head, found[first.object], holds = await first.read_with_head(
            session, project_id, names, now, request.session_key)
    else:
        head = await read_head(session, project_id)
        if first is not None:
            found[first.object] = {}
    entry = CACHE.entry(project_id, head.catalog_version)
    await _fill_shared(session, project_id, entry, with_autos=request.order is not None)

    members: dict[engine.RedeemableObject, list[str]] = defaultdict(list)
    for source in REGISTRY.sources:
        if source is first:
            continue
        names = source.wanted(refs, members[source.object])
        rows = found[source.object] = await source.read(
            session, project_id, names, lock=False,
            cache=None if source.live_rows else entry.rows_of(source.object))
        if source.holds and source.live_rows:
            holds.update(await source.read_holds(
                session, project_id, _row_ids(rows), now, request.session_key))
        _bring_along(members, source, rows)
    campaigns = await by_id(session, project_id, Campaign, _campaign_ids(found),
                            cache=entry.campaigns)
    return await _with_rules(session, project_id, entry, head, found, campaigns, holds=holds,
                             live_campaigns=False)


async def _fill_shared(
    session: AsyncSession, project_id: str, cached: Definitions, *, with_autos: bool
) -> None:
    if cached.stacking is None:
        cached.stacking_raw, cached.stacking = await load_stacking_rules(session, project_id)
    if cached.autos is None and with_autos:
        cached.autos = await auto_collections(session, project_id)


async def _with_rules(
    session: AsyncSession, project_id: str, entry: Definitions, head: Any, found: Found,
    campaigns: dict[str, Campaign | None], *, holds: Holds | None, live_campaigns: bool,
) -> Rows:
    """Add what definitions are compiled from: rules (campaigns' and tiers' cached, a
    voucher's own only until its definition is) and categories."""
    owners = [c for c, row in campaigns.items() if row is not None and c not in entry.rules]
    own: list[str] = []
    category_ids: list[str] = []
    for source in REGISTRY.sources:
        needs = source.needs(found[source.object], entry.defs_of(source.object), entry.rules)
        owners += needs.cached_rules
        own += needs.own_rules
        category_ids += needs.categories
    own_rules: dict[str, list[ValidationRule]] = {}
    if owners or own:
        found_rules = await rules_for(session, project_id, distinct(owners + own))
        entry.rules.update({o: found_rules.get(o, []) for o in owners})
        own_rules = {v: found_rules.get(v, []) for v in own}
    category_ids += categories_of_rows(campaigns.values())
    await by_id(session, project_id, Category, distinct(category_ids), cache=entry.categories)
    assert entry.stacking_raw is not None and entry.stacking is not None
    return Rows(
        time_zone=head.time_zone, products_version=head.products_version,
        stacking_raw=entry.stacking_raw, stacking=entry.stacking, found=found,
        campaigns=campaigns, categories=entry.categories, rules=entry.rules,
        own_rules=own_rules, entry=entry, holds=holds, autos=entry.autos,
        live_campaigns=live_campaigns,
    )


# --- the loader ---------------------------------------------------------------------------

async def _live(
    session: AsyncSession, project_id: str, request: StackRequest, rows: Rows,
    defs: list[engine.Redeemable], customer_row: Customer | None, *, now: datetime,
    mode: engine.Mode,
) -> Live:
    """Counters (only when a rule reads them), campaign totals, and holds (after the locks on
    the spending path, so they are current)."""
    per_incentive: dict[str, dict[str, int]] = {}
    per_campaign: dict[str, dict[str, int]] = {}
    totals: dict[str, tuple[int, int]] = {}
    if mode is not engine.Mode.QUALIFY and any(needs_counters(d) for d in defs):
        live_campaigns = [c for c, row in rows.campaigns.items() if row is not None]
        incentives = [_row_ids(rows.found[s.object]) for s in REGISTRY.linked]  # per link
        per_incentive, per_campaign = await counters(
            session, project_id, REGISTRY.incentive, incentives, live_campaigns,
            customer_row.id if customer_row else None, now, rows.time_zone,
            names=counter_names(defs),
        )
        if rows.live_campaigns:
            totals = {c: (row.orders_amount, row.discounted_amount)
                      for c, row in rows.campaigns.items() if row is not None}
        else:
            totals = await campaign_totals(session, live_campaigns)
    holds = rows.holds
    if holds is None:
        holds = {}
        for source in REGISTRY.sources:
            if source.holds:
                holds.update(await source.read_holds(
                    session, project_id, _row_ids(rows.found[source.object]), now,
                    request.session_key))
    return Live(per_incentive, per_campaign, totals, rows.campaigns, holds)


async def load(
    session: AsyncSession,
    project_id: str,
    request: StackRequest,
    *,
    now: datetime,
    mode: engine.Mode,
    lock: bool = False,
    lines: tuple[engine.OrderItem, ...] | None = None,
) -> Snapshot:
    refs = request.redeemables
    rows = (
        await _locked_rows(session, project_id, refs) if lock
        else await _cached_rows(session, project_id, request, now)
    )
    hits = [rows.resolve(ref.object, ref.id) for ref in refs]
    extras: dict[engine.RedeemableKind, Any] = {}
    for kind in REGISTRY.with_extras:  # none of the shipped kinds: no cost for them
        asked = [(ref, hit[1]) for ref, hit in zip(refs, hits, strict=True)
                 if hit is not None and hit[0] is kind]
        if asked:
            extras[kind.kind] = await kind.extras(session, project_id, asked, lock=lock)
    # Locks: the order before the customer (rollbacks take them in the same order).
    loaded_order = await load_order_lines(
        session, project_id, request.order, autos=rows.autos, lines=lines,
        catalog=LINES.entry(project_id, rows.products_version), lock=lock,
    )
    customer_row, customer = await load_customer(session, project_id, request.customer, lock=lock)

    defs = [rows.definition_of(ref.object, ref.id, hit)
            for ref, hit in zip(refs, hits, strict=True)]
    live = await _live(session, project_id, request, rows, defs, customer_row, now=now,
                       mode=mode)
    inputs = []
    for ref, definition, hit in zip(refs, defs, hits, strict=True):
        if hit is None:
            inputs.append(engine.RedeemableInput(
                redeemable=definition, state=engine.RedeemableState(),
                gift_credits=ref.gift_credits))
            continue
        handler, row = hit
        inputs.append(handler.input(ref, row, definition, handler.state(row, definition, live),
                                    extras.get(handler.kind)))
    evaluation = engine.EvaluationRequest(
        order=loaded_order.order,
        redeemables=tuple(inputs),
        now=now,
        customer=customer,
        stacking_rules=rows.stacking,
        timezone=rows.time_zone,
        mode=mode,
        redemption_metadata=dict(request.metadata or {}),
    )
    return Snapshot(
        time_zone=rows.time_zone, stacking_raw=rows.stacking_raw, stacking=rows.stacking,
        rows={obj: {n: r for n, r in found.items() if r is not None}
              for obj, found in rows.found.items()},
        campaigns={c: row for c, row in rows.campaigns.items() if row is not None},
        resolved=[(ref.object, ref.id, hit[1].id if hit is not None else None)
                  for ref, hit in zip(refs, hits, strict=True)],
        customer_row=customer_row, order_row=loaded_order.row, request=evaluation,
        holds=live.holds, sent_lines=loaded_order.sent, stored_lines=loaded_order.stored,
    )
