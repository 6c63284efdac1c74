"""Qualification: what can this customer get for this cart (reference §5).

Speed comes from two things:
- a per-process cache of the project's *compiled* public candidates (active promotion tiers,
  promotion stacks, generic codes), keyed by a fingerprint that one SQL statement reads on
  every call, so a change made by any process is seen on the very next call;
- a prefilter index: a candidate that can only apply to certain products/SKUs/collections
  is looked at only when the cart holds one of them; minimum-amount rules and date windows
  are checked before the engine runs.

Each result is priced alone on the cart. The number of SQL statements does not depend on
how many campaigns the project has.
"""

from __future__ import annotations

import base64
import json
import threading
from bisect import bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.campaigns import Campaign, CampaignMode, PromotionStack, PromotionTier
from app.db.categories import Category
from app.db.customers import Customer
from app.db.projects import Project
from app.db.rules import ValidationRule, ValidationRuleAssignment
from app.db.session import Database
from app.db.vouchers import Voucher, VoucherType
from app.services.checkout.caches import LINES
from app.services.checkout.kinds import REGISTRY
from app.services.checkout.lines import load_customer, load_order
from app.services.checkout.request import (
    Clock,
    CustomerRef,
    OrderRef,
    StackRequest,
    check_order,
    check_request,
    check_result,
    utc_now,
)
from app.services.checkout.snapshot import load_stacking_rules
from app.services.errors import ServiceError

MAX_PAGE = 50
DEFAULT_PAGE = 10
CACHE_PROJECTS = 256
ITEM_EFFECTS = {
    "APPLY_TO_ITEMS", "APPLY_TO_ITEMS_PROPORTIONALLY",
    "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY", "APPLY_TO_ITEMS_BY_QUANTITY",
}


class Scenario(StrEnum):
    ALL = "ALL"
    CUSTOMER_WALLET = "CUSTOMER_WALLET"
    AUDIENCE_ONLY = "AUDIENCE_ONLY"
    PRODUCTS = "PRODUCTS"
    PRODUCTS_DISCOUNT = "PRODUCTS_DISCOUNT"
    PROMOTION_STACKS = "PROMOTION_STACKS"
    PRODUCTS_BY_CUSTOMER = "PRODUCTS_BY_CUSTOMER"
    PRODUCTS_DISCOUNT_BY_CUSTOMER = "PRODUCTS_DISCOUNT_BY_CUSTOMER"


class Sort(StrEnum):
    DEFAULT = "DEFAULT"
    BEST_DEAL = "BEST_DEAL"
    LEAST_DEAL = "LEAST_DEAL"


class HolderRole(StrEnum):
    OWNER = "OWNER"  # the code is published to the customer (its holder)


PRODUCT_SCENARIOS = {
    Scenario.PRODUCTS, Scenario.PRODUCTS_DISCOUNT, Scenario.PRODUCTS_BY_CUSTOMER,
    Scenario.PRODUCTS_DISCOUNT_BY_CUSTOMER,
}
# Scenarios where an unmet bundle still returns the redeemable, with what is missing.
BUNDLE_OPTIONAL = {Scenario.AUDIENCE_ONLY, *PRODUCT_SCENARIOS}


@dataclass(frozen=True)
class Filters:
    campaign_ids: frozenset[str] | None = None
    category_ids: frozenset[str] | None = None
    campaign_types: frozenset[str] | None = None
    resource_types: frozenset[str] | None = None  # VOUCHER, PROMOTION_TIER, PROMOTION_STACK
    holder_roles: frozenset[str] | None = None  # HolderRole values


@dataclass(frozen=True)
class QualificationRequest:
    customer: CustomerRef | None
    order: OrderRef | None
    scenario: Scenario = Scenario.ALL
    filters: Filters = Filters()
    sort: Sort = Sort.DEFAULT
    first: int | None = None
    after: str | None = None
    metadata: Mapping[str, Any] | None = None


# --- candidates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    compiled: engine.CompiledRedeemable
    row_id: str
    created_at: datetime
    campaign_id: str | None
    campaign_type: str | None
    category_ids: frozenset[str]
    name: str | None
    banner: str | None
    held: bool  # a code published to this customer
    limited: bool  # a voucher with a redemption quantity (checked live)
    requires: frozenset[str] | None  # product/SKU/collection ids one of which must be in cart
    customer_requires: tuple[str, frozenset[str]] | None  # customer.metadata[p] ∈ values
    min_amount: int | None
    start: datetime | None
    end: datetime | None
    state: engine.RedeemableState = engine.RedeemableState()  # held codes: balance, holder


