"""The stored request hash of redeemStack must not change across upgrades for requests that
do not use a new option: a key stored by an earlier version replays, it is not refused as
reused. The digests below were computed by the version before autoApply existed."""

from __future__ import annotations

import dataclasses

from app.services.checkout.idempotency import request_hash
from app.services.checkout.redeem import _request_payload
from app.services.checkout.request import RedeemableRef, StackRequest

REQUEST = StackRequest(
    redeemables=(RedeemableRef.of("VOUCHER", "TENOFF"),
                 RedeemableRef.of("VOUCHER", "GIFT", gift_credits=500)),
    metadata={"a": 1},
)


def test_hash_without_auto_apply_is_the_pre_upgrade_hash() -> None:
    assert request_hash(_request_payload(REQUEST, None)) == (
        "425dd7c865d273f5acbbc9220e46e4597f9093dff0b3f007e675941d1a125442")
    assert request_hash(_request_payload(REQUEST, "PAID")) == (
        "48641c529733c91e06f45b7b756638cf53c6038e42c387ec08981e40e0f0724e")


def test_auto_apply_is_part_of_the_hash() -> None:
    auto = dataclasses.replace(REQUEST, auto_apply=True)
    assert request_hash(_request_payload(auto, None)) != request_hash(
        _request_payload(REQUEST, None))
