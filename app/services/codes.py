"""Voucher code generation (reference §2.2): pure functions, no I/O.

A code is `prefix + pattern + postfix` where every `#` of the pattern is a random character
of the charset. Codes are unique per project; the caller inserts them with conflict handling
and asks again only for the ones that collided.
"""

from __future__ import annotations

import itertools
import os
import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALPHANUMERIC = string.digits + string.ascii_letters
CHARSETS = {
    "numbers": string.digits,
    "alphabetic": string.ascii_letters,
    "alphabetic_lowercase": string.ascii_lowercase,
    "alphabetic_uppercase": string.ascii_uppercase,
    "alphanumeric": ALPHANUMERIC,
}
DEFAULT_LENGTH = 8
MAX_CODE_LENGTH = 200  # the vouchers.code column
MAX_AFFIX = 50
# Random generation must terminate: ask for at most this fraction of the possible codes, so
# each draw is new with probability > 1/2 even when the pool is nearly full.
SAFE_FRACTION = 2


class CodeConfigError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CodeConfig:
    charset: str = ALPHANUMERIC
    pattern: str = "#" * DEFAULT_LENGTH
    prefix: str = ""
    postfix: str = ""

    @property
    def random_positions(self) -> int:
        return self.pattern.count("#")

    @property
    def capacity(self) -> int:
        """How many different codes this configuration can make."""
        return len(self.charset) ** self.random_positions

    @property
    def length(self) -> int:
        return len(self.prefix) + len(self.pattern) + len(self.postfix)

    def stored(self) -> dict[str, Any]:
        return {
            "length": self.random_positions, "charset": self.charset, "pattern": self.pattern,
            "prefix": self.prefix, "postfix": self.postfix,
        }


def _charset(raw: Any) -> str:
    """The characters to draw from: a charset name or the characters themselves, each one
    once and each one telling itself apart from the others in a printed code."""
    if raw is None:
        return ALPHANUMERIC
    if not isinstance(raw, str) or raw == "":
        raise CodeConfigError("the charset must not be empty; omit it for alphanumeric",
                              "charset")
    if raw in CHARSETS:
        return CHARSETS[raw]
    repeated = sorted({c for c in raw if raw.count(c) > 1})
    if repeated:
        raise CodeConfigError(f"the charset repeats {''.join(repeated)!r}; give each character "
                              "once", "charset")
    if "#" in raw:
        raise CodeConfigError("the charset must not contain '#' (the pattern's placeholder)",
                              "charset")
    if any(c.isspace() or not c.isprintable() or unicodedata.category(c).startswith("M")
           for c in raw):
        raise CodeConfigError("the charset must not contain spaces, control characters or "
                              "combining marks", "charset")
    looks = [unicodedata.normalize("NFKC", c) for c in raw]
    if len(set(looks)) != len(looks):
        raise CodeConfigError("the charset has characters that read the same (Unicode NFKC "
                              "equivalents); keep one of each", "charset")
    if len(raw) < 2:
        raise CodeConfigError("the charset needs at least 2 different characters", "charset")
    return raw


def _plain_text(value: str) -> bool:
    return not any(c.isspace() or not c.isprintable() for c in value)


def parse_config(data: Mapping[str, Any] | None) -> CodeConfig:
    """The configuration from the API's snake_case shape, or CodeConfigError naming the field.

    Every given field counts: an empty charset or pattern, or a length that disagrees with the
    pattern, is refused rather than replaced by a default."""
    data = data or {}
    charset = _charset(data.get("charset"))
    prefix, postfix = data.get("prefix") or "", data.get("postfix") or ""
    for name, value in (("prefix", prefix), ("postfix", postfix)):
        if len(value) > MAX_AFFIX:
            raise CodeConfigError(f"{name} is at most {MAX_AFFIX} characters", name)
        if not _plain_text(value):
            raise CodeConfigError(f"{name} must not contain spaces or control characters", name)
    pattern, length = data.get("pattern"), data.get("length")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)
                               or length < 1):
        raise CodeConfigError("length must be a positive integer", "length")
    if pattern is not None:
        if "#" not in pattern:
            raise CodeConfigError("a pattern needs at least one '#'", "pattern")
        if not _plain_text(pattern):
            raise CodeConfigError("pattern must not contain spaces or control characters",
                                  "pattern")
        if length is not None and length != pattern.count("#"):
            raise CodeConfigError(
                f"length {length} disagrees with the pattern's {pattern.count('#')} '#'; "
                "give one of them", "length",
            )
    else:
        length = DEFAULT_LENGTH if length is None else length
        if length > MAX_CODE_LENGTH:
            raise CodeConfigError(f"length is at most {MAX_CODE_LENGTH}", "length")
        pattern = "#" * length
    config = CodeConfig(charset=charset, pattern=pattern, prefix=prefix, postfix=postfix)
    if config.length > MAX_CODE_LENGTH:
        raise CodeConfigError(f"a code is at most {MAX_CODE_LENGTH} characters", "pattern")
    return config