@dataclass
class CandidateSet:
    """The compiled candidates plus indexes that pick the few worth evaluating for a cart."""

    candidates: list[Candidate]
    stacking: engine.StackingRules
    unconstrained: list[int] = field(default_factory=list)
    by_key: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_customer: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )
    by_amount: list[tuple[int, int]] = field(default_factory=list)  # (min amount, position)

    def index(self, now: datetime | None = None) -> CandidateSet:
        """`now`: the time of the build; a candidate whose window had ended by then stays
        ended, so no index holds it."""
        for position, c in enumerate(self.candidates):
            if now is not None and c.end is not None and c.end <= now:
                continue
            if c.requires is not None:
                for key in c.requires:
                    self.by_key[key].append(position)
            elif c.customer_requires is not None:
                prop, values = c.customer_requires
                for value in values:
                    self.by_customer[(prop, value)].append(position)
            elif c.min_amount is not None:
                self.by_amount.append((c.min_amount, position))
            else:
                self.unconstrained.append(position)
        self.by_amount.sort()
        return self

    def considered(
        self, keys: Iterable[str], amount: int, customer_metadata: Mapping[str, Any] | None,
        *, audience: bool = False,
    ) -> list[Candidate]:
        picked = set(self.unconstrained)
        if customer_metadata:
            for prop, value in customer_metadata.items():
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    picked.update(self.by_customer.get((prop, str(value)), ()))
        if audience:  # the cart does not matter: every cart-bound candidate is in play
            picked.update(p for positions in self.by_key.values() for p in positions)
            picked.update(p for _, p in self.by_amount)
        else:
            for key in keys:
                picked.update(self.by_key.get(key, ()))
            picked.update(p for _, p in self.by_amount[:bisect_right(
                self.by_amount, (amount, len(self.candidates))
            )])
        return [self.candidates[i] for i in sorted(picked)]


def _customer_requires(rules: list[ValidationRule]) -> tuple[str, frozenset[str]] | None:
    """A `customer.metadata[p] is/in values` rule that must hold, for the customer index."""
    for rule in rules:
        numbered = {k: v for k, v in rule.rules.items() if k != "logic"}
        logic = (rule.rules.get("logic") or "").lower()
        if len(numbered) > 1 and (" or " in f" {logic} " or "(" in logic):
            continue
        for body in numbered.values():
            conditions = body.get("conditions") or {}
            values = conditions.get("$is") or conditions.get("$in")
            if (
                body.get("name") == "customer.metadata" and body.get("property")
                and not body.get("rules") and len(conditions) == 1 and values
                and all(isinstance(v, str | int | float) for v in values)
            ):
                return str(body["property"]), frozenset(str(v) for v in values)
    return None


def _targets_required(
    discount: Mapping[str, Any] | None, rules: list[ValidationRule]
) -> frozenset[str] | None:
    """Ids one of which the cart must hold for this candidate to apply, or None."""
    keys: set[str] = set()
    effect = (discount or {}).get("effect")
    for rule in rules:
        applicable = rule.applicable_to or {}
        included = applicable.get("included") or []
        if effect in ITEM_EFFECTS and included and not applicable.get("included_all"):
            keys.update(str(t["id"]) for t in included if t.get("id"))
        for item in (rule.bundle_rules or {}).get("items") or []:
            if item.get("id"):
                keys.add(str(item["id"]))
    return frozenset(keys) if keys else None


def _min_amount(rules: list[ValidationRule]) -> int | None:
    """The highest `order.amount > X` floor when every rule of a set must hold."""
    floor: int | None = None
    for rule in rules:
        numbered = {k: v for k, v in rule.rules.items() if k != "logic"}
        logic = (rule.rules.get("logic") or "").lower()
        if len(numbered) > 1 and (" or " in f" {logic} " or "(" in logic):
            continue
        for body in numbered.values():
            if body.get("name") != "order.amount" or body.get("rules"):
                continue
            conditions = body.get("conditions") or {}
            for op, bump in (("$more_than", 1), ("$more_than_or_equal", 0),
                             ("$greater_than_or_equal", 0)):
                values = conditions.get(op)
                if values and isinstance(values[0], int | float):
                    value = int(values[0]) + bump
                    floor = value if floor is None else max(floor, value)
    return floor


