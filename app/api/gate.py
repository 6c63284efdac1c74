"""Everything that happens to an operation before it runs, in this order:

1. parse, within the token limit (cached by query text);
2. measure it in one linear pass (`limits.analyse`): depth, aliases, expanded fields, cost,
   repeated fields, and, for a publishable key, every field it may not read;
3. admit the caller (`auth.access_errors`): no key, a publishable key on a management
   operation or field;
4. validate it against the schema (cached by document).

A refusal at one step skips the later ones, so an over-limit or unauthenticated document is
never validated, and a request without a key costs a bounded parse and one pass at most. A
request without a key may only introspect (while introspection is on), within a smaller token
budget and without repeated fields; the results of introspection-only operations are cached,
so GraphiQL loading the schema over and over costs next to nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    BREAK,
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    Visitor,
    parse,
    validate,
    visit,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from app.api import client_fields
from app.api.auth import access_errors, is_introspection, unauthenticated
from app.api.errors import mask_unexpected
from app.api.limits import Analysis, QueryLimits, analyse, operation_of
from app.api.scalars import place_amount_errors
from app.engine.error_codes import BAD_REQUEST, TOO_MANY_TOKENS
from app.settings import Settings

NUL_MESSAGE = "a string in the request contains U+0000 (NUL), which no field accepts"
# A request without a key can only introspect; GraphiQL's full introspection query has under
# 200 tokens, so a keyless document gets 400 (parsing 400 tokens takes a few milliseconds).
KEYLESS_MAX_TOKENS = 400
INTROSPECTION_RESULTS = 16  # introspection answers kept (per process)


class _Document:
    """A parsed document and what is known of it regardless of the request: whether a
    string literal holds U+0000, and the analyses (`limits.analyse`) that read no variable.
    Compared and hashed by identity, so the caches keyed by it cost nothing per request."""

    __slots__ = ("analyses", "document", "has_nul")

    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.has_nul = _has_nul(document)
        self.analyses: dict[tuple[Any, ...], Analysis] = {}


@lru_cache(maxsize=1024)
def _parse(query: str, max_tokens: int) -> _Document:
    return _Document(parse(query, max_tokens=max_tokens))


def _has_nul(document: DocumentNode) -> bool:
    """A string literal holding U+0000 (`"\\u0000"`, `"\\u{0}"`): PostgreSQL text can't."""
    found = False

    class Strings(Visitor):
        def enter_string_value(self, node: StringValueNode, *_args: Any) -> Any:
            nonlocal found
            if "\x00" in node.value:
                found = True
                return BREAK
            return None

    visit(document, Strings())
    return found


@lru_cache(maxsize=1024)
def _validate(
    schema: GraphQLSchema, parsed: _Document, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate(schema, parsed.document, rules)


class _Reads(Mapping[str, Any]):
    """The request's variables, noting whether the analysis looked at any of them (an
    analysis that did not holds for every request of the same document)."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables
        self.read = False

    def __bool__(self) -> bool:
        return True  # `variables or {}` must keep this mapping, even when empty

    def __contains__(self, name: object) -> bool:
        self.read = True
        return name in self.variables

    def __getitem__(self, name: str) -> Any:
        self.read = True
        return self.variables[name]

    def __iter__(self) -> Iterator[str]:
        self.read = True
        return iter(self.variables)

    def __len__(self) -> int:
        self.read = True
        return len(self.variables)


def _analysis(
    schema: GraphQLSchema, parsed: _Document, operation: OperationDefinitionNode,
    limits: QueryLimits, variables: Mapping[str, Any], publishable: bool,
) -> Analysis:
    # the operation by identity (AST nodes hash their whole tree); it lives as long as `parsed`
    key = (schema, id(operation), limits, publishable)
    found = parsed.analyses.get(key)
    if found is not None:
        return found
    reads = _Reads(variables)
    reader = client_fields.reader(schema) if publishable else None
    analysis = analyse(schema, parsed.document, operation, limits, reads, reader)
    if not reads.read:
        parsed.analyses[key] = analysis
    return analysis


class _Results:
    """The latest answers of introspection-only operations (they depend on nothing but the
    schema, the document and its variables)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[int, str, str | None, str], GraphQLExecutionResult] = (
            OrderedDict()
        )

    def get(self, key: tuple[int, str, str | None, str]) -> GraphQLExecutionResult | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: tuple[int, str, str | None, str], result: GraphQLExecutionResult) -> None:
        self.entries[key] = result
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


INTROSPECTION_CACHE = _Results(INTROSPECTION_RESULTS)


def _is_token_limit(error: GraphQLSyntaxError) -> bool:
    return "tokens. Parsing aborted" in error.message


