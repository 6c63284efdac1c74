"""QR codes and barcodes of voucher codes, rendered on request (SVG, cacheable forever)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import barcode
import segno
from barcode.writer import SVGWriter

from app.db.session import Database
from app.db.vouchers import Voucher

KINDS = ("qr", "barcode")


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str = "image/svg+xml"


def qr_svg(code: str) -> bytes:
    out = io.BytesIO()
    segno.make(code, error="m", micro=False).save(out, kind="svg", scale=6, border=2)
    return out.getvalue()


def barcode_svg(code: str) -> bytes:
    out = io.BytesIO()
    barcode.get("code128", code, writer=SVGWriter()).write(
        out, options={"write_text": True, "module_height": 12.0}
    )
    return out.getvalue()


def asset_path(voucher_id: str, kind: str) -> str:
    """Where the service serves it: ids are unguessable, so the URL needs no key."""
    return f"/assets/vouchers/{voucher_id}/{kind}.svg"


async def render(db: Database, voucher_id: str, kind: str) -> Asset | None:
    if kind not in KINDS:
        return None
    async with db.read() as session:
        voucher = await session.get(Voucher, voucher_id)
    if voucher is None:
        return None
    return Asset(qr_svg(voucher.code) if kind == "qr" else barcode_svg(voucher.code))



