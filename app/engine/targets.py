"""Product targeting (`applicable_to`) and application rules (reference §2.7.1, §3.2, §3.4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.engine.model import ApplicableTo, ApplicationRule, Target, TargetObject, TargetUnit
from app.engine.state import Line


@dataclass(frozen=True, slots=True)
class Pick:
    """`units` of `line` selected for a discount under `target` (None = no targeting)."""

    line: Line
    units: int
    target: Target | None


def target_matches(target: Target, line: Line) -> bool:
    if target.object is TargetObject.PRODUCTS_COLLECTION:
        return target.id in line.collection_ids
    if target.object is TargetObject.SKU:
        return target.id == line.sku_id or (
            target.source_id is not None and target.source_id == line.source_id
        )
    return target.id == line.product_id or (
        target.source_id is not None
        and target.source_id in (line.product_source_id, line.source_id)
    )


@dataclass(frozen=True, slots=True)
class CompiledTargets:
    included: tuple[Target, ...]
    excluded: tuple[Target, ...]
    included_all: bool

    @property
    def restricts(self) -> bool:
        return bool(self.included or self.excluded) and not self.included_all

    def target_for(self, line: Line) -> tuple[bool, Target | None]:
        """(applies, target) for one line; excluded wins over included."""
        if any(target_matches(t, line) for t in self.excluded):
            return False, None
        for target in self.included:
            if target_matches(target, line):
                return True, target
        if self.included_all or not self.included:
            return True, None
        return False, None

    def picks(self, lines: Sequence[Line], once: bool, scale: int = 1) -> list[Pick]:
        """The units each target discounts; `scale` multiplies the targets' explicit quantity
        limits (complete bundles)."""
        groups: dict[int, tuple[Target | None, list[Line]]] = {}
        for line in lines:
            if line.quantity <= 0 or (once and line.touched):
                continue
            applies, target = self.target_for(line)
            if not applies:
                continue
            key = id(target)
            groups.setdefault(key, (target, []))[1].append(line)
        result: list[Pick] = []
        for target, group in groups.values():
            result.extend(apply_application_rule(target, group, scale))
        result.sort(key=lambda p: p.line.index)
        return result


def compile_targets(sources: Sequence[ApplicableTo]) -> CompiledTargets | None:
    if not sources:
        return None
    included: list[Target] = []
    excluded: list[Target] = []
    for src in sources:
        included.extend(src.included)
        excluded.extend(src.excluded)
    return CompiledTargets(tuple(included), tuple(excluded), any(s.included_all for s in sources))


ALL_ITEMS = CompiledTargets((), (), True)


def _selected(n: int, skip: int, repeat: int) -> bool:
    """Resource #n (1-based, after sorting) is discounted iff n > skip and every `repeat`-th."""
    return n > skip and (n - skip - 1) % max(1, repeat) == 0


def apply_application_rule(
    target: Target | None, lines: Sequence[Line], scale: int = 1
) -> list[Pick]:
    if target is None:
        return [Pick(line, line.quantity, None) for line in lines]
    rule = target.effect
    ordered = list(lines)
    if rule in (ApplicationRule.APPLY_TO_CHEAPEST, ApplicationRule.APPLY_FROM_CHEAPEST):
        ordered.sort(key=lambda ln: (ln.price, ln.index))
    elif rule in (
        ApplicationRule.APPLY_TO_MOST_EXPENSIVE,
        ApplicationRule.APPLY_FROM_MOST_EXPENSIVE,
    ):
        ordered.sort(key=lambda ln: (-ln.price, ln.index))
    only_first = rule in (
        ApplicationRule.APPLY_TO_CHEAPEST,
        ApplicationRule.APPLY_TO_MOST_EXPENSIVE,
    )
    units: dict[int, int] = {}
    order: list[Line] = []
    n = 0
    taken = 0
    for line in ordered:
        resources = line.quantity if target.target is TargetUnit.UNIT else 1
        for _ in range(resources):
            n += 1
            if not _selected(n, target.skip_initially, target.repeat):
                continue
            if line.index not in units:
                units[line.index] = 0
                order.append(line)
            units[line.index] += 1 if target.target is TargetUnit.UNIT else line.quantity
            taken += 1
            if only_first:
                break
        if only_first and taken:
            break
    picks: list[Pick] = []
    remaining = target.aggregated_quantity_limit
    if remaining is not None:
        remaining *= scale
    for line in order:
        count = units[line.index]
        if target.quantity_limit is not None:
            count = min(count, target.quantity_limit * scale)
        if remaining is not None:
            count = min(count, remaining)
            remaining -= count
        if count > 0:
            picks.append(Pick(line, count, target))
    return picks
