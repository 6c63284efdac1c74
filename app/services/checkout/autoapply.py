"""autoApply: the project's applicable promotion tiers added to a stack in the same call.

`expand` runs before the stack is loaded. It takes the compiled public candidates that
qualification keeps (`qualify.public_candidates`: one indexed statement when warm), and asks
their index for the tiers a cart can match at all: tiers tied to products, SKUs or
collections are looked at only when the cart holds one of them, customer-metadata audiences
only for the customer's own values, `order.amount` floors only up to the cart's amount, and
tiers whose window had ended when the cache was built never. The few left are priced each
alone by the engine; those that apply are appended to the sent redeemables, best discount
first (ties by id), up to the project's redeemables limit, never one that was sent.

The stack is then loaded, locked and spent like any other; the engine's `evaluate_auto`
keeps a candidate only if it applies in the stack without taking a sent redeemable's place,
and flags it `auto_applied`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.services.checkout.lines import load_customer
from app.services.checkout.qualify import Scenario, load_cart, prefilter, public_candidates
from app.services.checkout.request import (
    RedeemableRef,
    RequestProblem,
    StackRequest,
    check_request,
)

TIER = engine.RedeemableObject.PROMOTION_TIER
STACK = engine.RedeemableObject.PROMOTION_STACK


async def expand(
    session: AsyncSession, project_id: str, request: StackRequest, now: datetime, *,
    spending: bool = False,
) -> StackRequest:
    """The request with the applicable promotion tiers appended (`auto_added` of them).
    `spending`: a redemption, which needs something to spend."""
    if not request.auto_apply or request.auto_added:
        return request
    if not request.redeemables and request.order is None:
        raise RequestProblem("invalid_payload", "autoApply needs an order to match "
                             "promotions against", ["order"])
    if any(ref.object is STACK for ref in request.redeemables):
        return request  # a promotion stack is evaluated alone: nothing is added to it
    check_request(request)
    head, public = await public_candidates(session, project_id, now)
    room = public.stacking.redeemables_limit - len(request.redeemables)
    chosen: list[RedeemableRef] = []
    if room > 0:
        _, customer = await load_customer(session, project_id, request.customer, lock=False)
        order, keys, amount = await load_cart(
            session, project_id, request.order, head.products_version)
        sent = {ref.id for ref in request.redeemables if ref.object is TIER}
        pool = [
            c for c in prefilter(
                public.considered(keys, amount, customer.metadata if customer else None),
                keys, amount, now, Scenario.ALL,
            )
            if c.compiled.source.object is TIER and c.row_id not in sent
        ]
        if pool:
            evaluation = engine.evaluate(engine.EvaluationRequest(
                order=order,
                redeemables=tuple(engine.RedeemableInput(redeemable=c.compiled) for c in pool),
                now=now, customer=customer, stacking_rules=public.stacking,
                timezone=head.time_zone or "UTC", mode=engine.Mode.QUALIFY,
                redemption_metadata=dict(request.metadata or {}),
            ))
            ranked = sorted(
                (
                    (-result.order.total_applied_discount_amount, c.row_id)
                    for c, result in zip(pool, evaluation.redeemables, strict=True)
                    if result.status is engine.RedeemableStatus.APPLICABLE
                ),
            )
            chosen = [RedeemableRef(object=TIER, id=row_id) for _, row_id in ranked[:room]]
    if not chosen and not request.redeemables and spending:
        raise RequestProblem("no_applicable_redeemables", "no redeemable was sent and no "
                             "promotion applies to this order automatically", ["redeemables"])
    return dataclasses.replace(
        request, redeemables=(*request.redeemables, *chosen), auto_added=len(chosen)
    )


def evaluate(evaluation: engine.EvaluationRequest, request: StackRequest) -> (
    engine.StackValidation
):
    """The engine's answer for a loaded stack: `evaluate_auto` when tiers may have been added
    (or nothing was sent), the plain evaluation otherwise."""
    if not request.auto_apply:
        return engine.evaluate(evaluation)
    sent = len(request.redeemables) - request.auto_added
    return engine.evaluate_auto(evaluation, sent)
