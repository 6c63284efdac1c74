"""Each enum is declared once (engine, db or the service whose option it is) and the GraphQL
schema exposes those very classes: nothing to keep in step by hand."""

from __future__ import annotations

import importlib
import pkgutil
from enum import Enum

import app
from app.api import enums
from app.api.schema import build_schema


def _app_enums() -> list[type[Enum]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    found: list[type[Enum]] = []
    seen: set[type[Enum]] = set()
    stack: list[type] = [Enum]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("app.") and sub not in seen:
                seen.add(sub)
                found.append(sub)
    return found


def _schema_enums() -> dict[str, type[Enum]]:
    schema = build_schema()
    return {
        name: graphql_type.wrapped_cls
        for name, graphql_type in schema._schema.type_map.items()
        if hasattr(graphql_type, "wrapped_cls")
    }


def test_no_enum_is_declared_twice() -> None:
    by_values: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for cls in _app_enums():
        members = tuple((m.name, str(m.value)) for m in cls)
        by_values.setdefault(members, []).append(f"{cls.__module__}.{cls.__qualname__}")
    copies = {k: v for k, v in by_values.items() if len(v) > 1}
    assert copies == {}, f"declared more than once: {list(copies.values())}"


def test_the_api_layer_declares_no_enum() -> None:
    declared = [f"{c.__module__}.{c.__qualname__}" for c in _app_enums()
                if c.__module__.startswith("app.api")]
    assert declared == []


def test_every_graphql_enum_is_the_declaring_class() -> None:
    in_schema = _schema_enums()
    assert in_schema == enums.EXPOSED
    assert len(in_schema) == 27
    homes = {name: cls.__module__ for name, cls in in_schema.items()}
    assert homes["OrderStatus"] == "app.db.orders"
    assert homes["DiscountType"] == "app.engine.model"
    assert homes["StackingRulesType"] == "app.engine.model"
    assert homes["QualificationScenario"] == "app.services.checkout.qualify"
    assert all(m.split(".")[1] in {"engine", "db", "services"} for m in homes.values()), homes


def test_graphql_values_are_the_member_names() -> None:
    schema = build_schema()._schema
    for name, cls in enums.EXPOSED.items():
        graphql_type = schema.type_map[name]
        assert list(graphql_type.values) == [m.name for m in cls], name
        assert [v.value for v in graphql_type.values.values()] == [m.value for m in cls], name
