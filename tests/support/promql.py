"""PromQL as our dashboards and alert rules write it: the metric names of an expression, and an evaluator of
that subset over an in-memory series store (the Prometheus of the dashboard previews).

Expressions are parsed by `promql-parser` (GreptimeTeam's Rust parser, Prometheus 2.45 grammar). The
evaluator follows Prometheus v3.14.0, the version kube-prometheus-stack 88.5.3 deploys (its values.yaml,
`prometheus.prometheusSpec.image.tag`), read at that tag:
- instant selectors take a series' newest sample in (t - 5m, t] (`defaultLookbackDelta`, promql/engine.go),
  none if that sample is a staleness marker (a scrape that no longer exposed the series);
- range selectors take the samples in (t - range, t] (the start is exclusive since 3.0);
- `rate` / `increase` extrapolate as `extrapolatedRate` in promql/functions.go does (counter resets,
  extrapolation to the window's edges unless the gap exceeds 1.1 x the average interval, never below zero);
- `histogram_quantile` of classic buckets is `BucketQuantile` of promql/quantile.go (coalesced `le`,
  monotonicity forced, linear interpolation, the second-highest bound when the rank falls in +Inf).
Anything else (offsets, `@`, subqueries, `group_left`, functions not listed in `FUNCTIONS`) raises
`Unsupported`, so a panel the previewer cannot draw is an error, never an empty chart.
"""

from __future__ import annotations

import itertools
import math
import operator
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import promql_parser as pp
from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
"""A series' label set, sorted, `__name__` included while the series keeps its name."""
Vector = dict[Labels, float]
Value = Vector | float

LOOKBACK_S = 300.0
STALE = float("nan")  # Prometheus writes a special NaN; any NaN sample here is a staleness marker
NAME = "__name__"


class Unsupported(ValueError):
    """The expression uses PromQL the evaluator does not implement."""


def parse(expr: str) -> pp.Expr:
    try:
        return pp.parse(expr)
    except ValueError as error:  # the Rust parser's message names the problem, not the expression
        raise ValueError(f"invalid PromQL {expr!r}: {error}") from None


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (every vector and range selector names one)."""
    names: set[str] = set()

    def visit(node: pp.Expr) -> None:
        selector = node.vector_selector if isinstance(node, pp.MatrixSelector) else node
        if isinstance(selector, pp.VectorSelector):
            if not selector.name:
                raise Unsupported(f"a selector without a metric name in {expr!r}")
            names.add(selector.name)

    pp.walk(parse(expr), pre_visit=lambda node: visit(node) or True)
    return names


# --- the series store -------------------------------------------------------------------------------------

def exposition_series(text: str) -> set[str]:
    """Every series name an exposition declares: samples, and the families a HELP/TYPE line announces.

    prometheus-client writes a labelled family's HELP/TYPE before any label set is used, but no sample;
    its parser names a counter family without `_total` and a histogram without its parts."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{part}" for part in ("_bucket", "_sum", "_count"))
        elif family.type == "summary":
            names.update((family.name, f"{family.name}_sum", f"{family.name}_count"))
        else:
            names.add(family.name)
    return names


def _labels(mapping: dict[str, str]) -> Labels:
    return tuple(sorted(mapping.items()))


