"""Every stable code the code base answers with is listed in app/engine/error_codes.py.

The scan reads every module of app/ (AST, nothing runs) and finds each place a code leaves
the code base: the code argument of the calls below, `extensions={"code": …}` of GraphQL
errors, `extensions["code"] = …`, and what the functions that compute reason keys return.
Each such code must resolve to strings (a literal, a constant, a local or module variable, an
`if … else …` of those) that `error_codes.ALL` lists. A code carried on from an object that an
emitter already built (`exc.code`, `row.failure_code`, `data["code"]`) or a parameter of an
emitter itself is passed through. Anything else (an f-string, a call) fails the test: a code
must be one of the listed strings, never computed.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.engine import error_codes

APP = Path(__file__).resolve().parents[1] / "app"

# callable name → (position of its code argument, keyword of it)
EMITTERS: dict[str, tuple[int | None, str]] = {
    "fail": (0, "code"),  # services.errors.Checks.fail: payload errors[].code
    "one": (0, "code"),  # ServiceError.one
    "UserError": (0, "code"),  # services.errors.UserError, api.errors.UserError
    "RequestError": (0, "code"),  # engine.stacking: request-level extensions.code
    "RequestProblem": (0, "code"),  # services: request-level extensions.code
    "DefinitionError": (0, "code"),  # services.definitions
    "_enum": (3, "code"),  # services.definitions: DefinitionError(code) of a bad enum value
    "_int": (2, "code"),  # services.definitions: DefinitionError(code) of a bad integer
    "_reason": (0, "code"),  # engine.evaluate: Reason.code
    "_skipped": (2, "key"),  # engine.evaluate: Reason.code of a SKIPPED redeemable
    "Reason": (None, "code"),  # engine.model.Reason
    "bad_input": (0, "reason"),  # api: BAD_USER_INPUT with extensions.reason
    "ApiError": (1, "code"),  # api: extensions.code
    "_refusal": (1, "code"),  # api.limits: extensions.code
    "error_body": (1, "code"),  # api.view: extensions.code of a refused HTTP request
    "Redemption": (None, "failure_code"),  # db: a failed redemption's stored code
}
# functions whose return value (or the first item of the tuple it returns) is a code
RETURNERS = {"rule_area", "skip_key", "exclusive_key", "_first_failure"}
CARRIED_ATTRIBUTES = {"code", "reason", "failure_code"}


@dataclass
class Scan:
    codes: dict[str, set[str]] = field(default_factory=dict)  # code → "file:line" sites
    problems: list[str] = field(default_factory=list)


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        yield name, path, ast.parse(path.read_text(), str(path))


class _Module:
    def __init__(self, name: str, tree: ast.Module) -> None:
        self.name = name
        self.tree = tree
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.imports: dict[str, str] = {}  # local name → "module" or "module:attribute"
        self.globals: dict[str, list[ast.expr]] = {}
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name.split(".")[0]] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{node.module}:{alias.name}"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, []).append(node)
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.globals.setdefault(target.id, []).append(node.value)
            elif (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                  and node.value is not None):
                self.globals.setdefault(node.target.id, []).append(node.value)

    def enclosing(self, node: ast.AST) -> list[ast.AST]:
        """Functions and classes around `node`, innermost first."""
        found = []
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.append(node)
        return found


def _imported(target: str) -> object:
    """`module` or `module:attribute` (an attribute may itself be a module)."""
    module, _, attribute = target.partition(":")
    imported = importlib.import_module(module)
    return getattr(imported, attribute) if attribute else imported


class _Resolver:
    """The strings an expression can be, or the reason it cannot be told."""

    def __init__(self, module: _Module) -> None:
        self.m = module

    def values(self, expr: ast.expr, at: ast.AST) -> set[str] | str:
        if isinstance(expr, ast.Constant):
            if expr.value is None:
                return set()
            if isinstance(expr.value, str):
                return {expr.value}
            return f"not a string: {ast.unparse(expr)}"
        if isinstance(expr, ast.IfExp):
            return self._union([expr.body, expr.orelse], at)
        if isinstance(expr, ast.BoolOp):
            return self._union(expr.values, at)
        if isinstance(expr, ast.Subscript):
            return set()  # a stored value (data["code"]) carried on
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr)
        if isinstance(expr, ast.Name):
            return self._name(expr, at)
        if isinstance(expr, ast.Call):
            callee = expr.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if name in RETURNERS:
                return set()  # checked where it returns
            if (name == "get" and isinstance(callee, ast.Attribute)
                    and isinstance(callee.value, ast.Name)):
                table = self.m.globals.get(callee.value.id, [])
                if len(table) == 1 and isinstance(table[0], ast.Dict):
                    return self._union([*table[0].values, *expr.args[1:]], at)  # CODES.get
            return f"computed by a call: {ast.unparse(expr)}"
        return f"computed: {ast.unparse(expr)}"

    def _union(self, exprs: list[ast.expr], at: ast.AST) -> set[str] | str:
        out: set[str] = set()
        for item in exprs:
            values = self.values(item, at)
            if isinstance(values, str):
                return values
            out |= values
        return out

    def _attribute(self, expr: ast.Attribute) -> set[str] | str:
        base = expr.value
        if isinstance(base, ast.Name) and base.id in self.m.imports:
            value = getattr(_imported(self.m.imports[base.id]), expr.attr)
            return {value} if isinstance(value, str) else f"not a string: {ast.unparse(expr)}"
        if expr.attr in CARRIED_ATTRIBUTES:
            return set()  # carried on from an object an emitter built
        return f"an attribute that is no code: {ast.unparse(expr)}"

    def _name(self, expr: ast.Name, at: ast.AST) -> set[str] | str:
        for scope in self.m.enclosing(at):
            if isinstance(scope, ast.ClassDef):
                continue
            arguments = scope.args
            params = {a.arg for a in [*arguments.posonlyargs, *arguments.args,
                                      *arguments.kwonlyargs]}
            if expr.id in params:
                around = {s.name for s in self.m.enclosing(at)}  # functions and classes
                if around & (EMITTERS.keys() | RETURNERS):
                    return set()  # an emitter passing its own code argument on
                return (f"parameter {expr.id!r} of {scope.name}: add {scope.name} to EMITTERS "
                        "so its callers are checked")
            assigned: list[ast.expr] = []
            for node in ast.walk(scope):
                if not isinstance(node, ast.Assign):
                    continue
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == expr.id:
                        assigned.append(node.value)
                    elif isinstance(target, ast.Tuple) and any(
                            isinstance(t, ast.Name) and t.id == expr.id for t in target.elts):
                        if not isinstance(node.value, ast.Call):
                            return f"unpacked from {ast.unparse(node.value)}"
                        assigned.append(node.value)  # a returner's (code, message)
            if assigned:
                return self._union(assigned, at)
        if expr.id in self.m.globals:
            return self._union(self.m.globals[expr.id], at)
        if expr.id in self.m.imports:
            value = _imported(self.m.imports[expr.id])
            return {value} if isinstance(value, str) else f"not a string: {expr.id}"
        return f"unknown name {expr.id!r}"


def scan() -> Scan:
    result = Scan()
    for name, path, tree in _modules():
        module = _Module(name, tree)
        resolver = _Resolver(module)

        def emitted(expr: ast.expr, at: ast.AST, path: Path = path,
                    resolver: _Resolver = resolver) -> None:
            site = f"{path.relative_to(APP.parent)}:{expr.lineno}"
            values = resolver.values(expr, at)
            if isinstance(values, str):
                result.problems.append(f"{site}: {values}")
                return
            for value in values:
                result.codes.setdefault(value, set()).add(site)

        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = node.func
                called = callee.attr if isinstance(callee, ast.Attribute) else getattr(
                    callee, "id", None)
                if called in EMITTERS:
                    position, keyword = EMITTERS[called]
                    if position is not None and len(node.args) > position:
                        emitted(node.args[position], node)
                    for kw in node.keywords:
                        if kw.arg == keyword:
                            emitted(kw.value, node)
                for kw in node.keywords:
                    if kw.arg == "extensions" and isinstance(kw.value, ast.Dict):
                        _dict_code(kw.value, node, emitted)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "extensions" and isinstance(
                            value, ast.Dict):
                        _dict_code(value, node, emitted)
            elif isinstance(node, ast.AnnAssign | ast.Assign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if (isinstance(target, ast.Name) and target.id == "extensions"
                            and isinstance(node.value, ast.Dict)):
                        _dict_code(node.value, node, emitted)
                    if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                            and target.value.id == "extensions"
                            and isinstance(target.slice, ast.Constant)
                            and target.slice.value == "code" and node.value is not None):
                        emitted(node.value, node)
            elif isinstance(node, ast.FunctionDef) and node.name in RETURNERS:
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Return) and inner.value is not None:
                        value = inner.value
                        if isinstance(value, ast.Tuple):
                            value = value.elts[0]
                        emitted(value, inner)
    return result


def _dict_code(node: ast.Dict, at: ast.AST, emitted: object) -> None:
    for key, value in zip(node.keys, node.values, strict=True):
        if isinstance(key, ast.Constant) and key.value == "code":
            emitted(value, at)  # type: ignore[operator]


def test_the_scan_understands_every_code_site() -> None:
    assert scan().problems == []


def test_every_emitted_code_is_listed() -> None:
    unlisted = {code: sorted(sites) for code, sites in scan().codes.items()
                if code not in error_codes.ALL}
    assert unlisted == {}, "add these to app/engine/error_codes.py"


def test_every_listed_code_is_emitted() -> None:
    """No stale entries: a code nothing emits any more is taken off the list."""
    assert sorted(error_codes.ALL - set(scan().codes)) == []


def test_the_scan_sees_the_codes_it_should() -> None:
    """A guard on the scanner itself: known codes of each kind of site are found."""
    codes = scan().codes
    for code in ("voucher_expired", "applicable_redeemables_limit_exceeded",
                 "customer_rules_violated", "duplicated_redeemables", "duplicate_source_id",
                 "invalid_discount", "UNAUTHENTICATED", "BAD_REQUEST", "QUERY_TOO_DEEP",
                 "GRAPHQL_PARSE_FAILED", "amount_too_large", "json_too_deep"):
        assert code in codes, code


def test_the_groups_partition_the_codes() -> None:
    assert error_codes.ALL == error_codes.REASONS | error_codes.INPUT | error_codes.GRAPHQL
    assert all(c.islower() for c in error_codes.REASONS | error_codes.INPUT)
    assert all(c.isupper() for c in error_codes.GRAPHQL)
    constants = {value for name, value in vars(error_codes).items()
                 if name.isupper() and isinstance(value, str)}
    assert constants == error_codes.ALL
