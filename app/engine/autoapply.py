"""Automatic promotions added to a stack that was sent (pure).

The service passes the sent redeemables followed by candidates, best first, each of which
applies to the order on its own. A candidate is kept only when, in the stack, it applies and
every sent redeemable ends as it would without any candidate: the stacking rules (limits,
categories, exclusivity, sorting) are the engine's own, and a candidate never takes a sent
redeemable's place.
"""

from __future__ import annotations

from dataclasses import replace

from app.engine.compile import CompiledRedeemable
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


def _compiled(item: RedeemableInput) -> RedeemableInput:
    """Compiled once here, not again by each of the evaluations below."""
    return item if isinstance(item.redeemable, CompiledRedeemable) else replace(
        item, redeemable=compiled_of(item))


def _key(item: RedeemableInput) -> Key:
    c: CompiledRedeemable = item.redeemable
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
    application order. Nothing sent and nothing kept: a valid, empty result.

    Candidates are tried a window at a time: as many as the applicable limit leaves room
    for next to what was sent; one dropped makes room for the next, so the cost follows the
    limits, not the number of candidates."""
    rules = request.stacking_rules
    sent_inputs = tuple(_compiled(i) for i in request.redeemables[:sent])
    limit = max(rules.redeemables_limit - sent, 0)
    waiting = [_compiled(i) for i in request.redeemables[sent:sent + limit]]
    if any(i.redeemable.source.object is RedeemableObject.PROMOTION_STACK
           for i in sent_inputs):
        waiting = []  # a promotion stack is evaluated alone
    base = evaluate(replace(request, redeemables=sent_inputs)) if sent_inputs else None
    if not waiting:
        return base if base is not None else _empty(request)
    before = {_result_key(r): r.status for r in base.redeemables} if base is not None else {}
    room = rules.applicable_redeemables_limit - sum(
        1 for status in before.values() if status is RedeemableStatus.APPLICABLE)
    waiting.reverse()  # popped from the end: best first
    candidates: list[RedeemableInput] = []
    while True:
        while waiting and len(candidates) < max(room, 0):
            candidates.append(waiting.pop())
        if not candidates:
            break
        result = evaluate(replace(request, redeemables=(*sent_inputs, *candidates)))
        by_key = {_result_key(r): r for r in result.redeemables}
        order = [_result_key(r) for r in result.redeemables]
        hurt = [n for n, key in enumerate(order)
                if key in before and by_key[key].status is not before[key]]
        if hurt:  # a candidate took a sent redeemable's place: drop the likeliest one
            first = hurt[0]
            culprits = [
                c for c in candidates
                if by_key[_key(c)].status is RedeemableStatus.APPLICABLE and (
                    order.index(_key(c)) < first
                    or stackability(c.redeemable, rules) is Stackability.EXCLUSIVE
                )
            ]
            candidates.remove(culprits[-1] if culprits else candidates[-1])
            continue
        failed = {id(c) for c in candidates
                  if by_key[_key(c)].status is RedeemableStatus.INAPPLICABLE}
        if not failed:  # (in ALL mode they also skip everything after them)
            failed = {id(c) for c in candidates
                      if by_key[_key(c)].status is not RedeemableStatus.APPLICABLE}
            if not failed:  # the window is full (or the list done): nothing fits after
                auto = {_key(c) for c in candidates}
                return replace(result, redeemables=tuple(
                    replace(r, auto_applied=True) if _result_key(r) in auto else r
                    for r in result.redeemables
                ))
        candidates = [c for c in candidates if id(c) not in failed]
    return base if base is not None else _empty(request)
