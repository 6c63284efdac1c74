"""A small, safe formula language for dynamic discount values (reference §3.6).

Grammar: numbers, + - * / (unary minus), parentheses, functions MIN MAX ROUND FLOOR CEIL ABS,
and operands: ORDER_AMOUNT, ORDER_TOTAL_AMOUNT, ORDER_INITIAL_AMOUNT, ORDER_ITEMS_QUANTITY,
ORDER_ITEMS_COUNT, BUNDLE_QUANTITY, ORDER_METADATA("k"), CUSTOMER_METADATA("k"),
REDEEMABLE_METADATA("k"), REDEMPTION_METADATA("k"). Parsed once into a tree; never `eval`.
A missing or non-numeric operand raises `MissingOperand` so the caller falls back to the
static value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from app.engine.values import lookup_path


class FormulaError(ValueError):
    """The formula text is malformed (a compile-time error)."""


class MissingOperand(LookupError):
    """An operand has no (numeric) value in this context."""


@dataclass(frozen=True, slots=True)
class FormulaContext:
    numbers: Mapping[str, int]
    order_metadata: Mapping[str, Any]
    customer_metadata: Mapping[str, Any]
    redeemable_metadata: Mapping[str, Any]
    redemption_metadata: Mapping[str, Any]


Node = Callable[[FormulaContext], Decimal]

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Z_][A-Z0-9_]*)|(\"[^\"]*\"|'[^']*')|(.))")
_SCALARS = {
    "ORDER_AMOUNT",
    "ORDER_TOTAL_AMOUNT",
    "ORDER_INITIAL_AMOUNT",
    "ORDER_ITEMS_QUANTITY",
    "ORDER_ITEMS_COUNT",
    "BUNDLE_QUANTITY",
}
_METADATA = {
    "ORDER_METADATA": "order_metadata",
    "CUSTOMER_METADATA": "customer_metadata",
    "REDEEMABLE_METADATA": "redeemable_metadata",
    "REDEMPTION_METADATA": "redemption_metadata",
}


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise MissingOperand(str(value))
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MissingOperand(str(value)) from exc


def _round(x: Decimal, mode: str, digits: int = 0) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-digits), rounding=mode)


def _function(name: str, args: list[Node]) -> Node:
    if name in ("MIN", "MAX") and args:
        pick = min if name == "MIN" else max
        return lambda c: pick(a(c) for a in args)
    if name == "ABS" and len(args) == 1:
        return lambda c: abs(args[0](c))
    modes = {"ROUND": ROUND_HALF_UP, "FLOOR": ROUND_FLOOR, "CEIL": ROUND_CEILING}
    if name in modes and len(args) in (1, 2):
        mode = modes[name]
        if len(args) == 1:
            return lambda c: _round(args[0](c), mode)
        return lambda c: _round(args[0](c), mode, int(args[1](c)))
    raise FormulaError(f"unknown function or wrong arity: {name}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        for m in _TOKEN.finditer(text):
            num, ident, string, other = m.groups()
            if num:
                self.tokens.append(("num", num))
            elif ident:
                self.tokens.append(("id", ident))
            elif string:
                self.tokens.append(("str", string[1:-1]))
            elif other and not other.isspace():
                self.tokens.append(("op", other))
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise FormulaError(f"expected {value or 'a token'} at position {self.pos}")
        self.pos += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise FormulaError(f"unexpected {self.peek()}")
        return node

    def expr(self) -> Node:
        node = self.term()
        while (tok := self.peek()) and tok[1] in "+-" and tok[0] == "op":
            self.take()
            left, right = node, self.term()
            node = _add(left, right) if tok[1] == "+" else _sub(left, right)
        return node

    def term(self) -> Node:
        node = self.unary()
        while (tok := self.peek()) and tok[1] in "*/" and tok[0] == "op":
            self.take()
            left, right = node, self.unary()
            node = _mul(left, right) if tok[1] == "*" else _div(left, right)
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok == ("op", "-"):
            self.take()
            inner = self.unary()
            return lambda c: -inner(c)
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            const = Decimal(value)
            return lambda c: const
        if kind == "op" and value == "(":
            node = self.expr()
            self.take(")")
            return node
        if kind == "id":
            if value in _SCALARS:
                return _scalar(value)
            self.take("(")
            if value in _METADATA:
                key_kind, key = self.take()
                if key_kind != "str":
                    raise FormulaError(f"{value} needs a quoted key")
                self.take(")")
                return _metadata(_METADATA[value], key)
            args: list[Node] = []
            if self.peek() != ("op", ")"):
                args.append(self.expr())
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expr())
            self.take(")")
            return _function(value, args)
        raise FormulaError(f"unexpected token {value!r}")


def _add(a: Node, b: Node) -> Node:
    return lambda c: a(c) + b(c)


def _sub(a: Node, b: Node) -> Node:
    return lambda c: a(c) - b(c)


def _mul(a: Node, b: Node) -> Node:
    return lambda c: a(c) * b(c)


def _div(a: Node, b: Node) -> Node:
    def run(c: FormulaContext) -> Decimal:
        d = b(c)
        if d == 0:
            raise MissingOperand("division by zero")
        return a(c) / d

    return run


def _scalar(name: str) -> Node:
    def run(c: FormulaContext) -> Decimal:
        if name not in c.numbers:
            raise MissingOperand(name)
        return Decimal(c.numbers[name])

    return run


def _metadata(attr: str, key: str) -> Node:
    def run(c: FormulaContext) -> Decimal:
        found, value = lookup_path(getattr(c, attr), key)
        if not found:
            raise MissingOperand(key)
        return _to_decimal(value)

    return run


@dataclass(frozen=True, slots=True)
class Formula:
    text: str
    node: Node

    def evaluate(self, ctx: FormulaContext) -> Decimal:
        return self.node(ctx)


def compile_formula(text: str) -> Formula:
    return Formula(text, _Parser(text).parse())