def check_feasible(config: CodeConfig, count: int) -> None:
    """Refuse asks the configuration cannot satisfy, or not with random draws that terminate."""
    capacity = config.capacity
    if count > capacity:
        raise CodeConfigError(
            f"Not possible to generate requested number of codes: {count} asked, the "
            f"configuration allows {capacity} different codes", None,
        )
    if count * SAFE_FRACTION > capacity:
        raise CodeConfigError(
            f"{count} codes would use more than half of the {capacity} possible codes; "
            "lengthen the pattern or widen the charset", None,
        )


class CodeGenerator:
    """Random codes of one configuration, from the OS's CSPRNG (codes must be unguessable)."""

    def __init__(self, config: CodeConfig) -> None:
        self.config = config
        self._chars = config.charset
        size = len(self._chars)
        # Rejection sampling on random bytes keeps every character equally likely.
        self._limit = 256 - 256 % size if size <= 256 else 0
        # ASCII charsets: bytes.translate maps accepted bytes to characters and drops the
        # rejected ones in C, without a Python step per character.
        self._table: bytes | None = None
        self._rejected = b""
        if self._limit and all(ord(c) < 128 for c in self._chars):
            self._table = bytes(ord(self._chars[b % size]) if b < self._limit else 0
                                for b in range(256))
            self._rejected = bytes(range(self._limit, 256))
        # The code around its runs of '#': "AB-####-##" is fixed ["AB-", "-", ""], runs [4, 2].
        parts = re.split("(#+)", config.pattern)
        fixed = parts[0::2]
        fixed[0], fixed[-1] = config.prefix + fixed[0], fixed[-1] + config.postfix
        self._fixed = fixed
        self._offsets = list(itertools.accumulate((len(run) for run in parts[1::2]), initial=0))
        self._template = "%s".join(piece.replace("%", "%%") for piece in fixed)

    def _random_chars(self, n: int) -> list[str]:
        chars, size, limit = self._chars, len(self._chars), self._limit
        out: list[str] = []
        if not limit:  # huge custom charsets: draw two bytes per character
            while len(out) < n:
                raw = os.urandom(2 * (n - len(out)))
                for i in range(0, len(raw), 2):
                    value = raw[i] << 8 | raw[i + 1]
                    if value < 65536 - 65536 % size:
                        out.append(chars[value % size])
            return out[:n]
        while len(out) < n:
            need = n - len(out)
            for byte in os.urandom(need + need // 4 + 8):
                if byte < limit:
                    out.append(chars[byte % size])
                    if len(out) == n:
                        break
        return out

    def _random_text(self, n: int) -> str:
        """`n` random characters of the charset, as one string."""
        if self._table is None:
            return "".join(self._random_chars(n))
        parts: list[bytes] = []
        got = 0
        while got < n:
            need = n - got
            part = os.urandom(need * 256 // self._limit + 16).translate(self._table,
                                                                        self._rejected)
            parts.append(part)
            got += len(part)
        return b"".join(parts)[:n].decode("ascii")

    def one(self) -> str:
        return self.batch(1)[0]

    def batch(self, n: int) -> list[str]:
        """`n` codes, distinct from each other (not necessarily from codes stored elsewhere)."""
        made: dict[str, None] = {}
        while len(made) < n:
            made.update(dict.fromkeys(self._draw(n - len(made))))
        return list(made)

    def _draw(self, n: int) -> list[str]:
        """`n` random codes, possibly repeating each other."""
        width = self.config.random_positions
        text = self._random_text(n * width)
        starts = range(0, n * width, width)
        if len(self._fixed) == 2:  # one run of '#' (the usual "########")
            head, tail = self._fixed
            if not head and not tail:
                return [text[i:i + width] for i in starts]
            return [head + text[i:i + width] + tail for i in starts]
        template, runs = self._template, list(itertools.pairwise(self._offsets))
        return [template % tuple(text[i + a:i + b] for a, b in runs) for i in starts]
