"""Publications: give a customer a code — a specific one, or the next free one of a campaign.

The next free code is taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL (two concurrent
publications never get the same code) and under the single SQLite writer otherwise.
AUTO_UPDATE campaigns mint a new code when their pool is empty; STANDALONE campaigns hand
out their one generic code. `sourceId` makes a publication idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import repository
from app.db.base import utcnow
from app.db.campaigns import Campaign, CampaignMode
from app.db.customers import Customer
from app.db.ids import new_id
from app.db.session import Database
from app.db.vouchers import Publication, Voucher
from app.engine.error_codes import (
    CAMPAIGN_NOT_ACTIVE,
    DUPLICATE_SOURCE_ID,
    MISSING_CUSTOMER,
    MISSING_VOUCHERS,
    NO_VOUCHER_SUITABLE_FOR_PUBLICATION,
    VOUCHER_ALREADY_PUBLISHED,
    VOUCHER_CANNOT_BE_PUBLISHED,
)
from app.events.outbox import emit_row
from app.services import codes, customers, vouchers
from app.services.errors import Checks, ServiceError, not_found


@dataclass(frozen=True)
class Published:
    publication: Publication
    voucher: Voucher
    customer: Customer


def _check(data: dict[str, Any]) -> None:
    checks = Checks()
    if (data.get("campaign_id") is None) == (data.get("code") is None):
        checks.fail(MISSING_VOUCHERS, "give either a campaignId or a code", ["campaignId"])
    customer = data.get("customer") or {}
    if not (customer.get("id") or customer.get("source_id")):
        checks.fail(MISSING_CUSTOMER, "a publication needs a customer id or sourceId",
                    ["customer"])
    customers.check_customer(checks, customer, ["customer"])
    checks.source_id(data.get("source_id"), ["sourceId"])
    checks.text(data.get("channel"), ["channel"], max_length=64)
    checks.metadata(data.get("metadata"), ["metadata"])
    checks.raise_if_any()


async def _replay(
    session: AsyncSession, project_id: str, data: dict[str, Any], customer_id: str
) -> Published | None:
    source_id = data.get("source_id")
    if source_id is None:
        return None
    stmt = sa.select(Publication).where(
        Publication.project_id == project_id, Publication.source_id == source_id
    )
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        return None
    voucher = await repository.get(session, Voucher, project_id, found.voucher_id)
    same = found.customer_id == customer_id and (
        (data.get("campaign_id") is not None and found.campaign_id == data["campaign_id"])
        or (voucher is not None and data.get("code") in (voucher.code, voucher.id))
    )
    if not same or voucher is None:
        raise ServiceError.one(DUPLICATE_SOURCE_ID,
                               "this sourceId was used for another publication", ["sourceId"])
    customer = await repository.get(session, Customer, project_id, customer_id)
    assert customer is not None
    return Published(found, voucher, customer)


async def _next_free(session: AsyncSession, project_id: str, campaign: Campaign) -> Voucher | None:
    stmt = (
        sa.select(Voucher)
        .where(
            Voucher.project_id == project_id, Voucher.campaign_id == campaign.id,
            Voucher.holder_id.is_(None), Voucher.active.is_(True),  # type: ignore[union-attr,attr-defined]
        )
        .order_by(Voucher.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _mint(session: AsyncSession, project_id: str, campaign: Campaign) -> Voucher:
    generator = codes.CodeGenerator(codes.parse_config((campaign.voucher or {}).get("code_config")))
    for _ in range(vouchers.MAX_FRUITLESS_ROUNDS):
        inserted = await vouchers.insert_rows(
            session, vouchers.template_rows(project_id, campaign, [generator.one()])
        )
        if inserted:
            await session.execute(sa.update(Campaign).where(Campaign.id == campaign.id).values(
                vouchers_count=Campaign.vouchers_count + 1
            ).execution_options(synchronize_session=False))
            minted = await repository.get(session, Voucher, project_id, inserted[0][0])
            assert minted is not None
            return minted
    raise ServiceError.one(NO_VOUCHER_SUITABLE_FOR_PUBLICATION,
                           "the campaign's code configuration has no free codes left",
                           ["campaignId"])


async def _from_campaign(
    session: AsyncSession, project_id: str, campaign_id: str, customer: Customer
) -> Voucher:
    stmt = sa.select(Campaign).where(
        Campaign.project_id == project_id, Campaign.id == campaign_id
    ).with_for_update()
    campaign = (await session.execute(stmt)).scalar_one_or_none()
    if campaign is None:
        raise not_found("campaign", campaign_id, ["campaignId"])
    if not campaign.active:
        raise ServiceError.one(CAMPAIGN_NOT_ACTIVE, "the campaign is disabled", ["campaignId"])
    if campaign.join_once:
        joined = await session.execute(sa.select(Publication.id).where(
            Publication.project_id == project_id, Publication.campaign_id == campaign.id,
            Publication.customer_id == customer.id,
        ).limit(1))
        if joined.first() is not None:
            raise ServiceError.one(VOUCHER_CANNOT_BE_PUBLISHED,
                                   "Customer already joined program.", ["campaignId"])
    if campaign.type == CampaignMode.STANDALONE:
        generic = (await session.execute(sa.select(Voucher).where(
            Voucher.project_id == project_id, Voucher.campaign_id == campaign.id
        ).order_by(Voucher.id).limit(1))).scalar_one_or_none()
        if generic is None:
            raise ServiceError.one(NO_VOUCHER_SUITABLE_FOR_PUBLICATION,
                                   "the campaign has no code", ["campaignId"])
        if generic.is_referral_code:
            await session.refresh(generic, with_for_update=True)
            _hold(generic, customer, ["campaignId"])
        return generic
    voucher = await _next_free(session, project_id, campaign)
    if voucher is None and campaign.type == CampaignMode.AUTO_UPDATE:
        voucher = await _mint(session, project_id, campaign)
    if voucher is None:
        raise ServiceError.one(NO_VOUCHER_SUITABLE_FOR_PUBLICATION,
                               "every code of this campaign has been published", ["campaignId"])
    voucher.holder_id = customer.id
    voucher.published_at = utcnow()
    return voucher


async def _specific(
    session: AsyncSession, project_id: str, code: str, customer: Customer
) -> Voucher:
    voucher = await vouchers.find(session, project_id, code)
    if voucher is None:
        raise not_found("voucher", code, ["code"])
    await session.refresh(voucher, with_for_update=True)
    if voucher.holder_id is not None and voucher.holder_id != customer.id:
        raise ServiceError.one(VOUCHER_ALREADY_PUBLISHED,
                               f"Voucher {voucher.code!r} has already been published", ["code"])
    if not voucher.active:
        raise ServiceError.one(VOUCHER_CANNOT_BE_PUBLISHED, "the voucher is disabled",
                               ["code"])
    generic = False
    if voucher.campaign_id is not None and not voucher.is_referral_code:
        campaign = await repository.get(session, Campaign, project_id, voucher.campaign_id)
        generic = campaign is not None and campaign.type == CampaignMode.STANDALONE
    if not generic:
        _hold(voucher, customer, ["code"])
    return voucher


def _hold(voucher: Voucher, customer: Customer, path: list[str]) -> None:
    """The customer holds the code from now on. A referral code is held by its referrer (who
    may not redeem it), so even a campaign's generic referral code has one holder."""
    if voucher.holder_id is not None and voucher.holder_id != customer.id:
        raise ServiceError.one(VOUCHER_ALREADY_PUBLISHED,
                               f"Voucher {voucher.code!r} has already been published"
                               + ("; a referral code has one referrer"
                                  if voucher.is_referral_code else ""), path)
    if voucher.holder_id is None:
        voucher.holder_id = customer.id
        voucher.published_at = utcnow()


