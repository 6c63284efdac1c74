"""Input objects built by a plan compiled once per type, instead of Strawberry's generic walk.

Strawberry turns every argument into its input dataclasses with `convert_argument`, which
re-resolves each field's annotation, GraphQL name and kind for every value of every request:
for validateStack's 10-line cart that was about 1 ms per request, more than the engine's own
evaluation. graphql-core has already coerced and validated the values by then (scalars
parsed, enums turned into their Python members, required fields present), so all that is
left is building the dataclasses, and that is a fixed recipe per type.

`install(schema)` gives every input type of the schema such a recipe through Strawberry's
public hook for it, `StrawberryObjectDefinition.from_input`. The result is the same objects
`convert_argument` builds: a field the client left out is None unless it has a Python
default, lists are fresh lists, leaves pass through. A field kind the plan doesn't know
(e.g. `Maybe`, `GlobalID`) is handed back to Strawberry's own conversion, and types with
`Maybe` fields are left alone entirely, because Strawberry skips its null check for types
that build themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.schema.compat import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType

Convert = Callable[[Any, InputContext], Any]


def _same(value: Any, _ctx: InputContext) -> Any:
    return value


def _fallback(type_: Any, name: str) -> Convert:
    def convert(value: Any, ctx: InputContext) -> Any:
        return ctx.convert(value, type_, name)

    return convert


class _Plan:
    """How to build one input type: its fields as (GraphQL name, Python name, converter)."""

    def __init__(self, definition: StrawberryObjectDefinition, schema: Any) -> None:
        self.definition = definition
        self.schema = schema
        self.fields: list[tuple[str, str, Convert]] | None = None
        self.nulls: dict[str, None] = {}

    def compile(self) -> list[tuple[str, str, Convert]]:
        names = self.schema.config.name_converter
        fields = []
        for field in self.definition.fields:
            graphql_name = names.from_field(field)
            type_ = field.resolve_type(type_definition=self.definition)
            fields.append((graphql_name, field.python_name,
                           _converter(type_, graphql_name, self.schema)))
        self.nulls = {
            f.python_name: None for f in self.definition.fields
            if f.default_value is MISSING and f.default_factory is MISSING
        }
        return fields

    def __call__(self, cls: type, value: Mapping[str, Any], ctx: InputContext) -> Any:
        fields = self.fields
        if fields is None:
            fields = self.fields = self.compile()
        kwargs: dict[str, Any] = dict(self.nulls)
        for graphql_name, python_name, convert in fields:
            if graphql_name in value:
                item = value[graphql_name]
                kwargs[python_name] = None if item is None else convert(item, ctx)
        return cls(**kwargs)


def _is_leaf(type_: Any, schema: Any) -> bool:
    """What `convert_argument` passes through unchanged: scalars (GlobalID aside) and enums,
    which graphql-core has already parsed into their Python values."""
    if type_ is GlobalID:
        return False
    if isinstance(type_, StrawberryEnumDefinition) or has_enum_definition(type_):
        return True
    return bool(is_scalar(type_, schema.schema_converter.scalar_registry))


def _converter(type_: Any, name: str, schema: Any) -> Convert:
    if isinstance(type_, StrawberryMaybe):
        return _fallback(type_, name)
    if isinstance(type_, StrawberryOptional):
        return _converter(type_.of_type, name, schema)
    if isinstance(type_, LazyType):
        return _converter(type_.resolve_type(), name, schema)
    if isinstance(type_, StrawberryList):
        inner = type_.of_type
        if isinstance(inner, StrawberryOptional):
            inner = inner.of_type
        if _is_leaf(inner, schema):
            return lambda value, _ctx: list(value)
        item = _converter(type_.of_type, name, schema)
        return lambda value, ctx: [None if v is None else item(v, ctx) for v in value]
    if _is_leaf(type_, schema):
        return _same
    if has_object_definition(type_):
        definition = type_.__strawberry_definition__
        hook = definition.from_input
        if isinstance(hook, _Plan):
            return lambda value, ctx: hook(type_, value, ctx)
    return _fallback(type_, name)


def _has_maybe(definition: StrawberryObjectDefinition) -> bool:
    return any(
        isinstance(f.resolve_type(type_definition=definition), StrawberryMaybe)
        for f in definition.fields
    )


def install(schema: Any) -> int:
    """Give every plain input type of `schema` a compiled builder; returns how many."""
    count = 0
    for concrete in schema.schema_converter.type_map.values():
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
            continue
        if definition.from_input is not None or _has_maybe(definition):
            continue
        definition.from_input = _Plan(definition, schema)
        count += 1
    return count
