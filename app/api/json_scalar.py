"""The `JSON` scalar with a nesting limit.

graphql-core bounds the nesting of input objects and lists, but a custom scalar's value passes
through whole: a `metadata` nested 900 levels reached `json.dumps` and the database and ended
as INTERNAL_SERVER_ERROR. This scalar refuses a value (from variables or from the document)
nested deeper than `MAX_JSON_DEPTH` before any resolver runs, with `extensions.code`
`json_too_deep`; the schema's SDL is unchanged.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, ListValueNode, ObjectValueNode, ValueNode, VariableNode
from graphql.utilities import value_from_ast_untyped
from strawberry.scalars import JSON
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition, scalar

from app.engine.error_codes import JSON_TOO_DEEP
from app.services.errors import MAX_JSON_DEPTH, json_too_deep

CODE = JSON_TOO_DEEP


def _too_deep() -> GraphQLError:
    return GraphQLError(f"JSON values nest at most {MAX_JSON_DEPTH} levels",
                        extensions={"code": CODE})


def parse_value(value: Any) -> Any:
    if json_too_deep(value):
        raise _too_deep()
    return value


def _literal_too_deep(node: ValueNode, variables: dict[str, Any] | None) -> bool:
    stack: list[tuple[ValueNode, int]] = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, VariableNode):
            value = (variables or {}).get(item.name.value)
            if json_too_deep(value, MAX_JSON_DEPTH - depth + 1):
                return True
            continue
        if isinstance(item, ObjectValueNode):
            children = [f.value for f in item.fields]
        elif isinstance(item, ListValueNode):
            children = list(item.values)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    if _literal_too_deep(node, variables):
        raise _too_deep()
    return value_from_ast_untyped(node, variables)


_BASE = DEFAULT_SCALAR_REGISTRY[JSON]
BOUNDED_JSON: ScalarDefinition = scalar(
    name="JSON", description=_BASE.description, specified_by_url=_BASE.specified_by_url,
    serialize=_BASE.serialize, parse_value=parse_value, parse_literal=parse_literal,
)
# For strawberry.Schema(scalar_overrides=…): every `JSON` field and argument uses it.
OVERRIDES: dict[object, Any] = {JSON: BOUNDED_JSON}
