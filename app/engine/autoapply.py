"""Automatic promotions added to a stack that was sent (pure).

The service passes the sent redeemables followed by candidates, best first, each of which
applies to the order on its own. A candidate is kept only when, in the stack, it applies and
every sent redeemable ends as it would without any candidate: the stacking rules (limits,
categories, exclusivity, sorting) are the engine's own, and a candidate never takes a sent
redeemable's place.
"""

from __future__ import annotations

from dataclasses import replace

from app.engine.evaluate import compiled_of, evaluate
from app.engine.model import (
    EvaluationRequest,
    RedeemableInput,
    RedeemableObject,
    RedeemableResult,
    RedeemableStatus,
    StackValidation,
)
from app.engine.stacking import Stackability, stackability
from app.engine.state import OrderState, snapshot

Key = tuple[RedeemableObject, str]


def _key(item: RedeemableInput) -> Key:
    c = compiled_of(item)
    return (c.source.object, c.source.id)


def _result_key(r: RedeemableResult) -> Key:
    return (r.object, r.id)


def _empty(request: EvaluationRequest) -> StackValidation:
    return StackValidation(
        valid=True, redeemables=(), order=snapshot(OrderState.from_order(request.order), 0, {})
    )


def evaluate_auto(request: EvaluationRequest, sent: int) -> StackValidation:
    """`request.redeemables[:sent]` were sent; the rest are candidates, best first. Answers
    the stack with the candidates that were kept, each flagged `auto_applied`, in
    application order. Nothing sent and nothing kept: a valid, empty result."""
    sent_inputs = request.redeemables[:sent]
    limit = max(request.stacking_rules.redeemables_limit - sent, 0)
    candidates = list(request.redeemables[sent:sent + limit])
    if any(compiled_of(i).source.object is RedeemableObject.PROMOTION_STACK
           for i in sent_inputs):
        candidates = []  # a promotion stack is evaluated alone
    base = evaluate(replace(request, redeemables=sent_inputs)) if sent_inputs else None
    if not candidates:
        return base if base is not None else _empty(request)
    before = {_result_key(r): r.status for r in base.redeemables} if base is not None else {}
    while candidates:
        result = evaluate(replace(request, redeemables=(*sent_inputs, *candidates)))
        by_key = {_result_key(r): r for r in result.redeemables}
        auto = {_key(c): c for c in candidates}
        order = [_result_key(r) for r in result.redeemables]
        hurt = [n for n, key in enumerate(order)
                if key in before and by_key[key].status is not before[key]]
        if hurt:  # a candidate took a sent redeemable's place: drop the likeliest one
            first = hurt[0]
            culprits = [
                c for c in candidates
                if by_key[_key(c)].status is RedeemableStatus.APPLICABLE and (
                    order.index(_key(c)) < first
                    or stackability(compiled_of(c), request.stacking_rules)
                    is Stackability.EXCLUSIVE
                )
            ]
            candidates.remove(culprits[-1] if culprits else candidates[-1])
            continue
        failed = [c for c in candidates
                  if by_key[_key(c)].status is RedeemableStatus.INAPPLICABLE]
        if failed:  # (in ALL mode they also skip everything after them): drop, try again
            gone = {id(c) for c in failed}
            candidates = [c for c in candidates if id(c) not in gone]
            continue
        skipped = [c for c in candidates
                   if by_key[_key(c)].status is not RedeemableStatus.APPLICABLE]
        if skipped:
            gone = {id(c) for c in skipped}
            candidates = [c for c in candidates if id(c) not in gone]
            continue
        return replace(result, redeemables=tuple(
            replace(r, auto_applied=True) if _result_key(r) in auto else r
            for r in result.redeemables
        ))
    return base if base is not None else _empty(request)
