"""Checkout: validateStack, redeemStack, rollbackRedemption, LOCK sessions and qualifications.

Modules, one job each:

- `request`     the request model (StackRequest and its refs) and request-level checks
- `results`     engine results as JSON (answers, stored redemption details, replays)
- `caches`      per-process caches: definitions by catalog version, order lines by products
                version
- `rows`        batched row reads shared by the loaders and the kinds
- `definitions` stored JSON and rows → engine definitions
- `lines`       order lines and the customer
- `counters`    redemption counters and LOCK sessions' holds (live, never cached)
- `snapshot`    the loader: everything one evaluation needs, read or locked
- `validate`    validateStack
- `sessions`    LOCK sessions: reserve and release
- `redeem`      redeemStack
- `rollback`    rollbackRedemption
- `idempotency` idempotency keys of the spending mutations
- `writes`      guarded counter updates, retries, campaign and customer totals
- `qualify`     qualifications and the compiled candidate cache
- `kinds`       the registry of redeemable kinds: one handler per kind

docs/architecture.md walks through a validation and a redemption.
"""

from app.services.checkout.qualify import (
    Filters,
    QualificationPage,
    QualificationRequest,
    Qualified,
    Scenario,
    Sort,
    qualify,
)
from app.services.checkout.redeem import RedeemOutcome, redeem_stack
from app.services.checkout.request import (
    CustomerRef,
    ItemRef,
    OrderRef,
    RedeemableRef,
    RequestProblem,
    StackRequest,
)
from app.services.checkout.results import to_json
from app.services.checkout.rollback import RollbackOutcome, rollback_redemption
from app.services.checkout.sessions import SessionAsk, SessionInfo, release_session
from app.services.checkout.validate import Validation, validate_stack

__all__ = [
    "CustomerRef", "Filters", "ItemRef", "OrderRef", "QualificationPage", "QualificationRequest",
    "Qualified", "RedeemOutcome", "RedeemableRef", "RequestProblem", "RollbackOutcome",
    "Scenario", "SessionAsk", "SessionInfo", "Sort", "StackRequest", "Validation", "qualify",
    "redeem_stack", "release_session", "rollback_redemption", "to_json", "validate_stack",
]
