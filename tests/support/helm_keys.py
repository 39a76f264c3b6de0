"""Chart values checked against the pinned chart's own `values.yaml` (tests/data/upstream/charts/), so a typo'd
or renamed key fails a test. The key structure is read from the data, never copied by hand.

- `chart_defaults(chart, version)`: a chart's defaults, Istio's `_internal_defaults_do_not_set` unwrapped,
  release placeholders (`{{ tag }}`) filled, and for kube-prometheus-stack its subcharts' defaults under their keys;
- `unknown_chart_paths(values, defaults)`: dotted paths the defaults do not have. A default that is an empty map
  or list, a scalar or null ends the check (the chart takes what it is given there: `podAnnotations`,
  `nodeSelector`, `extraArgs`); `pass_through` names maps the chart hands on whole (an Alertmanager config).

`unknown_value_paths` with a hand-written `KeyTree` remains for charts that have no data here yet.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"
CHARTS = UPSTREAM / "charts"

KeyTree = Mapping[str, "KeyTree | None"]
FREE_FORM: KeyTree = {"*": None}

# Rendered chart name -> its directory under tests/data/upstream/charts/ (Istio's charts are stored by role).
CHART_DIRS = {"base": "istio-base", "gateway": "istio-gateway"}
# kube-prometheus-stack 88.5.3 Chart.yaml dependencies (name == values key; no aliases) with their pins.
SUBCHARTS: dict[tuple[str, str], dict[str, tuple[str, str]]] = {
    ("kube-prometheus-stack", "88.5.3"): {
        "grafana": ("grafana", "12.11.1"),
        "kube-state-metrics": ("kube-state-metrics", "8.4.0"),
        "prometheus-node-exporter": ("prometheus-node-exporter", "4.56.1"),
        "prometheus-windows-exporter": ("prometheus-windows-exporter", "0.12.8"),
    }
}
# Release-time placeholders some source trees keep (knative/operator hack/generate-helm.sh fills them).
_PLACEHOLDER = re.compile(r"\{\{ *(tag|version) *\}\}")


def chart_dir(chart: str, version: str) -> Path:
    return CHARTS / CHART_DIRS.get(chart, chart) / version.removeprefix("v")


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(merged.get(key), Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@cache
def chart_defaults(chart: str, version: str) -> dict[str, Any]:
    """The pinned chart's default values (with its subcharts' under their keys)."""
    directory = chart_dir(chart, version)
    text = _PLACEHOLDER.sub("placeholder", (directory / "values.yaml").read_text())
    values: dict[str, Any] = yaml.safe_load(text) or {}
    # Istio's charts nest every default under `_internal_defaults_do_not_set` (a Helm workaround; users set the
    # keys at the top level, see the comment at the top of each values.yaml).
    values = _merge(values.pop("_internal_defaults_do_not_set", {}) or {}, values)
    for key, (sub, sub_version) in SUBCHARTS.get((directory.parent.name, directory.name), {}).items():
        values[key] = _merge(chart_defaults(sub, sub_version), values.get(key) or {})
    return values


def unknown_chart_paths(
    values: Mapping[str, Any], defaults: Mapping[str, Any], *, pass_through: Collection[str] = (), prefix: str = ""
) -> list[str]:
    """Dotted paths of `values` that the chart's `defaults` do not have."""
    unknown: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            unknown.append(path)
            continue
        default = defaults[key]
        if path in pass_through or not isinstance(value, Mapping) or not isinstance(default, Mapping) or not default:
            continue
        unknown += unknown_chart_paths(value, default, pass_through=pass_through, prefix=f"{path}.")
    return unknown


def value_paths(values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every leaf path of a values map (what a count of 'value paths checked' counts)."""
    paths: list[str] = []
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            paths += value_paths(value, f"{prefix}{key}.")
        else:
            paths.append(f"{prefix}{key}")
    return paths


def unknown_value_paths(values: Mapping[str, Any], known: KeyTree, prefix: str = "") -> list[str]:
    """Dotted paths in `values` that `known` (a hand-written key structure) does not have."""
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