def _candidate(
    definition: engine.Redeemable, row: Any, campaign: Campaign | None,
    rules: list[ValidationRule], discount: Mapping[str, Any] | None, *, held: bool,
    limited: bool, name: str | None = None, banner: str | None = None,
) -> Candidate | None:
    try:
        compiled = engine.compile_redeemable(definition)
    except engine.CompileError:
        return None  # refused at write time; an old bad row must not break qualification
    validity = definition.validity
    state = engine.RedeemableState(
        redeemed_quantity=row.redeemed_quantity, gift_balance=row.gift_balance,
        holder_id=row.holder_id, referrer_id=row.referrer_id,
    ) if held else engine.RedeemableState()
    return Candidate(
        compiled=compiled, row_id=row.id, created_at=row.created_at,
        campaign_id=campaign.id if campaign else None,
        campaign_type=campaign.campaign_type if campaign else None,
        category_ids=frozenset(c.id for c in definition.categories), name=name, banner=banner,
        held=held, limited=limited, requires=_targets_required(discount, rules),
        customer_requires=_customer_requires(rules), min_amount=_min_amount(rules),
        start=validity.start_date, end=validity.expiration_date, state=state,
    )


async def _rules_and_categories(
    session: AsyncSession, project_id: str, owner_ids: list[str] | None, category_ids: list[str]
) -> tuple[dict[str, list[ValidationRule]], dict[str, Category]]:
    """Rules by owner (all of the project's when `owner_ids` is None) and categories."""
    rules: dict[str, list[ValidationRule]] = defaultdict(list)
    if owner_ids is None or owner_ids:
        stmt = (
            sa.select(ValidationRuleAssignment.related_object_id, ValidationRule)
            .join(ValidationRule, ValidationRule.id == ValidationRuleAssignment.rule_id)
            .where(ValidationRuleAssignment.project_id == project_id)
            .order_by(ValidationRuleAssignment.id)
        )
        if owner_ids is not None:
            stmt = stmt.where(ValidationRuleAssignment.related_object_id.in_(owner_ids))  # type: ignore[attr-defined]
        for owner, rule in (await session.execute(stmt)).all():
            rules[owner].append(rule)
    categories: dict[str, Category] = {}
    if category_ids:
        stmt_c = sa.select(Category).where(Category.project_id == project_id)
        categories = {c.id: c for c in (await session.execute(stmt_c)).scalars()}
    return rules, categories


@dataclass
class _Parts:
    """What qualification's candidates are built from (the kinds' `Parts`)."""

    campaigns: dict[str, Campaign]
    rules: dict[str, list[ValidationRule]]
    categories: dict[str, Category]
    tier_defs: dict[str, engine.Redeemable]

    def campaign_of(self, row: Any) -> Campaign | None:
        return self.campaigns.get(row.campaign_id) if row.campaign_id else None

    def rules_of(self, row: Any) -> list[ValidationRule]:
        return self.rules.get(row.campaign_id or "", []) + self.rules.get(row.id, [])

    def category_of(self, row: Any, campaign: Campaign | None) -> Category | None:
        key = row.category_id or (campaign.category_id if campaign else None)
        return self.categories.get(key) if key else None

    def definition(self, obj: engine.RedeemableObject, name: str) -> engine.Redeemable | None:
        """A stack's tiers: the live ones among the candidates (others are left out)."""
        return self.tier_defs.get(name) if obj is engine.RedeemableObject.PROMOTION_TIER else None


def _definition(obj: engine.RedeemableObject, name: str, row: Any,
                parts: _Parts) -> engine.Redeemable | None:
    source = REGISTRY.source(obj)
    handler = REGISTRY.handler_for(source, row)
    return handler.definition(name, row, parts) if handler is not None else None


