"""Chart values checked against the key structure of a chart's values.yaml, so a typo'd key fails a test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KeyTree = Mapping[str, "KeyTree | None"]
# In a KeyTree, FREE_FORM marks a key whose contents the chart passes through unchecked (labels, env,
# meshConfig, an Alertmanager config); None marks a leaf (a scalar or a list).
FREE_FORM: KeyTree = {"*": None}


def unknown_value_paths(values: Mapping[str, Any], known: KeyTree, prefix: str = "") -> list[str]:
    """Dotted paths in `values` that `known` (a chart's values.yaml key structure) does not have."""
    unknown: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in known:
            unknown.append(path)
            continue
        subtree = known[key]
        if subtree is None or subtree is FREE_FORM or not isinstance(value, Mapping):
            continue
        unknown.extend(unknown_value_paths(value, subtree, f"{path}."))
    return unknown
