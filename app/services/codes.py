"""Voucher code generation (reference §2.2): pure functions, no I/O.

A code is `prefix + pattern + postfix` where every `#` of the pattern is a random character
of the charset. Codes are unique per project; the caller inserts them with conflict handling
and asks again only for the ones that collided.
"""

from __future__ import annotations

import os
import string
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


def _dedupe(chars: str) -> str:
    return "".join(dict.fromkeys(chars))


def parse_config(data: Mapping[str, Any] | None) -> CodeConfig:
    """The configuration from the API's snake_case shape, or CodeConfigError naming the field."""
    data = data or {}
    raw_charset = data.get("charset")
    if raw_charset is None or raw_charset == "":
        charset = ALPHANUMERIC
    else:
        charset = _dedupe(CHARSETS.get(str(raw_charset), str(raw_charset)))
    if "#" in charset:
        raise CodeConfigError("the charset must not contain '#'", "charset")
    if any(c.isspace() or not c.isprintable() for c in charset):
        raise CodeConfigError("the charset must not contain spaces or control characters",
                              "charset")
    if len(charset) < 2:
        raise CodeConfigError("the charset needs at least 2 different characters", "charset")
    prefix, postfix = data.get("prefix") or "", data.get("postfix") or ""
    for name, value in (("prefix", prefix), ("postfix", postfix)):
        if len(value) > MAX_AFFIX:
            raise CodeConfigError(f"{name} is at most {MAX_AFFIX} characters", name)
        if any(c.isspace() or not c.isprintable() for c in value):
            raise CodeConfigError(f"{name} must not contain spaces or control characters", name)
    pattern = data.get("pattern")
    if pattern:
        if "#" not in pattern:
            raise CodeConfigError("a pattern needs at least one '#'", "pattern")
        if any(c.isspace() or not c.isprintable() for c in pattern):
            raise CodeConfigError("pattern must not contain spaces or control characters",
                                  "pattern")
    else:
        length = data.get("length")
        length = DEFAULT_LENGTH if length is None else length
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise CodeConfigError("length must be a positive integer", "length")
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
        # Rejection sampling on random bytes keeps every character equally likely.
        self._limit = 256 - 256 % len(self._chars) if len(self._chars) <= 256 else 0
        self._pieces = config.pattern.split("#")

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

    def one(self) -> str:
        return self.batch(1)[0]

    def batch(self, n: int) -> list[str]:
        """`n` codes, distinct from each other (not necessarily from codes stored elsewhere)."""
        positions = self.config.random_positions
        prefix, postfix, pieces = self.config.prefix, self.config.postfix, self._pieces
        made: dict[str, None] = {}
        while len(made) < n:
            want = n - len(made)
            chars = self._random_chars(want * positions)
            for i in range(want):
                drawn = chars[i * positions:(i + 1) * positions]
                body = pieces[0] + "".join(c + p for c, p in zip(drawn, pieces[1:], strict=True))
                made[prefix + body + postfix] = None
        return list(made)