def _build(
    vouchers: list[Voucher], tiers: list[PromotionTier], stacks: list[PromotionStack],
    campaigns: dict[str, Campaign], rules: dict[str, list[ValidationRule]],
    categories: dict[str, Category], *, held: bool,
) -> list[Candidate]:
    parts = _Parts(campaigns, rules, categories, {})
    built: list[Candidate | None] = []
    for v in vouchers:
        definition = _definition(engine.RedeemableObject.VOUCHER, v.code, v, parts)
        if definition is None:
            continue
        built.append(_candidate(definition, v, parts.campaign_of(v), parts.rules_of(v),
                                v.discount, held=held,
                                limited=v.redemption_quantity is not None))
    for t in tiers:
        definition = _definition(engine.RedeemableObject.PROMOTION_TIER, t.id, t, parts)
        if definition is None:
            continue
        parts.tier_defs[t.id] = definition
        built.append(_candidate(definition, t, parts.campaign_of(t), parts.rules_of(t),
                                (t.action or {}).get("discount"), held=False, limited=False,
                                name=t.name, banner=t.banner))
    for s in stacks:
        definition = _definition(engine.RedeemableObject.PROMOTION_STACK, s.id, s, parts)
        if definition is None or not definition.tiers:
            continue
        built.append(_candidate(definition, s, parts.campaign_of(s), [], None, held=False,
                                limited=False, name=s.name))
    return [c for c in built if c is not None]


async def _unheld_codes(session: AsyncSession, campaign_ids: list[str]) -> list[Voucher]:
    """Codes held by nobody, of these campaigns or of none, by (campaign_id, holder_id)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    found: list[Voucher] = []
    for ids in ([None], campaign_ids):
        if not ids:
            continue
        if sqlite:
            where = ("campaign_id IS NULL" if ids == [None]
                     else "campaign_id IN ({})".format(",".join(f":c{n}" for n in range(len(ids)))))
            stmt: Any = sa.select(Voucher).from_statement(sa.text(
                "SELECT * FROM vouchers INDEXED BY ix_vouchers_campaign_holder "
                f"WHERE {where} AND holder_id IS NULL"
            ).bindparams(**({} if ids == [None] else {f"c{n}": i for n, i in enumerate(ids)})))
        else:
            stmt = sa.select(Voucher).where(
                Voucher.campaign_id.is_(None) if ids == [None]  # type: ignore[union-attr]
                else Voucher.campaign_id.in_(ids),  # type: ignore[union-attr]
                Voucher.holder_id.is_(None),  # type: ignore[union-attr]
            )
        found.extend((await session.execute(stmt)).scalars())
    return found


async def _public_candidates(
    session: AsyncSession, project_id: str, now: datetime
) -> CandidateSet:
    """Every public candidate of the project, compiled (a handful of queries)."""
    live_campaign = sa.and_(
        Campaign.project_id == project_id, Campaign.active.is_(True),  # type: ignore[attr-defined]
        sa.or_(Campaign.expiration_date.is_(None), Campaign.expiration_date > now),  # type: ignore[union-attr]
    )
    campaigns = {
        c.id: c for c in (await session.execute(sa.select(Campaign).where(live_campaign))).scalars()
    }
    live_ids = sa.select(Campaign.id).where(live_campaign)
    tiers = list((await session.execute(sa.select(PromotionTier).where(
        PromotionTier.project_id == project_id, PromotionTier.active.is_(True),  # type: ignore[attr-defined]
        PromotionTier.campaign_id.in_(live_ids),  # type: ignore[attr-defined]
    ).order_by(PromotionTier.id))).scalars())
    stacks = list((await session.execute(sa.select(PromotionStack).where(
        PromotionStack.project_id == project_id,
        PromotionStack.campaign_id.in_(live_ids),  # type: ignore[attr-defined]
    ).order_by(PromotionStack.id))).scalars())
    # Unheld generic codes: those without a campaign, and those of live STANDALONE campaigns,
    # read through the (campaign_id, holder_id) index alone, the rest checked here. An `OR` of
    # both, or the project's other columns in the statement, let the planner read every unheld
    # code of the project (a million-code STATIC campaign included) and filter it; SQLite's
    # statistics count all unheld codes as one key, so there the index is named.
    standalone_ids = sorted(
        c.id for c in campaigns.values() if c.type == CampaignMode.STANDALONE)
    generic = [
        v for v in await _unheld_codes(session, standalone_ids)
        if v.project_id == project_id and v.active
        and v.type == VoucherType.DISCOUNT_VOUCHER and not v.is_referral_code
    ]
    generic.sort(key=lambda v: v.id)
    category_ids = [x.category_id for x in [*tiers, *stacks, *generic, *campaigns.values()]
                    if x.category_id]
    rules, categories = await _rules_and_categories(session, project_id, None, category_ids)
    _, stacking = await load_stacking_rules(session, project_id)
    built = _build(generic, tiers, stacks, campaigns, rules, categories, held=False)
    return CandidateSet(candidates=built, stacking=stacking).index(now)


async def _wallet(
    session: AsyncSession, project_id: str, customer_id: str
) -> list[Candidate]:
    """Codes and cards published to this customer (per call: never cached)."""
    # By the holder index alone (a customer id names one project's customer), whatever else
    # the project holds. SQLite's statistics count every unheld code (holder_id NULL) as one
    # key, so after ANALYZE the planner judges the index useless and scans the table (100 ms
    # at 100,000 codes): on SQLite the index is named.
    if session.get_bind().dialect.name == "sqlite":
        stmt: Any = sa.select(Voucher).from_statement(sa.text(
            "SELECT * FROM vouchers INDEXED BY ix_vouchers_holder_id WHERE holder_id = :holder"
        ).bindparams(holder=customer_id))
    else:
        stmt = sa.select(Voucher).where(Voucher.holder_id == customer_id)
    vouchers = sorted(
        (v for v in (await session.execute(stmt)).scalars()
         if v.project_id == project_id and v.active),
        key=lambda v: v.id,
    )
    if not vouchers:
        return []
    campaign_ids = [v.campaign_id for v in vouchers if v.campaign_id]
    campaigns = {
        c.id: c for c in (await session.execute(sa.select(Campaign).where(
            Campaign.project_id == project_id, Campaign.id.in_(campaign_ids),  # type: ignore[attr-defined]
        ))).scalars()
    }
    owners = campaign_ids + [v.id for v in vouchers]
    category_ids = [x.category_id for x in [*vouchers, *campaigns.values()] if x.category_id]
    rules, categories = await _rules_and_categories(session, project_id, owners, category_ids)
    return _build(vouchers, [], [], campaigns, rules, categories, held=True)


# --- the cache ----------------------------------------------------------------------------

def _fingerprint_statement(project_id: str) -> Any:
    """One indexed row: the catalog version (see app.db.versioning) and the time zone, which
    key the candidates, and the products version, which keys the order lines' catalog."""
    return sa.select(
        Project.catalog_version, Project.time_zone, Project.products_version
    ).where(Project.id == project_id)