@dataclass
class SeriesStore:
    """Samples per series, appended in time order, as Prometheus holds them after scraping each target."""

    series: dict[Labels, tuple[list[float], list[float]]] = field(default_factory=dict)
    _by_name: dict[str, set[Labels]] = field(default_factory=lambda: defaultdict(set))
    _by_job: dict[str, set[Labels]] = field(default_factory=lambda: defaultdict(set))

    def append(self, labels: Labels, t: float, value: float) -> None:
        times, values = self.series.setdefault(labels, ([], []))
        if times and t <= times[-1]:
            raise ValueError(f"sample at {t} is not after the last one of {dict(labels)} ({times[-1]})")
        times.append(t)
        values.append(value)
        self._by_name[dict(labels)[NAME]].add(labels)

    def scrape(self, t: float, job: str, text: str | None) -> None:
        """One scrape of target `job` at `t`: its samples with `job`/`instance` attached, `up`, and a staleness
        marker for every series the target exposed before and not now (None: the scrape failed)."""
        seen: set[Labels] = set()
        for family in text_string_to_metric_families(text or ""):
            for sample in family.samples:
                labels = _labels({**sample.labels, NAME: sample.name, "job": job, "instance": job})
                self.append(labels, t, float(sample.value))
                seen.add(labels)
        for labels in self._by_job[job] - seen:
            if not math.isnan(self.series[labels][1][-1]):
                self.append(labels, t, STALE)
        self._by_job[job] |= seen
        self.append(_labels({NAME: "up", "job": job, "instance": job}), t, 0.0 if text is None else 1.0)

    def select_name(self, name: str) -> set[Labels]:
        """Every series stored under metric `name`."""
        return self._by_name.get(name, set())

    def select(self, selector: pp.VectorSelector) -> list[Labels]:
        if selector.offset or selector.at is not None:
            raise Unsupported(f"offset / @ in {selector}")
        if selector.matchers.or_matchers:
            raise Unsupported(f"'or' matchers in {selector}")
        matchers = [_matcher(m) for m in selector.matchers.matchers]
        return [labels for labels in self._by_name.get(selector.name or "", ())
                if all(match(dict(labels).get(name, "")) for name, match in matchers)]

    def instant(self, labels: Labels, t: float) -> float | None:
        times, values = self.series[labels]
        i = bisect_right(times, t) - 1
        if i < 0 or times[i] <= t - LOOKBACK_S or math.isnan(values[i]):
            return None
        return values[i]

    def window(self, labels: Labels, t: float, range_s: float) -> list[tuple[float, float]]:
        times, values = self.series[labels]
        lo, hi = bisect_right(times, t - range_s), bisect_right(times, t)
        return [(times[i], values[i]) for i in range(lo, hi) if not math.isnan(values[i])]


def _matcher(m: pp.Matcher) -> tuple[str, Callable[[str], bool]]:
    import re

    value = m.value
    if m.op == pp.MatchOp.Equal:
        return m.name, lambda v: v == value
    if m.op == pp.MatchOp.NotEqual:
        return m.name, lambda v: v != value
    pattern = re.compile(f"^(?:{value})$")  # PromQL regexes are fully anchored
    if m.op == pp.MatchOp.Re:
        return m.name, lambda v: pattern.match(v) is not None
    return m.name, lambda v: pattern.match(v) is None


# --- functions ----------------------------------------------------------------------------------------------

