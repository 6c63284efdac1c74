"""Bulk generation's pure parts: codes drawn in C-sized steps, voucher ids made in bulk."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from ulid import ULID

from app.db.ids import new_id, new_ids, prefix_of
from app.services import codes


class TestDrawing:
    def test_every_character_is_equally_likely(self):
        # 93 characters: bytes 186-255 are rejected, so rejection sampling is exercised.
        charset = "".join(chr(c) for c in range(33, 127) if chr(c) != "#")
        generator = codes.CodeGenerator(codes.parse_config({"charset": charset, "length": 10}))

        counts = Counter("".join(generator.batch(93_000)))

        assert len(counts) == 93
        assert all(9_000 < n < 11_000 for n in counts.values())  # 10,000 ± 10 sigma

    def test_several_runs_with_fixed_text_and_percent_signs(self):
        config = codes.parse_config({"charset": "01", "pattern": "%#-##%-#", "prefix": "%s",
                                     "postfix": "%"})

        batch = codes.CodeGenerator(config).batch(16)  # every possible code

        assert len(set(batch)) == 16
        assert all(c[:3] == "%s%" and c[4] == "-" and c[7:9] == "%-" and c[-1] == "%"
                   and len(c) == 11 for c in batch)
        assert {c[3] + c[5:7] + c[9] for c in batch} == {f"{i:04b}" for i in range(16)}

    def test_non_ascii_charset(self):
        config = codes.parse_config({"charset": "äöü€", "pattern": "##-##"})

        batch = codes.CodeGenerator(config).batch(200)

        assert len(set(batch)) == 200
        assert all(set(c[:2] + c[3:]) <= set("äöü€") and c[2] == "-" for c in batch)
        assert set("".join(batch)) == set("äöü€-")


class TestBulkIds:
    def test_shaped_as_new_id(self):
        ids = new_ids("v", 1000)

        assert len(set(ids)) == 1000
        assert all(prefix_of(i) == "v" and len(i) == len(new_id("v")) for i in ids)
        assert all(str(ULID.from_str(i[2:])) == i[2:] for i in ids)
        assert abs(ULID.from_str(ids[0][2:]).timestamp - ULID().timestamp) < 5

    def test_each_id_has_its_own_random_bits(self, monkeypatch):
        # Voucher ids open their QR/barcode URLs without a key: neighbours must not be
        # derivable from one's own id. Every id takes the next 10 bytes of the CSPRNG.
        stream = bytes(range(10)) + bytes(range(100, 110)) + bytes(range(200, 210))
        monkeypatch.setattr(os, "urandom", lambda n: stream[:n])

        ids = new_ids("v", 3)

        randoms = [int(ULID.from_str(i[2:])) & (1 << 80) - 1 for i in ids]
        assert randoms == [int.from_bytes(stream[k:k + 10]) for k in (0, 10, 20)]

    def test_unknown_prefix(self):
        with pytest.raises(ValueError, match="unknown id prefix"):
            new_ids("nope", 1)
