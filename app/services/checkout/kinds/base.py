"""The shape of a redeemable kind, and the registry the shared checkout code iterates over.

Two layers, because several kinds can live in one table:

- a `RowSource` is where the rows named by one request object (`VOUCHER`, `PROMOTION_TIER`,
  `PROMOTION_STACK`) live: how they are read by the names a request uses, locked by spending
  transactions, held by LOCK sessions, and which redemption column points at a spent one;
- a `KindHandler` is one kind of redeemable among those rows (a discount voucher and a gift
  card are both voucher rows, told apart by `vouchers.type`): how a row becomes an engine
  definition, which live state it is evaluated with, which running totals it adds to, what
  spending, recording, reserving and refunding it writes.

The shared functions (snapshot assembly, recording a success or a failure, rollback, LOCK
session reservations) look handlers up here and call them; they never branch on the kind.
Adding a kind is one module with its handler (and its row source if its rows live in a table
no source reads yet) plus one `REGISTRY.register(...)` line in `kinds/__init__.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.campaigns import Campaign
from app.db.categories import Category
from app.db.redemptions import Redemption, SessionReservation
from app.db.rules import ValidationRule
from app.services.checkout.rows import by_id, distinct

if TYPE_CHECKING:
    from app.services.checkout.request import RedeemableRef

Holds = dict[str, tuple[int, int]]  # row id → (uses, amount of its balance) held by sessions


class Parts(Protocol):
    """What a definition is built from besides its own row (the loaders' view)."""

    def campaign_of(self, row: Any) -> Campaign | None: ...

    def rules_of(self, row: Any) -> list[ValidationRule]:
        """Its campaign's validation rules, then its own."""
        ...

    def category_of(self, row: Any, campaign: Campaign | None) -> Category | None: ...

    def definition(self, obj: engine.RedeemableObject, name: str) -> engine.Redeemable | None:
        """Another redeemable's definition (a stack's tiers); None where the caller skips
        what it doesn't have."""
        ...


@dataclass(frozen=True)
class Needs:
    """What compiling a source's rows needs besides the rows: rule owners whose rules the
    definitions cache keeps, rule owners read for this request only, and categories."""

    cached_rules: list[str]
    own_rules: list[str]
    categories: list[str]


@dataclass
class Live:
    """Live state read for one evaluation (never cached): redemption counters before this
    request, campaign totals, and LOCK sessions' holds."""

    per_incentive: dict[str, dict[str, int]]
    per_campaign: dict[str, dict[str, int]]
    totals: dict[str, tuple[int, int]]
    campaigns: Mapping[str, Campaign | None]
    holds: Holds

    def counters(self, row_id: str | None, campaign_id: str | None) -> dict[str, int]:
        counters: dict[str, int] = {}
        if row_id:
            counters.update(self.per_incentive.get(row_id, {}))
        if campaign_id is not None and self.campaigns.get(campaign_id) is not None:
            counters.update(self.per_campaign.get(campaign_id, {}))
            orders, discounted = self.totals.get(campaign_id, (0, 0))
            counters["campaign.orders.amount"] = orders
            counters["campaign.orders.amount_discounted"] = discounted
        return counters


@dataclass(frozen=True)
class Spending:
    """What spending one redeemable of a redemption needs besides its row and result."""

    project_id: str
    holds: Holds  # other sessions' holds, read under the locks
    order_amount: int


class RowSource(ABC):
    """Where the rows named by one request object live, and how checkout reads them."""

    object: ClassVar[engine.RedeemableObject]
    model: ClassVar[Any]
    # Reading and locking order, ascending. Every spending path (redemption, LOCK session,
    # rollback) locks the sources that lock in this order, then campaigns, then the order,
    # then the customer: the one global order that keeps them free of deadlocks.
    rank: ClassVar[int]
    # The redemption column naming a spent row (`voucher_id`); None: the rows are never spent
    # themselves (a promotion stack spends its tiers).
    link: ClassVar[str | None] = None
    # False: the rows are definitions and nothing live: a validation reads them through the
    # catalog-version cache. True: they carry live state (counters, balances) and are read on
    # every request.
    live_rows: ClassVar[bool] = False
    locks: ClassVar[bool] = True  # spending transactions lock the rows they read
    joins_head: ClassVar[bool] = False  # read with the project head (one source at most)
    holds: ClassVar[bool] = False  # LOCK sessions hold its rows (session_reservations)
    keeps_definitions: ClassVar[bool] = True  # compiled definitions kept per catalog version
    defs_limit: ClassVar[int | None] = None  # at most this many per project (LRU)
    type_field: ClassVar[str | None] = None  # the column telling its kinds apart, if several

    def row_type(self, row: Any) -> str | None:
        return getattr(row, self.type_field) if self.type_field is not None else None

    def members(self, row: Any) -> Iterable[tuple[engine.RedeemableObject, str]]:
        """Rows of other (later) sources this row brings along: a stack's tiers."""
        return ()

    def wanted(self, refs: Sequence[RedeemableRef], members: Sequence[str]) -> list[str]:
        """The names to read: the request's own, then rows brought along by earlier sources."""
        return distinct([r.id for r in refs if r.object is self.object] + list(members))

    async def read(
        self, session: AsyncSession, project_id: str, names: list[str], *, lock: bool,
        cache: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Rows by the names asked (None where nothing has the name); `cache`: the definitions
        cache's rows of this source (read path of a definitions source)."""
        return await by_id(session, project_id, self.model, names, lock=lock and self.locks,
                           cache=cache)

    async def read_with_head(
        self, session: AsyncSession, project_id: str, names: list[str], now: datetime,
        own_session: str | None,
    ) -> tuple[Any, dict[str, Any], Holds]:
        """`joins_head` sources: the project head, the rows and their holds, one statement."""
        raise NotImplementedError

    async def read_holds(
        self, session: AsyncSession, project_id: str, ids: list[str], now: datetime,
        own_session: str | None,
    ) -> Holds:
        """`holds` sources: other sessions' live holds on these rows."""
        raise NotImplementedError

    def needs(
        self, found: Mapping[str, Any], defs: Mapping[str, engine.Redeemable],
        rules: Mapping[str, list[ValidationRule]],
    ) -> Needs:
        """By default: the categories of its rows, no rules of their own."""
        return Needs([], [], categories_of_rows(found.values()))

    async def lock_for_rollback(self, session: AsyncSession, ids: list[str]) -> dict[str, Any]:
        """Lock these rows (`FOR UPDATE`, by id) before a rollback refunds them: row id → its
        `row_type` (the kind to refund as); rows gone since are left out."""
        columns = [self.model.id] + (
            [getattr(self.model, self.type_field)] if self.type_field is not None else [])
        stmt = sa.select(*columns).where(self.model.id.in_(ids)).order_by(self.model.id)
        rows = (await session.execute(stmt.with_for_update())).all()
        return {row[0]: row[1] if len(row) > 1 else None for row in rows}


def categories_of_rows(rows: Iterable[Any]) -> list[str]:
    return distinct([row.category_id for row in rows if row is not None and row.category_id])


class KindHandler(ABC):
    """One kind of redeemable: what checkout does with a row of it at every step."""

    kind: ClassVar[engine.RedeemableKind]
    source: ClassVar[RowSource]
    row_type: ClassVar[str | None] = None  # its value of `source.type_field`, if it has one
    related_object_type: ClassVar[str]  # a child redemption's `related_object_type`
    takes_rewards: ClassVar[bool] = False  # pays with points (`reward` of a redeemable)

    # --- load and check
    @abstractmethod
    def definition(self, name: str, row: Any, parts: Parts) -> engine.Redeemable:
        """The engine's definition of this row, requested as `name` (cacheable: nothing
        live goes in it)."""

    def state(self, row: Any, definition: engine.Redeemable, live: Live) -> engine.RedeemableState:
        """The live state it is evaluated with: counters, and balances or holds of its own."""
        return engine.RedeemableState(counters=live.counters(row.id, definition.campaign_id))

    # Reads rows of other tables for its rows (a loyalty card's rewards): see `extras`.
    needs_extras: ClassVar[bool] = False

    async def extras(
        self, session: AsyncSession, project_id: str, asked: list[tuple[RedeemableRef, Any]],
        *, lock: bool,
    ) -> Any:
        """`needs_extras` kinds: what else the redeemables of this kind in the request need
        (`asked`: each with its row), read after every source's rows and the campaigns (and
        locked, with `lock`, in that place of the lock order), before the order. Handed to
        `input` as `extras`; no other kind pays anything for it."""
        return None

    def input(
        self, ref: RedeemableRef, row: Any, definition: engine.Redeemable,
        state: engine.RedeemableState, extras: Any,
    ) -> engine.RedeemableInput:
        """What the engine gets for the redeemable as requested."""
        return engine.RedeemableInput(redeemable=definition, state=state,
                                      gift_credits=ref.gift_credits)

    def totals(
        self, row: Any, result: engine.RedeemableResult, order_amount: int
    ) -> list[tuple[int, str]]:
        """Running totals of its row this redemption adds to, each with how to name it:
        every one must stay within the largest amount (checked under the locks)."""
        return []

    # --- record and spend
    def record(self, row: Any, result: engine.RedeemableResult) -> dict[str, Any]:
        """A child redemption's fields of its own."""
        fields: dict[str, Any] = {"related_object_type": self.related_object_type}
        if self.source.link is not None:
            fields[self.source.link] = row.id
        return fields

    @abstractmethod
    async def spend(
        self, session: AsyncSession, spending: Spending, row: Any,
        result: engine.RedeemableResult, child: Redemption,
    ) -> None:
        """Write what redeeming it spends (under the locks; `child` is its redemption)."""

    def reservation(
        self, row: Any, result: engine.RedeemableResult, project_id: str, session_key: str,
        expires_at: datetime,
    ) -> SessionReservation | None:
        """What a LOCK session holds of it until it expires (None: nothing)."""
        return None

    @abstractmethod
    async def refund(
        self, session: AsyncSession, project_id: str, child: Redemption, rollback_id: str
    ) -> None:
        """Give back what `child` spent (under the rollback's locks)."""


class Registry:
    """The registered kinds and their row sources."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[engine.RedeemableObject, str | None], KindHandler] = {}
        self._sources: dict[engine.RedeemableObject, RowSource] = {}
        self.sources: tuple[RowSource, ...] = ()  # by rank
        self.linked: tuple[RowSource, ...] = ()  # sources whose rows are spent, by rank
        self.head: RowSource | None = None
        self.takes_rewards = False
        self.with_extras: tuple[KindHandler, ...] = ()  # kinds that read extras
        self.incentive: tuple[Any, ...] = ()  # the redemption columns naming spent rows

    def register(self, handler: KindHandler) -> KindHandler:
        source = handler.source
        known = self._sources.get(source.object)
        if known is not None and known is not source:
            raise ValueError(f"{source.object} rows already have a source")
        key = (source.object, handler.row_type)
        if key in self._handlers:
            raise ValueError(f"{key} rows already have a kind")
        self._handlers[key] = handler
        self._sources[source.object] = source
        self.sources = tuple(sorted(self._sources.values(), key=lambda s: s.rank))
        self.linked = tuple(s for s in self.sources if s.link is not None)
        heads = [s for s in self.sources if s.joins_head]
        if len(heads) > 1:
            raise ValueError("one source at most is read with the project head")
        self.head = heads[0] if heads else None
        self.takes_rewards = any(h.takes_rewards for h in self._handlers.values())
        self.with_extras = tuple(h for h in self._handlers.values() if h.needs_extras)
        links = [getattr(Redemption, s.link) for s in self.linked if s.link is not None]
        # One column per source, never their coalesce: counters look each up in its own
        # index (`coalesce(...) IN (...)` can only scan the redemptions).
        self.incentive = tuple(links)
        return handler

    def source(self, obj: engine.RedeemableObject) -> RowSource:
        return self._sources[obj]

    def handler(self, source: RowSource, row_type: str | None) -> KindHandler | None:
        return self._handlers.get((source.object, row_type))

    def handler_for(self, source: RowSource, row: Any) -> KindHandler | None:
        """The kind of this row; None for a row no registered kind takes."""
        return self._handlers.get((source.object, source.row_type(row)))