class CandidateCache:
    """Compiled public candidates per project, valid while the fingerprint is unchanged."""

    def __init__(self, capacity: int = CACHE_PROJECTS) -> None:
        self._entries: OrderedDict[str, tuple[tuple[Any, ...], CandidateSet]] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity
        self.builds = 0

    def get(self, project_id: str, fingerprint: tuple[Any, ...]) -> CandidateSet | None:
        with self._lock:
            entry = self._entries.get(project_id)
            if entry is None or entry[0] != fingerprint:
                return None
            self._entries.move_to_end(project_id)
            return entry[1]

    def put(self, project_id: str, fingerprint: tuple[Any, ...], value: CandidateSet) -> None:
        with self._lock:
            self.builds += 1
            self._entries[project_id] = (fingerprint, value)
            self._entries.move_to_end(project_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


CACHE = CandidateCache()


async def public_candidates(
    session: AsyncSession, project_id: str, now: datetime, cache: CandidateCache = CACHE
) -> tuple[Any, CandidateSet]:
    """The project head (catalog and products versions, time zone) and its compiled public
    candidates, from the cache while the catalog version and time zone are unchanged."""
    head = (await session.execute(_fingerprint_statement(project_id))).one()
    fingerprint = (head.catalog_version, head.time_zone)
    public = cache.get(project_id, fingerprint)
    if public is None:
        public = await _public_candidates(session, project_id, now)
        cache.put(project_id, fingerprint, public)
    return head, public


# --- results ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemPrice:
    """PRODUCTS_DISCOUNT: a sent line's unit price under this redeemable alone."""

    index: int
    product_id: str | None
    sku_id: str | None
    source_id: str | None
    quantity: int
    price: int | None
    discounted_price: int | None
    discount_amount: int


@dataclass(frozen=True)
class Qualified:
    candidate: Candidate
    result: engine.RedeemableResult
    items: tuple[ItemPrice, ...]

    @property
    def discount(self) -> int:
        order = self.result.order
        return order.total_applied_discount_amount


@dataclass(frozen=True)
class QualificationPage:
    items: list[Qualified]
    has_next: bool
    total: int
    cursors: list[str]


def _sort_key(sort: Sort, q: Qualified) -> tuple[Any, ...]:
    created = -int(q.candidate.created_at.timestamp() * 1_000_000)
    tie = (q.candidate.compiled.source.object.value, q.candidate.row_id)
    if sort is Sort.BEST_DEAL:
        return (-q.discount, created, *tie)
    if sort is Sort.LEAST_DEAL:
        return (q.discount, created, *tie)
    return (created, *tie)


def _cursor(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[Any, ...]:
    """A page cursor is the sort key of the last item seen: paging stays stable when the
    set of results changes between calls."""
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        key = json.loads(raw)
        if not isinstance(key, list) or not key:
            raise ValueError("not a key")
        return tuple(key)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError.one("invalid_cursor", "after is not a cursor this API gave out",
                               ["after"]) from exc


def _item_prices(result: engine.RedeemableResult, sent: int) -> tuple[ItemPrice, ...]:
    prices = []
    for item in result.order.items:
        if item.index >= sent or item.applied_discount_amount <= 0:
            continue
        discounted = None
        if item.quantity:
            discounted = max(0, item.amount - item.applied_discount_amount) // item.quantity
        prices.append(ItemPrice(
            index=item.index, product_id=item.product_id, sku_id=item.sku_id,
            source_id=item.source_id, quantity=item.quantity, price=item.price,
            discounted_price=discounted, discount_amount=item.applied_discount_amount,
        ))
    return tuple(prices)


def _passes_filters(c: Candidate, f: Filters) -> bool:
    if f.campaign_ids is not None and c.campaign_id not in f.campaign_ids:
        return False
    if f.category_ids is not None and not (c.category_ids & f.category_ids):
        return False
    if f.campaign_types is not None and c.campaign_type not in f.campaign_types:
        return False
    if f.resource_types is not None and c.compiled.source.object.value not in f.resource_types:
        return False
    return not (f.holder_roles is not None and not (c.held and HolderRole.OWNER in f.holder_roles))


def _scenario_pool(
    scenario: Scenario, public: list[Candidate], wallet: list[Candidate], has_customer: bool
) -> list[Candidate]:
    stack_object = engine.RedeemableObject.PROMOTION_STACK
    stacks = [c for c in public if c.compiled.source.object is stack_object]
    singles = [c for c in public if c not in stacks] if stacks else public
    if scenario is Scenario.CUSTOMER_WALLET:
        return wallet
    if scenario is Scenario.PROMOTION_STACKS:
        return stacks
    if scenario in (Scenario.PRODUCTS_BY_CUSTOMER, Scenario.PRODUCTS_DISCOUNT_BY_CUSTOMER):
        if not has_customer:
            return []
        return [*singles, *wallet]
    return [*singles, *wallet]


def prefilter(
    pool: list[Candidate], keys: set[str], amount: int, now: datetime, scenario: Scenario
) -> list[Candidate]:
    kept = []
    for c in pool:
        if c.end is not None and c.end <= now:
            continue
        if c.start is not None and c.start > now:
            continue
        if scenario is Scenario.AUDIENCE_ONLY:
            kept.append(c)
            continue
        if c.requires is not None and not (c.requires & keys):
            continue
        if scenario in PRODUCT_SCENARIOS and c.requires is None:
            continue  # PRODUCTS*: only promotions tied to the products sent
        if c.min_amount is not None and amount < c.min_amount:
            continue
        kept.append(c)
    return kept


def _keep(result: engine.RedeemableResult, scenario: Scenario) -> bool:
    if result.status is engine.RedeemableStatus.APPLICABLE:
        if scenario in (Scenario.PRODUCTS_DISCOUNT, Scenario.PRODUCTS_DISCOUNT_BY_CUSTOMER):
            return result.order.items_applied_discount_amount > 0
        return True
    bundle = result.bundle
    return (
        scenario in BUNDLE_OPTIONAL
        and bundle is not None
        and bundle.quantity == 0
        and bool(bundle.missing)
        and result.reason is not None
        and result.reason.code == "order_rules_violated"
    )


async def _live_quantities(
    session: AsyncSession, project_id: str, candidates: list[Candidate], now: datetime
) -> dict[str, tuple[int, int | None]]:
    """Used-up generic codes drop out: redeemed + held by sessions vs the limit (1 query)."""
    ids = [c.row_id for c in candidates if c.limited]
    if not ids:
        return {}
    stmt = sa.select(Voucher.id, Voucher.project_id, Voucher.redeemed_quantity,
                     Voucher.redemption_quantity).where(
        Voucher.id.in_(ids)  # type: ignore[attr-defined]  # by primary key alone
    )
    return {i: (used, limit) for i, project, used, limit in (await session.execute(stmt)).all()
            if project == project_id}


async def load_cart(
    session: AsyncSession, project_id: str, order_ref: OrderRef | None, products_version: int,
) -> tuple[engine.Order, set[str], int]:
    """The order with its lines resolved from the catalog, checked, and what the candidate
    index is asked with: the product, SKU and collection ids it holds, and its amount."""
    _, order = await load_order(
        session, project_id, order_ref, catalog=LINES.entry(project_id, products_version),
    )
    check_order(order)
    keys = {k for line in order.items
            for k in (line.product_id, line.sku_id, *line.collection_ids) if k}
    amount = order.amount if order.amount is not None else sum(
        (line.amount if line.amount is not None else (line.price or 0) * line.quantity)
        for line in order.items
    )
    return order, keys, amount


async def qualify(
    db: Database, project_id: str, request: QualificationRequest, *,
    clock: Clock = utc_now, cache: CandidateCache = CACHE,
) -> QualificationPage:
    first = DEFAULT_PAGE if request.first is None else request.first
    if not 0 <= first <= MAX_PAGE:
        raise ServiceError.one("invalid_page_size", f"first must be between 0 and {MAX_PAGE}",
                               ["first"])
    # validateStack's request checks (metadata objects, the order-line cap, quantities,
    # amounts), with its codes: RequestProblem, answered as a GraphQL error with the path.
    check_request(StackRequest(
        redeemables=(), order=request.order, customer=request.customer,
        metadata=request.metadata,
    ))
    now = clock()
    async with db.read() as session:
        head, public = await public_candidates(session, project_id, now, cache)
        time_zone = head.time_zone
        customer_row: Customer | None
        customer_row, customer = await load_customer(
            session, project_id, request.customer, lock=False
        )
        wallet = await _wallet(session, project_id, customer_row.id) if customer_row else []
        order, keys, amount = await load_cart(
            session, project_id, request.order, head.products_version)
        scenario = request.scenario
        metadata = customer.metadata if customer is not None else None
        if scenario is Scenario.AUDIENCE_ONLY:
            pool = [*public.considered(keys, amount, metadata, audience=True), *wallet]
        else:
            pool = _scenario_pool(
                scenario,
                public.considered(keys, amount, metadata)
                if scenario is not Scenario.CUSTOMER_WALLET else [],
                wallet, customer is not None,
            )
        pool = [c for c in prefilter(pool, keys, amount, now, scenario)
                if _passes_filters(c, request.filters)]
        results: list[Qualified] = []
        if pool:
            mode = engine.Mode.AUDIENCE if scenario is Scenario.AUDIENCE_ONLY else (
                engine.Mode.QUALIFY)
            evaluation = engine.evaluate(engine.EvaluationRequest(
                order=order,
                redeemables=tuple(
                    engine.RedeemableInput(redeemable=c.compiled, state=c.state) for c in pool
                ),
                now=now, customer=customer, stacking_rules=public.stacking,
                timezone=time_zone or "UTC", mode=mode,
                redemption_metadata=dict(request.metadata or {}),
            ))
            check_result(evaluation, len(order.items), each=True)
            for candidate, result in zip(pool, evaluation.redeemables, strict=True):
                if _keep(result, scenario):
                    results.append(Qualified(candidate, result,
                                             _item_prices(result, len(order.items))))
            live = await _live_quantities(session, project_id, [q.candidate for q in results],
                                          now)
            results = [
                q for q in results
                if q.candidate.row_id not in live
                or live[q.candidate.row_id][1] is None
                or live[q.candidate.row_id][0] < (live[q.candidate.row_id][1] or 0)
            ]
    keyed = sorted(((_sort_key(request.sort, q), q) for q in results), key=lambda kq: kq[0])
    if request.after is not None:
        after = _decode_cursor(request.after)
        try:
            keyed = [kq for kq in keyed if kq[0] > after]
        except TypeError as exc:  # a cursor of another sort order
            raise ServiceError.one("invalid_cursor", "after belongs to another sort order",
                                   ["after"]) from exc
    window = keyed[:first]
    return QualificationPage(
        items=[q for _, q in window], has_next=len(keyed) > first, total=len(results),
        cursors=[_cursor(k) for k, _ in window],
    )
