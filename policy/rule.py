"""A policy rule: which resource types it looks at and the plain check that lists what is wrong."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Props = Mapping[str, Any]
Check = Callable[[str, Props], list[str]]
"""(resource type, inputs) -> one message per violation, empty when the resource complies."""


@dataclass(frozen=True)
class Rule:
    """One mandatory guarantee of the platform."""

    name: str
    description: str
    resource_types: frozenset[str]
    check: Check
    # Third-party charts are pinned and tuned through their values; hardening rules judge our own objects.
    covers_chart_objects: bool = False

    def applies_to(self, resource_type: str, *, from_chart: bool = False) -> bool:
        return resource_type in self.resource_types and (self.covers_chart_objects or not from_chart)


def lookup(props: Any, *path: str) -> Any:
    """`props[a][b]...`, or None where a level is missing or not a mapping (works on policy proxies too)."""
    node = props
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def items(value: Any) -> list[Any]:
    """A list-valued input as a list; anything else (missing, a string) as empty."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


StackCheck = Callable[[Iterable[tuple[str, str, Props]]], list[tuple[str, str, str]]]
"""Every (resource type, name, inputs) of the stack -> one (type, name, message) per violation."""


@dataclass(frozen=True)
class StackRule:
    """A guarantee about how resources relate (a workload and its PodDisruptionBudget), judged over the whole stack."""

    name: str
    description: str
    check: StackCheck