async def publish(db: Database, project_id: str, data: dict[str, Any]) -> Published:
    _check(data)
    try:
        async with db.write() as session:
            customer = (await customers.upsert_in(
                session, project_id, data["customer"], ["customer"]
            )).customer
            replay = await _replay(session, project_id, data, customer.id)
            if replay is not None:
                return replay
            if data.get("code") is not None:
                voucher = await _specific(session, project_id, data["code"], customer)
            else:
                voucher = await _from_campaign(session, project_id, data["campaign_id"], customer)
            publication = Publication(
                id=new_id("pub"), project_id=project_id, customer_id=customer.id,
                voucher_id=voucher.id, campaign_id=voucher.campaign_id,
                channel=data.get("channel") or "API", source_id=data.get("source_id"),
                metadata_=data.get("metadata") or {},
            )
            session.add(publication)
            await session.flush()
            await emit_row(session, project_id, "publication.succeeded", "publication",
                           publication, aggregate_id=voucher.id, voucher=voucher)
            await emit_row(session, project_id, "voucher.published", "voucher", voucher,
                           publication=publication)
    except IntegrityError as exc:  # a concurrent publication with the same sourceId won
        if data.get("source_id") is None:
            raise
        async with db.read() as session:
            row = (await session.execute(sa.select(Customer).where(
                Customer.project_id == project_id,
                (Customer.id == data["customer"].get("id")) if data["customer"].get("id")
                else (Customer.source_id == data["customer"].get("source_id")),
            ))).scalar_one_or_none()
            replay = await _replay(session, project_id, data, row.id) if row else None
        if replay is None:
            raise ServiceError.one(DUPLICATE_SOURCE_ID, "sourceId already used",
                                   ["sourceId"]) from exc
        return replay
    return Published(publication, voucher, customer)