def gate_limits(settings: Settings) -> tuple[QueryLimits, QueryLimits]:
    """The limits with a key, and without one: the same limits, and no field selected twice
    in one selection set."""
    limits = QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_fields=settings.max_query_fields,
        max_cost=settings.max_query_cost,
        max_repeats=settings.max_field_repeats,
    )
    return limits, dataclasses.replace(limits, max_repeats=1)


class Gate(SchemaExtension):
    def __init__(self, settings: Settings, limits: tuple[QueryLimits, QueryLimits] | None = None
                 ) -> None:
        super().__init__()
        self.settings = settings
        self.limits, self.keyless_limits = limits or gate_limits(settings)
        self.cache_key: tuple[int, str, str | None, str] | None = None
        self.parsed: _Document | None = None

    @classmethod
    def factory(cls, settings: Settings) -> Callable[[], Gate]:
        """A new Gate per operation, sharing the limits worked out once."""
        limits = gate_limits(settings)
        return lambda: cls(settings, limits)

    def on_operation(self) -> Iterator[None]:
        """Once the operation has run: refused amounts get their code and path, then any
        unexpected error is masked (what AmountErrors and MaskUnexpectedErrors do, in the
        same order, without two more extensions per request)."""
        yield
        place_amount_errors(self.execution_context)
        mask_unexpected(self.execution_context)

    def _principal(self) -> Any:
        return getattr(self.execution_context.context, "principal", None)

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.graphql_document is None and ec.query:
            keyless = self._principal() is None
            max_tokens = (
                min(KEYLESS_MAX_TOKENS, self.settings.max_tokens)
                if keyless else self.settings.max_tokens
            )
            ec.parse_options["max_tokens"] = max_tokens  # should anything parse after us
            try:
                parsed = _parse(ec.query, max_tokens)
            except GraphQLSyntaxError as error:
                if not _is_token_limit(error):
                    raise
                if keyless:
                    raise unauthenticated(ec.context) from None
                raise GraphQLError(
                    f"the document has more than {max_tokens} tokens",
                    extensions={"code": TOO_MANY_TOKENS, "limit": max_tokens},
                ) from None
            if parsed.has_nul:
                raise GraphQLError(NUL_MESSAGE, extensions={"code": BAD_REQUEST})
            ec.graphql_document = parsed.document
            self.parsed = parsed
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        operation = operation_of(document, ec.operation_name) if document else None
        if document is None:  # pragma: no cover - Strawberry parses or refuses before
            yield
            return
        if operation is None:
            ec.pre_execution_errors = [self._no_operation(document)]
            yield
            return
        schema = ec.schema._schema
        principal = self._principal()
        limits = self.limits if principal is not None else self.keyless_limits
        publishable = principal is not None and not principal.is_secret
        variables = ec.variables if isinstance(ec.variables, dict) else {}
        parsed = self.parsed
        if parsed is None or parsed.document is not document:  # pragma: no cover - parsed
            parsed = _Document(document)  # by someone else: nothing to reuse
        analysis = _analysis(schema, parsed, operation, limits, variables, publishable)
        errors = analysis.limit_errors(limits) or access_errors(ec.context, analysis)
        if not errors:
            errors = _validate(schema, parsed, tuple(ec.validation_rules))
            if not errors and operation.operation is OperationType.QUERY and is_introspection(
                analysis.root_fields
            ):
                self.cache_key = self._introspection_key(schema)
        ec.pre_execution_errors = errors
        yield

    def _no_operation(self, document: DocumentNode) -> GraphQLError:
        ec = self.execution_context
        response = getattr(ec.context, "response", None)
        if response is not None:
            response.status_code = 400
        if ec.operation_name is not None:
            message = f"the document has no operation named {ec.operation_name!r}"
        elif any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
            message = "the document has more than one operation; name the one to run in " \
                      "`operationName`"
        else:
            message = "the document has no operation"
        return GraphQLError(message, extensions={"code": BAD_REQUEST})

    def _introspection_key(self, schema: GraphQLSchema) -> tuple[int, str, str | None, str]:
        ec = self.execution_context
        variables = json.dumps(ec.variables or {}, sort_keys=True, default=str)
        return (id(schema), ec.query or "", ec.operation_name, variables)

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        if self.cache_key is None:
            yield
            return
        cached = INTROSPECTION_CACHE.get(self.cache_key)
        if cached is not None:
            ec.result = cached
        yield
        result = ec.result
        if cached is None and isinstance(result, GraphQLExecutionResult) and not result.errors:
            INTROSPECTION_CACHE.put(self.cache_key, result)
