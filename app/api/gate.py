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

import json
from collections import OrderedDict
from collections.abc import Iterator
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
from app.api.limits import QueryLimits, analyse, operation_of
from app.engine.error_codes import BAD_REQUEST, TOO_MANY_TOKENS
from app.settings import Settings

NUL_MESSAGE = "a string in the request contains U+0000 (NUL), which no field accepts"
# A request without a key can only introspect; GraphiQL's full introspection query has under
# 200 tokens, so a keyless document gets 400 (parsing 400 tokens takes a few milliseconds).
KEYLESS_MAX_TOKENS = 400
INTROSPECTION_RESULTS = 16  # introspection answers kept (per process)


@lru_cache(maxsize=1024)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=1024)
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
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate(schema, document, rules)


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


class Gate(SchemaExtension):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.limits = QueryLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_fields=settings.max_query_fields,
            max_cost=settings.max_query_cost,
            max_repeats=settings.max_field_repeats,
        )
        # without a key: the same limits, and no field selected twice in one selection set
        self.keyless_limits = QueryLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_fields=settings.max_query_fields,
            max_cost=settings.max_query_cost,
            max_repeats=1,
        )
        self.cache_key: tuple[int, str, str | None, str] | None = None

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
                ec.graphql_document = _parse(ec.query, max_tokens)
            except GraphQLSyntaxError as error:
                if not _is_token_limit(error):
                    raise
                if keyless:
                    raise unauthenticated(ec.context) from None
                raise GraphQLError(
                    f"the document has more than {max_tokens} tokens",
                    extensions={"code": TOO_MANY_TOKENS, "limit": max_tokens},
                ) from None
            if _has_nul(ec.graphql_document):
                ec.graphql_document = None
                raise GraphQLError(NUL_MESSAGE, extensions={"code": BAD_REQUEST})
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
        reader = (
            client_fields.reader(schema)
            if principal is not None and not principal.is_secret else None
        )
        variables = ec.variables if isinstance(ec.variables, dict) else {}
        analysis = analyse(schema, document, operation, limits, variables, reader)
        errors = analysis.limit_errors(limits) or access_errors(ec.context, analysis)
        if not errors:
            errors = _validate(schema, document, tuple(ec.validation_rules))
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
