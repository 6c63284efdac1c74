"""`SafeInt`: the one integer scalar of money (minor units) and points.

GraphQL's `Int` is 32-bit (at most 2,147,483,647), too small for carts in currencies such as
IDR, VND or KRW. `SafeInt` is an integer from -(2^53 - 1) to 2^53 - 1, serialized as a plain
JSON number: every JSON and JavaScript client reads it exactly.

Input: a JSON integer (an integral JSON number such as 5.0 too, like `Int`) in variables, an
integer literal in the document. Booleans, strings, fractions and non-numbers are refused
like `Int` refuses them; a number beyond the range is refused with `extensions` `{code:
"amount_too_large", argument: "input", field: ["order", "items", "0", "price"]}`: the argument
it was given in and, as in payload errors, its path inside that argument, for a literal and
for a variable alike (a variable's value is placed where the document uses the variable).

graphql-core reports a literal's error itself (`ValuesOfCorrectTypeRule`, no path) and wraps a
variable's in its own error (path only in the message); `AmountErrors` rewrites both into the
error above after the operation, locating the value in the document or the variables.

Output: an amount beyond the range is never serialized (writes are checked first, see
`app.engine.money`); should one be met anyway it is a field error, never a wrong number.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NewType

import strawberry
from graphql import (
    SKIP,
    ArgumentNode,
    DocumentNode,
    FloatValueNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    print_ast,
    type_from_ast,
    visit,
)
from strawberry.extensions import SchemaExtension

from app.engine import money

NAME = "SafeInt"
DESCRIPTION = (
    "An integer from -(2^53 - 1) to 2^53 - 1, serialized as a JSON number: exact in every "
    "JSON and JavaScript client. Money in minor units, and points. A value beyond the range "
    "is refused with extensions.code amount_too_large and the field path."
)


class AmountTooLarge(GraphQLError):
    """A SafeInt input beyond ±(2^53 - 1)."""

    def __init__(self, value: Any, node: Node | None = None) -> None:
        super().__init__(
            f"{NAME} cannot represent {value}: it runs from -{money.MAX_AMOUNT:,} to "
            f"{money.MAX_AMOUNT:,} (2^53 - 1)",
            node,
            extensions={"code": money.AMOUNT_TOO_LARGE},
        )


def _not_an_integer(shown: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(f"{NAME} cannot represent non-integer value: {shown}", node)


def _checked(value: int, shown: Any, node: Node | None = None) -> int:
    if not money.fits(value):
        raise AmountTooLarge(shown, node)
    return value


def parse_value(value: Any) -> int:
    """A variable's value: an int, or an integral float (JSON has one number type)."""
    if isinstance(value, bool):
        raise _not_an_integer(repr(value).lower())
    if isinstance(value, int):
        return _checked(value, value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _not_an_integer(repr(value))
        if not value.is_integer():
            raise _not_an_integer(repr(value))
        return _checked(int(value), repr(value))
    raise _not_an_integer(repr(value) if isinstance(value, str) else type(value).__name__)


def parse_literal(node: ValueNode, _variables: Any = None) -> int:
    """A literal in the document: an integer literal only (as for `Int`)."""
    if not isinstance(node, IntValueNode):
        raise _not_an_integer(print_ast(node), node)
    return _checked(int(node.value), node.value, node)


def serialize(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"{NAME} cannot represent non-integer value: {value!r}")
    if not money.fits(value):
        raise GraphQLError(f"{NAME} cannot represent {value}: beyond 2^53 - 1")
    return value


SafeInt = NewType("SafeInt", int)

SCALARS = {
    SafeInt: strawberry.scalar(
        name=NAME, description=DESCRIPTION, serialize=serialize, parse_value=parse_value,
        parse_literal=parse_literal,
    ),
}
"""For `StrawberryConfig.scalar_map`: the schema's custom scalars by Python type."""


# --- where a refused value was ------------------------------------------------------------

Path = list[str]


def _literal_paths(document: DocumentNode) -> tuple[dict[int, Path], dict[str, Path]]:
    """Every value position of the document as its path from the argument: by the offset
    of a scalar literal, and by the name of a variable (its first use)."""
    literals: dict[int, Path] = {}
    variables: dict[str, Path] = {}

    def walk(node: ValueNode, path: Path) -> None:
        if isinstance(node, VariableNode):
            variables.setdefault(node.name.value, path)
        elif isinstance(node, ObjectValueNode):
            for field in node.fields:
                walk(field.value, [*path, field.name.value])
        elif isinstance(node, ListValueNode):
            for index, item in enumerate(node.values):
                walk(item, [*path, str(index)])
        elif isinstance(node, IntValueNode | FloatValueNode) and node.loc is not None:
            literals[node.loc.start] = path

    class Arguments(Visitor):
        def enter_argument(self, node: ArgumentNode, *_args: Any) -> Any:
            walk(node.value, [node.name.value])
            return SKIP

        def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> Any:
            if node.default_value is not None:
                walk(node.default_value, [f"${node.variable.name.value}"])
            return SKIP

    visit(document, Arguments())
    for start, path in literals.items():  # a variable's default value: where it is used
        if path[0].startswith("$") and path[0][1:] in variables:
            literals[start] = [*variables[path[0][1:]], *path[1:]]
    return literals, variables


def _too_large_paths(value: Any, type_: Any, path: Path) -> Iterator[Path]:
    """Paths of SafeInt values beyond the range inside a variable's value, in the order
    graphql-core reports them (fields in definition order, list items by index)."""
    if isinstance(type_, GraphQLNonNull):
        yield from _too_large_paths(value, type_.of_type, path)
    elif value is None:
        return
    elif isinstance(type_, GraphQLList):
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _too_large_paths(item, type_.of_type, [*path, str(index)])
        else:
            yield from _too_large_paths(value, type_.of_type, path)
    elif isinstance(type_, GraphQLInputObjectType):
        if isinstance(value, dict):
            for name, field in type_.fields.items():
                if name in value:
                    yield from _too_large_paths(value[name], field.type, [*path, name])
    elif isinstance(type_, GraphQLScalarType) and type_.name == NAME:
        try:
            parse_value(value)
        except AmountTooLarge:
            yield path
        except GraphQLError:
            return


def _variable_definitions(document: DocumentNode) -> dict[str, VariableDefinitionNode]:
    return {
        d.variable.name.value: d
        for op in document.definitions if isinstance(op, OperationDefinitionNode)
        for d in op.variable_definitions or ()
    }


def _rewritten(
    errors: list[GraphQLError], document: DocumentNode | None, variables: dict[str, Any],
    schema: GraphQLSchema,
) -> list[GraphQLError]:
    if document is None or not any(_is_ours(e) for e in errors):
        return errors
    literals, used_at = _literal_paths(document)
    definitions = _variable_definitions(document)
    pending: dict[str, Iterator[Path]] = {}
    out: list[GraphQLError] = []
    for error in errors:
        if isinstance(error, AmountTooLarge):  # a literal, reported as raised
            start = error.nodes[0].loc.start if error.nodes and error.nodes[0].loc else None
            out.append(_with_field(error, literals.get(start) if start is not None else None))
        elif isinstance(error.original_error, AmountTooLarge):  # a variable, wrapped
            name = _variable_of(error)
            field = None
            if name is not None and name in definitions:
                if name not in pending:
                    var_type = type_from_ast(schema, definitions[name].type)
                    pending[name] = _too_large_paths(variables.get(name), var_type, [])
                inner = next(pending[name], None)
                if inner is not None:
                    field = [*used_at.get(name, [f"${name}"]), *inner]
            out.append(_with_field(error, field))
        else:
            out.append(error)
    return out


def _is_ours(error: GraphQLError) -> bool:
    return isinstance(error, AmountTooLarge) or isinstance(error.original_error, AmountTooLarge)


def _variable_of(error: GraphQLError) -> str | None:
    for node in error.nodes or ():
        if isinstance(node, VariableDefinitionNode):
            return node.variable.name.value
    return None


def _with_field(error: GraphQLError, path: Path | None) -> GraphQLError:
    """A new error (cached validation errors are shared between requests) naming the
    argument and, as payload errors do, the field path inside it."""
    extensions: dict[str, Any] = {"code": money.AMOUNT_TOO_LARGE}
    if path:
        extensions["argument"] = path[0]
        extensions["field"] = path[1:]
    return GraphQLError(
        error.message, error.nodes, original_error=error.original_error, extensions=extensions,
    )


class AmountErrors(SchemaExtension):
    """Give refused SafeInt values their code and field path (see the module docstring)."""

    def on_operation(self) -> Iterator[None]:
        yield
        place_amount_errors(self.execution_context)


def place_amount_errors(context: Any) -> None:
    """What AmountErrors does once the operation has run (the gate does it too)."""
    result = context.result
    if not result or not result.errors:
        return
    result.errors = _rewritten(
        list(result.errors), context.graphql_document, context.variables or {},
        context.schema._schema,
    )