def _extrapolated(samples: list[tuple[float, float]], t: float, range_s: float, is_rate: bool) -> float | None:
    """promql/functions.go `extrapolatedRate` for float counters without start timestamps."""
    if len(samples) < 2:
        return None
    (first_t, first_v), (last_t, last_v) = samples[0], samples[-1]
    result = last_v - first_v
    for (_, previous), (_, current) in itertools.pairwise(samples):
        if current < previous:  # a counter reset: the counter restarted from zero
            result += previous
    duration_to_start, duration_to_end = first_t - (t - range_s), t - last_t
    sampled = last_t - first_t
    average = sampled / (len(samples) - 1)
    threshold = average * 1.1
    if duration_to_start >= threshold:
        duration_to_start = average / 2
    if result > 0 and first_v >= 0:  # never extrapolate the counter below zero
        duration_to_start = min(duration_to_start, sampled * (first_v / result))
    if duration_to_end >= threshold:
        duration_to_end = average / 2
    factor = (sampled + duration_to_start + duration_to_end) / sampled if sampled else 1.0
    if is_rate:
        factor /= range_s
    return result * factor


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """promql/quantile.go `BucketQuantile`: (upper bound, cumulative count) pairs -> the q-quantile."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets)
    if not ordered or not math.isinf(ordered[-1][0]):
        return math.nan
    merged: list[list[float]] = []
    for bound, count in ordered:  # coalesceBuckets
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    for i in range(1, len(merged)):  # ensureMonotonic (decreases removed)
        merged[i][1] = max(merged[i][1], merged[i - 1][1])
    if len(merged) < 2 or merged[-1][1] == 0:
        return math.nan
    rank = q * merged[-1][1]
    b = bisect_left([count for _, count in merged[:-1]], rank)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * (rank / count)


def _drop_name(labels: Labels) -> Labels:
    return tuple(item for item in labels if item[0] != NAME)


_RANGE_FUNCTIONS: dict[str, Callable[[list[tuple[float, float]], float, float], float | None]] = {
    "rate": lambda s, t, r: _extrapolated(s, t, r, is_rate=True),
    "increase": lambda s, t, r: _extrapolated(s, t, r, is_rate=False),
    "avg_over_time": lambda s, t, r: sum(v for _, v in s) / len(s) if s else None,
    "max_over_time": lambda s, t, r: max(v for _, v in s) if s else None,
    "min_over_time": lambda s, t, r: min(v for _, v in s) if s else None,
}
FUNCTIONS = {*_RANGE_FUNCTIONS, "histogram_quantile", "clamp_min", "clamp_max", "time", "abs"}
AGGREGATIONS = {"sum", "avg", "min", "max", "count", "topk", "bottomk"}

_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
    "/": lambda a, b: a / b if b else (math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * (
        math.copysign(1, b))),
}
_COMPARISON: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}
_SETS = {"and", "or", "unless"}


# --- evaluation ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluator:
    """Instant queries over a store at a time `t` (Unix seconds); a range query is one per step."""

    store: SeriesStore

    def query(self, expr: str, t: float) -> Value:
        return self.eval(parse(expr), t)

    def query_range(self, expr: str, times: Iterable[float]) -> dict[Labels, list[tuple[float, float]]]:
        """Each output series' points over `times`, as Grafana draws a range query."""
        node = parse(expr)
        out: dict[Labels, list[tuple[float, float]]] = defaultdict(list)
        for t in times:
            value = self.eval(node, t)
            for labels, v in (value.items() if isinstance(value, dict) else [((), value)]):
                out[labels].append((t, v))
        return dict(out)

    def eval(self, node: pp.Expr, t: float) -> Value:
        if isinstance(node, pp.NumberLiteral):
            return float(node.val)
        if isinstance(node, pp.ParenExpr):
            return self.eval(node.expr, t)
        if isinstance(node, pp.UnaryExpr):
            value = self.eval(node.expr, t)
            if not str(node).startswith("-"):
                return value
            return {_drop_name(k): -v for k, v in value.items()} if isinstance(value, dict) else -value
        if isinstance(node, pp.VectorSelector):
            out: Vector = {}
            for labels in self.store.select(node):
                value = self.store.instant(labels, t)
                if value is not None:
                    out[labels] = value
            return out
        if isinstance(node, pp.Call):
            return self._call(node, t)
        if isinstance(node, pp.AggregateExpr):
            return self._aggregate(node, t)
        if isinstance(node, pp.BinaryExpr):
            return self._binary(node, t)
        raise Unsupported(f"{type(node).__name__}: {node}")

    def _call(self, node: pp.Call, t: float) -> Value:
        name, args = node.func.name, list(node.args)
        if name not in FUNCTIONS:
            raise Unsupported(f"function {name}()")
        if name in _RANGE_FUNCTIONS:
            (matrix,) = args
            if not isinstance(matrix, pp.MatrixSelector):
                raise Unsupported(f"{name}() of {type(matrix).__name__} (subqueries are not implemented)")
            range_s = matrix.range.total_seconds()
            out: Vector = {}
            for labels in self.store.select(matrix.vector_selector):
                value = _RANGE_FUNCTIONS[name](self.store.window(labels, t, range_s), t, range_s)
                if value is not None:
                    out[_drop_name(labels)] = value
            return out
        if name == "time":
            return t
        if name == "histogram_quantile":
            q, vector = self._scalar(args[0], t), self._vector(args[1], t)
            groups: dict[Labels, list[tuple[float, float]]] = defaultdict(list)
            for labels, value in vector.items():
                le = dict(labels).get("le")
                if le is None:
                    continue
                groups[tuple(item for item in labels if item[0] not in (NAME, "le"))].append((float(le), value))
            return {labels: bucket_quantile(q, buckets) for labels, buckets in groups.items()}
        vector = self._vector(args[0], t)
        if name == "abs":
            return {_drop_name(k): abs(v) for k, v in vector.items()}
        bound = self._scalar(args[1], t)
        pick = max if name == "clamp_min" else min
        return {_drop_name(k): pick(v, bound) for k, v in vector.items()}

    def _aggregate(self, node: pp.AggregateExpr, t: float) -> Vector:
        op = str(node.op)
        if op not in AGGREGATIONS:
            raise Unsupported(f"aggregation {op}")
        param = self._scalar(node.param, t) if node.param is not None else None
        vector = self._vector(node.expr, t)
        modifier = node.modifier
        labels_of: Callable[[Labels], Labels]
        if modifier is None:
            labels_of = lambda labels: ()
        elif modifier.type == pp.AggModifierType.By:
            keep = set(modifier.labels)
            labels_of = lambda labels: tuple(i for i in labels if i[0] in keep)
        else:
            drop = {*modifier.labels, NAME}
            labels_of = lambda labels: tuple(i for i in labels if i[0] not in drop)
        groups: dict[Labels, list[tuple[Labels, float]]] = defaultdict(list)
        for labels, value in vector.items():
            groups[labels_of(labels)].append((labels, value))
        if op in ("topk", "bottomk"):
            if param is None:
                raise ValueError(f"{op} needs a parameter")
            out: Vector = {}
            for members in groups.values():
                ranked = sorted(members, key=lambda m: m[1], reverse=op == "topk")
                out.update(ranked[: max(int(param), 0)])
            return out
        reduce: Callable[[list[float]], float] = {
            "sum": sum, "min": min, "max": max, "count": len, "avg": lambda vs: sum(vs) / len(vs),
        }[op]
        return {group: float(reduce([v for _, v in members])) for group, members in groups.items()}

    def _binary(self, node: pp.BinaryExpr, t: float) -> Value:
        op = str(node.op)
        lhs, rhs = self.eval(node.lhs, t), self.eval(node.rhs, t)
        modifier = node.modifier
        return_bool = bool(modifier and modifier.return_bool)
        if modifier is not None and modifier.card not in (pp.VectorMatchCardinality.OneToOne,
                                                          pp.VectorMatchCardinality.ManyToMany):
            raise Unsupported(f"group_left / group_right in {node}")
        if op in _SETS:
            return self._set(op, self._as_vector(lhs, node), self._as_vector(rhs, node), modifier)
        if op not in _ARITHMETIC and op not in _COMPARISON:
            raise Unsupported(f"operator {op}")

        def apply(a: float, b: float, keep: float) -> float | None:
            if op in _ARITHMETIC:
                return _ARITHMETIC[op](a, b)
            holds = _COMPARISON[op](a, b)
            return float(holds) if return_bool else (keep if holds else None)

        if not isinstance(lhs, dict) and not isinstance(rhs, dict):
            if op in _COMPARISON and not return_bool:
                raise ValueError(f"comparisons between scalars must use bool: {node}")
            result = apply(lhs, rhs, lhs)
            return math.nan if result is None else result
        comparison_keeps_name = op in _COMPARISON and not return_bool
        out: Vector = {}
        if not isinstance(lhs, dict) or not isinstance(rhs, dict):
            vector, scalar = (lhs, rhs) if isinstance(lhs, dict) else (rhs, lhs)
            assert isinstance(vector, dict) and not isinstance(scalar, dict)
            for labels, v in vector.items():
                a, b = (v, scalar) if vector is lhs else (scalar, v)
                result = apply(a, b, v)
                if result is not None:
                    out[labels if comparison_keeps_name else _drop_name(labels)] = result
            return out
        key = _match_key(modifier)
        right = {key(labels): (labels, v) for labels, v in rhs.items()}
        for labels, v in lhs.items():
            match = right.get(key(labels))
            if match is None:
                continue
            result = apply(v, match[1], v)
            if result is not None:
                out[labels if comparison_keeps_name else _drop_name(labels)] = result
        return out

    def _set(self, op: str, lhs: Vector, rhs: Vector, modifier: pp.BinModifier | None) -> Vector:
        key = _match_key(modifier)
        right = {key(labels) for labels in rhs}
        if op == "and":
            return {k: v for k, v in lhs.items() if key(k) in right}
        if op == "unless":
            return {k: v for k, v in lhs.items() if key(k) not in right}
        left = {key(labels) for labels in lhs}
        return {**lhs, **{k: v for k, v in rhs.items() if key(k) not in left}}

    def _as_vector(self, value: Value, node: pp.Expr) -> Vector:
        if not isinstance(value, dict):
            raise TypeError(f"set operator on a scalar: {node}")
        return value

    def _vector(self, node: pp.Expr, t: float) -> Vector:
        value = self.eval(node, t)
        if not isinstance(value, dict):
            raise TypeError(f"expected an instant vector, got a scalar: {node}")
        return value

    def _scalar(self, node: pp.Expr, t: float) -> float:
        value = self.eval(node, t)
        if not isinstance(value, float):
            raise Unsupported(f"a vector where a scalar is expected (scalar() is not implemented): {node}")
        return value


def _match_key(modifier: pp.BinModifier | None) -> Callable[[Labels], Labels]:
    matching = modifier.matching if modifier is not None else None
    if matching is None:
        return _drop_name
    names = set(matching.labels)
    if matching.type == pp.LabelModifierType.Include:  # on (...)
        return lambda labels: tuple(i for i in labels if i[0] in names)
    return lambda labels: tuple(i for i in labels if i[0] not in names and i[0] != NAME)  # ignoring (...)


def check_supported(expr: str) -> None:
    """Raise `Unsupported` (or ValueError) unless the evaluator can draw `expr`: evaluating it over an empty
    store visits every node, since no operator short-cuts its operands."""
    Evaluator(SeriesStore()).query(expr, 0.0)


def duration_s(text: str) -> float:
    return pp.parse_duration(text).total_seconds() if text else 0.0

