"""What a GraphQL document may ask for: one pass over it, linear in its size, before anything
runs (docs/requests.md has the user-facing rules and codes).

A document may spread one fragment from many places and fragments may spread each other, so the
same selections can stand for astronomically many fields once expanded. Nothing here expands:
each fragment is walked once, its figures (deepest nesting, fields, aliases, cost) are kept, and
every spread of it adds those figures. Counts saturate just above their limit, so they stay
small integers however large the expansion is.

The same pass notes each field a publishable key may not read (`may_read`), with its parent type
taken from the schema: the type a fragment or inline fragment names, or the field's own type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

# extensions.code of each refusal (stable: clients may branch on them)
from app.engine.error_codes import (
    QUERY_TOO_COSTLY,
    QUERY_TOO_DEEP,
    QUERY_TOO_LARGE,
    TOO_MANY_ALIASES,
    TOO_MANY_REPEATS,
)

# Cost: how many items a list may hold, for lists without a page size.
MAX_PAGE = 100  # a connection's largest page (`first` ≤ 100)
LIST_ITEMS = 10  # an estimate for plain lists (order items, rules, categories, …)


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int
    max_aliases: int
    max_fields: int
    max_cost: int
    max_repeats: int


@dataclass(frozen=True)
class Shape:
    """Figures of one selection set, relative to it (a field directly in it is at depth 0)."""

    depth: int  # deepest field below the set's own fields (-1: no field at all)
    fields: int  # fields once every fragment is expanded
    aliases: int  # aliased fields once expanded
    cost: int  # see `factor`: 1 per field, times the items of every list around it
    top: frozenset[str]  # field names directly in the set (through fragments), root only
    keys: Mapping[str, int]  # response keys directly in the set (through fragments): times


EMPTY = Shape(depth=-1, fields=0, aliases=0, cost=0, top=frozenset(), keys={})


@dataclass
class Analysis:
    operation_name: str
    root_fields: frozenset[str]
    depth: int
    fields: int
    aliases: int
    cost: int
    repeats: int = 1  # most times one selection set selects the same response key
    repeated_key: str | None = None
    forbidden: list[str] = field(default_factory=list)  # "Type.field", sorted

    def limit_errors(self, limits: QueryLimits) -> list[GraphQLError]:
        """The first limit the operation is over (in the order below), as a GraphQL error with
        its own code; empty when it is within all of them."""
        errors: list[GraphQLError] = []
        if self.depth > limits.max_depth:
            # the message is the one Strawberry's depth limiter gave before
            errors.append(_refusal(
                f"'{self.operation_name}' exceeds maximum operation depth of "
                f"{limits.max_depth}", QUERY_TOO_DEEP, limit=limits.max_depth,
            ))
        if self.aliases > limits.max_aliases:
            errors.append(_refusal(
                f"the operation uses more than {limits.max_aliases} aliases "
                f"(fragments counted each time they are spread)",
                TOO_MANY_ALIASES, limit=limits.max_aliases,
            ))
        if self.fields > limits.max_fields:
            errors.append(_refusal(
                f"the operation selects more than {limits.max_fields} fields once its "
                "fragments are expanded", QUERY_TOO_LARGE, limit=limits.max_fields,
            ))
        if self.cost > limits.max_cost:
            errors.append(_refusal(
                f"the operation costs more than {limits.max_cost} (1 per field, times the "
                "page size of each connection and 10 for each other list around it)",
                QUERY_TOO_COSTLY, limit=limits.max_cost,
            ))
        if self.repeats > limits.max_repeats:
            errors.append(_refusal(
                f"one selection set selects '{self.repeated_key}' {self.repeats} times "
                f"(fragments included); at most {limits.max_repeats}",
                TOO_MANY_REPEATS, limit=limits.max_repeats,
            ))
        return errors[:1]


def _refusal(message: str, code: str, **extra: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extra})


def operation_of(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation that would run (as graphql-core picks it), or None."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == operation_name), None)


def root_type(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> GraphQLObjectType | None:
    if operation.operation is OperationType.MUTATION:
        return schema.mutation_type
    if operation.operation is OperationType.SUBSCRIPTION:
        return schema.subscription_type
    return schema.query_type


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    limits: QueryLimits,
    variables: Mapping[str, Any] | None = None,
    may_read: Callable[[GraphQLNamedType, str], bool] | None = None,
) -> Analysis:
    """Measure `operation` of `document` in one pass over the document.

    Unknown fields, types and fragments count as fields without a type (validation refuses them
    afterwards); fragment cycles count nothing past the cycle. `may_read(parent, field)` is
    asked once per field node below the root (None: everything may be read)."""
    walker = _Walker(schema, document, operation, limits, variables or {}, may_read)
    shape = walker.run()
    name = operation.name.value if operation.name else "anonymous"
    return Analysis(
        operation_name=name, root_fields=shape.top, depth=max(shape.depth, 0),
        fields=shape.fields, aliases=shape.aliases, cost=shape.cost,
        repeats=walker.repeats, repeated_key=walker.repeated_key,
        forbidden=sorted(walker.forbidden),
    )


def top_level_fields(document: DocumentNode, operation: OperationDefinitionNode) -> set[str]:
    """Names of the fields directly under the operation, through fragments (each fragment
    looked at once, so linear in the document)."""
    fragments = _fragments(document)
    names: set[str] = set()
    seen: set[str] = set()
    pending: list[SelectionSetNode] = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return names


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
    return fragments


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    """Fragment names spread anywhere inside a selection set (nesting is bounded by the
    parser, at most 200 levels)."""
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            yield selection.name.value
        elif selection.selection_set is not None:  # field or inline fragment
            yield from _spreads(selection.selection_set)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        limits: QueryLimits,
        variables: Mapping[str, Any],
        may_read: Callable[[GraphQLNamedType, str], bool] | None,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = _fragments(document)
        self.variables = variables
        self.may_read = may_read
        self.root = root_type(schema, operation)
        self.caps = (limits.max_fields + 1, limits.max_aliases + 1, limits.max_cost + 1)
        self.shapes: dict[str, Shape] = {}
        self.forbidden: set[str] = set()
        self.repeats = 1
        self.repeated_key: str | None = None
        self.merged = 0
        self.defaults = {
            d.variable.name.value: d.default_value
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }

    def run(self) -> Shape:
        # Fragments in dependency order (a fragment after every fragment it spreads), found
        # without recursion: a chain of hundreds of fragments must not exhaust the stack.
        # A spread that closes a cycle finds no shape yet and counts as nothing.
        done: set[str] = set()
        for name in self._dependency_order(done):
            fragment = self.fragments[name]
            parent = self.schema.get_type(fragment.type_condition.name.value)
            self.shapes[name] = self._selection_set(fragment.selection_set, parent)
        return self._selection_set(self.operation.selection_set, self.root)

    def _dependency_order(self, done: set[str]) -> list[str]:
        order: list[str] = []
        visiting: set[str] = set()
        stack: list[tuple[str, Iterator[str]]] = []
        for start in _spreads(self.operation.selection_set):
            if start not in self.fragments or start in done:
                continue
            visiting.add(start)
            stack.append((start, _spreads(self.fragments[start].selection_set)))
            while stack:
                name, children = stack[-1]
                for child in children:
                    if child in self.fragments and child not in done and child not in visiting:
                        visiting.add(child)
                        stack.append((child, _spreads(self.fragments[child].selection_set)))
                        break
                else:
                    stack.pop()
                    visiting.discard(name)
                    done.add(name)
                    order.append(name)
        return order

    def _selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> Shape:
        max_fields, max_aliases, max_cost = self.caps
        depth, fields, aliases, cost = -1, 0, 0, 0
        top: set[str] = set()
        keys: dict[str, int] = {}
        spread: set[str] = set()  # a fragment spread twice in one set is merged once
        at_root = parent is not None and parent is self.root
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                definition = _field(parent, name)
                self._check(parent, name, definition, at_root)
                if at_root:
                    top.add(name)
                key = selection.alias.value if selection.alias else name
                keys[key] = keys.get(key, 0) + 1
                fields += 1
                aliases += selection.alias is not None
                own_depth, own_cost = 0, 1
                if selection.selection_set is not None:
                    child = get_named_type(definition.type) if definition else None
                    sub = self._selection_set(selection.selection_set, child)
                    fields += sub.fields
                    aliases += sub.aliases
                    if not name.startswith("__") and sub.depth >= 0:
                        own_depth = 1 + sub.depth  # introspection is not counted (as before)
                    own_cost += self._factor(selection, definition, parent) * sub.cost
                depth = max(depth, own_depth)
                cost += own_cost
            else:
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    inner = self.schema.get_type(condition.name.value) if condition else parent
                    sub = self._selection_set(selection.selection_set, inner)
                elif isinstance(selection, FragmentSpreadNode):
                    sub = self.shapes.get(selection.name.value, EMPTY)
                    if selection.name.value in spread:
                        sub = replace(sub, keys={})
                    spread.add(selection.name.value)
                else:  # pragma: no cover - graphql-core has no other selection kind
                    continue
                depth = max(depth, sub.depth)
                fields += sub.fields
                aliases += sub.aliases
                cost += sub.cost
                top |= sub.top
                self._merge(keys, sub.keys)
            fields, aliases = min(fields, max_fields), min(aliases, max_aliases)
            cost = min(cost, max_cost)
        for key, times in keys.items():
            if times > self.repeats:
                self.repeats, self.repeated_key = times, key
        return Shape(depth=depth, fields=fields, aliases=aliases, cost=cost,
                     top=frozenset(top), keys=keys)

    def _merge(self, keys: dict[str, int], more: Mapping[str, int]) -> None:
        """Add a fragment's response keys to a set's. Each key added stands for at least one
        field of the expanded operation, so once more were added than the field limit allows,
        the operation is refused as too large anyway and the rest is skipped (this keeps the
        pass linear when a fragment with many fields is spread in many places)."""
        if self.merged > self.caps[0]:
            return
        self.merged += len(more)
        for key, times in more.items():
            keys[key] = keys.get(key, 0) + times

    def _check(
        self,
        parent: GraphQLNamedType | None,
        name: str,
        definition: GraphQLField | None,
        at_root: bool,
    ) -> None:
        if self.may_read is None or parent is None or definition is None or at_root:
            return  # root fields are the caller's business; unknown ones validation's
        if name.startswith("__") or parent.name.startswith("__"):
            return  # introspection
        if not self.may_read(parent, name):
            self.forbidden.add(f"{parent.name}.{name}")

    def _factor(
        self, node: FieldNode, definition: GraphQLField | None, parent: GraphQLNamedType | None
    ) -> int:
        """How many times a field's selections may be resolved per time the field is."""
        if definition is None:
            return 1
        own = get_nullable_type(definition.type)
        if is_list_type(own):
            if node.name.value == "edges" and _is_connection(parent):
                return 1  # the connection's page size already counts its edges
            size = self._page_size(node)
            return LIST_ITEMS if size is None else size
        if _is_connection(get_named_type(own)):
            size = self._page_size(node)
            return MAX_PAGE if size is None else size
        return 1

    def _page_size(self, node: FieldNode) -> int | None:
        """`first` of the field, or `first` of its `input` object; None when not given."""
        arguments = {a.name.value: a.value for a in node.arguments or ()}
        first = self._value(arguments.get("first"))
        if first is None:
            given = self._value(arguments.get("input"))
            first = given.get("first") if isinstance(given, dict) else None
        if isinstance(first, bool) or not isinstance(first, int):
            return None
        return min(max(first, 0), MAX_PAGE)  # beyond the maximum the resolver refuses anyway

    def _value(self, value: ValueNode | None) -> Any:
        """A literal or variable value, as far as paging needs it (ints and objects)."""
        if isinstance(value, VariableNode):
            name = value.name.value
            if name in self.variables:
                return self.variables[name]
            return self._value(self.defaults.get(name))
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ObjectValueNode):
            return {f.name.value: self._value(f.value) for f in value.fields}
        return None


def _field(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return parent.fields.get(name)
    return None


def _is_connection(named: GraphQLNamedType | None) -> bool:
    return (
        isinstance(named, GraphQLObjectType)
        and "edges" in named.fields
        and "pageInfo" in named.fields
    )
