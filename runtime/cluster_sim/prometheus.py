"""What Prometheus holds after scraping the simulated cluster, and its instant-query API for the collector.

The simulated cluster's Knative exports the series production's cold-start and invocation
measurement reads (runtime/ingest/prometheus_collector.py), under Knative 1.23's names and labels
(runtime/contract/knative_series.py):

- `kn_revision_pods_count` (the autoscaler's ready pods, pkg/reconciler/autoscaling/kpa/metrics.go):
  one sample per scrape interval of every minute, the revision's ready pods in that minute; a revision
  that a rollout replaced reports 0, as its PodAutoscaler does once scaled down, and its series are
  forgotten once their newest sample is older than `RETAIN_S` (no query reads them by then);
- `kn_serving_invocation_duration_seconds_{count,sum}` (the queue-proxy's request histogram,
  pkg/queue/request_metric.go): cumulative per revision, sampled at the end of each minute, with the
  `isf_function` label the queue-proxy PodMonitor copies from the pod's `isf.io/function`;
- `up` of the queue-proxy scrape targets, with the same labels: 1 per scrape while the revision has ready
  pods (one target per revision: the simulated cluster does not name pods), then a staleness marker, as
  Prometheus writes when a target disappears (a stale series is absent from instant queries).

`GET /api/v1/query?query=...&time=...` (Prometheus's HTTP API shape) answers the PromQL forms the
collector sends and refuses any other with Prometheus's `bad_data` error, so a changed query fails
loudly here instead of being answered wrongly:

- `sum by (L, ...) (increase(NAME[Nm]))`;
- `min_over_time(sum by (L, ...) (NAME)[Nm:Ss])` and the same with `avg_over_time`, its steps aligned to
  multiples of S as Prometheus aligns subquery steps;
- `count by (L, ...) (NAME{LABEL!=""})`.

Why a second evaluator beside tests/support/promql.py: that one evaluates any dashboard or alert expression
for the previews and needs the `promql-parser` dev extra; this one runs inside `isf loop` on the runtime's own
dependencies and answers only the collector's queries, refusing the rest, so the collector cannot drift from
what the simulated cluster measures without a failing query.

Instant values use Prometheus's 5-minute lookback (the newest sample at or before the time). `increase`
is exact here (the newest sample in the range minus the newest before it, or 0 for a series born in the
range), where Prometheus extrapolates from the samples inside the range: the counts the collector
rounds are the same for counters sampled on the minute.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from runtime.contract import knative_series as kn

LOOKBACK_S = 300.0
RETAIN_S = LOOKBACK_S + 120.0
"""Samples older than this are dropped (the lookback plus more than the collector's longest range, 1 minute)."""

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_BY = r"sum by \((?P<by>[a-zA-Z0-9_, ]+)\)"
_INCREASE = re.compile(rf"{_BY} \(increase\((?P<name>{_NAME})\[(?P<range>\d+)m\]\)\)")
_OVER_SUBQUERY = re.compile(
    rf"(?P<over>min|avg)_over_time\({_BY} \((?P<name>{_NAME})\)\[(?P<range>\d+)m:(?P<step>\d+)s\]\)"
)
_COUNT_SET = re.compile(rf'count by \((?P<by>[a-zA-Z0-9_, ]+)\) \((?P<name>{_NAME})\{{(?P<label>{_NAME})!=""\}}\)')
STALE = math.nan
"""Prometheus's staleness marker (a NaN it writes when a target or series disappears): absent from queries."""

Labels = tuple[tuple[str, str], ...]
Vector = dict[Labels, float]


class PromQLError(ValueError):
    """A query this Prometheus does not answer (Prometheus's `bad_data`)."""


class SimulatedPrometheus:
    """Samples of labelled series, appended in time order, and the collector's instant queries over them."""

    def __init__(self) -> None:
        self._series: dict[str, dict[Labels, deque[tuple[float, float]]]] = {}  # by name, then label set
        self._lock = threading.Lock()
        self._revision: dict[str, Labels] = {}  # function id -> labels of its serving revision
        self._groups: dict[tuple[str, ...], dict[Labels, Labels]] = {}  # `sum by` keys -> label set -> group
        self._up: set[Labels] = set()  # scrape targets (revisions with ready pods) whose `up` is not stale

    # -- samples ---------------------------------------------------------------------------------
    def add(self, name: str, labels: Mapping[str, str] | Labels, at: float, value: float) -> None:
        key = labels if isinstance(labels, tuple) else tuple(sorted(labels.items()))
        with self._lock:
            self._append(name, key, at, value)

    def _append(self, name: str, key: Labels, at: float, value: float) -> None:
        samples = self._series.setdefault(name, {}).setdefault(key, deque())
        samples.append((at, value))
        while samples[0][0] < at - RETAIN_S:
            samples.popleft()

    def _total(self, name: str, key: Labels) -> float:
        samples = self._series.get(name, {}).get(key)
        return samples[-1][1] if samples else 0.0

    def scrape_minute(
        self, start: datetime, served: Iterable[tuple[str, int, int, float]],
        revision_of: Callable[[str], tuple[str, str, str]],
    ) -> None:
        """Minute `start` as Prometheus scrapes it: (function id, requests, ready pods, duration ms) per function.

        `revision_of(function id)` is the (namespace, service, revision) serving it; the Service's
        Configuration has the Service's name (`pkg/reconciler/service/resources/names`)."""
        t0 = start.timestamp()
        end = t0 + 60.0
        pods, count, total = kn.PODS_COUNT.name, f"{kn.INVOCATION_DURATION.name}_count", f"{kn.INVOCATION_DURATION.name}_sum"
        with self._lock:
            for function_id, requests, ready_pods, duration_ms in served:
                namespace, service, revision = revision_of(function_id)
                labels = {kn.NAMESPACE_LABEL: namespace, kn.SERVICE_LABEL: service,
                          kn.CONFIGURATION_LABEL: service, kn.REVISION_LABEL: revision}
                key = tuple(sorted(labels.items()))
                pod_key = tuple(sorted({**labels, kn.FUNCTION_ID_LABEL: function_id}.items()))  # the PodMonitor's
                previous = self._revision.get(function_id)
                if previous is not None and previous != key:  # a rollout: the old revision is scaled down
                    self._append(pods, previous, t0, 0.0)
                    previous_pods = tuple(sorted({**dict(previous), kn.FUNCTION_ID_LABEL: function_id}.items()))
                    if previous_pods in self._up:
                        self._up.discard(previous_pods)
                        self._append(kn.UP.name, previous_pods, t0, STALE)
                self._revision[function_id] = key
                had_pods = pod_key in self._up
                if ready_pods > 0:
                    self._up.add(pod_key)
                elif had_pods:
                    self._up.discard(pod_key)
                    self._append(kn.UP.name, pod_key, t0, STALE)
                for offset in range(0, 60, kn.SCRAPE_INTERVAL_S):
                    self._append(pods, key, t0 + offset, float(ready_pods))
                    if ready_pods > 0:
                        self._append(kn.UP.name, pod_key, t0 + offset, 1.0)
                seconds = duration_ms / 1000.0 if math.isfinite(duration_ms) else 0.0
                self._append(count, pod_key, end, self._total(count, pod_key) + requests)
                self._append(total, pod_key, end, self._total(total, pod_key) + requests * seconds)
            self._drop_stale(end - RETAIN_S)

    def _drop_stale(self, before: float) -> None:
        """Forget the series whose newest sample is older than `before`: a replaced revision's. No query reads them
        by then (a series that leaves the scrape is marked stale and instant queries stop returning it:
        prometheus/prometheus docs/querying/basics.md, *Staleness*), but every query would still walk them, one
        more per rollout (placement moves up to 20 functions every 10 minutes)."""
        for series in self._series.values():
            for key in [key for key, samples in series.items() if samples[-1][0] < before]:
                del series[key]

    # -- queries ---------------------------------------------------------------------------------
    @staticmethod
    def _newest(samples: deque[tuple[float, float]], at: float) -> tuple[float, float] | None:
        """The newest sample at or before `at` (queries ask near the end: scanned from there)."""
        for sample in reversed(samples):
            if sample[0] <= at:
                return sample
        return None

    def _value_at(self, samples: deque[tuple[float, float]], at: float) -> float | None:
        sample = self._newest(samples, at)
        if sample is None or sample[0] <= at - LOOKBACK_S or math.isnan(sample[1]):  # none, too old, or stale
            return None
        return sample[1]

    def _matching(self, name: str) -> list[tuple[Labels, deque[tuple[float, float]]]]:
        return list(self._series.get(name, {}).items())

    def _group(self, by: str, values: Iterable[tuple[Labels, float]]) -> Vector:
        keys = tuple(label.strip() for label in by.split(","))
        groups = self._groups.setdefault(keys, {})
        out: Vector = {}
        for labels, value in values:
            group = groups.get(labels)
            if group is None:
                have = dict(labels)
                group = groups[labels] = tuple((k, have[k]) for k in keys if k in have)
            out[group] = out.get(group, 0.0) + value
        return out

    def _increase(self, match: re.Match[str], at: float) -> Vector:
        since = at - int(match["range"]) * 60.0
        values = []
        for labels, samples in self._matching(match["name"]):
            last = self._newest(samples, at)
            if last is None or last[0] <= since:
                continue  # no sample in the range
            before = self._newest(samples, since)
            values.append((labels, last[1] - (before[1] if before is not None else 0.0)))
        return self._group(match["by"], values)

    def _over_subquery(self, match: re.Match[str], at: float) -> Vector:
        step = int(match["step"])
        if step <= 0:
            raise PromQLError("zero subquery resolution")
        since = at - int(match["range"]) * 60.0
        first = math.floor(since / step) * step + step  # steps are multiples of the resolution in (since, at]
        series = self._matching(match["name"])
        steps: dict[Labels, list[float]] = {}
        t = float(first)
        while t <= at:
            instant = [(labels, v) for labels, samples in series if (v := self._value_at(samples, t)) is not None]
            for group, value in self._group(match["by"], instant).items():
                steps.setdefault(group, []).append(value)
            t += step
        reduce = min if match["over"] == "min" else (lambda values: sum(values) / len(values))
        return {group: reduce(values) for group, values in steps.items()}

    def _count_set(self, match: re.Match[str], at: float) -> Vector:
        label = match["label"]
        present = [(labels, 1.0) for labels, samples in self._matching(match["name"])
                   if dict(labels).get(label) and self._value_at(samples, at) is not None]
        return self._group(match["by"], present)

    def _evaluate(self, expr: str, at: float) -> Vector:
        if (match := _INCREASE.fullmatch(expr)) is not None:
            return self._increase(match, at)
        if (match := _OVER_SUBQUERY.fullmatch(expr)) is not None:
            return self._over_subquery(match, at)
        if (match := _COUNT_SET.fullmatch(expr)) is not None:
            return self._count_set(match, at)
        raise PromQLError(f"the simulated Prometheus does not evaluate {expr!r}")

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        """The `data.result` of an instant query, as Prometheus's HTTP API returns it."""
        with self._lock:
            vector = self._evaluate(expr.strip(), at)
        return [{"metric": dict(labels), "value": [at, _format(value)]} for labels, value in sorted(vector.items())]

    def http_answer(self, params: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """`GET /api/v1/query` with Prometheus's status codes and error shape."""
        try:
            expr = params["query"][0]
            at = float(params["time"][0]) if "time" in params else 0.0
            result = self.query(expr, at)
        except (KeyError, IndexError):
            return 400, {"status": "error", "errorType": "bad_data", "error": "query and time are required"}
        except ValueError as error:  # PromQLError, or a time that is not a number
            return 400, {"status": "error", "errorType": "bad_data", "error": str(error)}
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}

    def exposition(self) -> bytes:
        """The newest sample of every retained series in the text format (what a scrape of the components shows)."""
        kinds = {kn.PODS_COUNT.name: "gauge", kn.INVOCATION_DURATION.name: "histogram"}
        lines: list[str] = []
        with self._lock:
            latest = sorted((name, labels, samples[-1][1]) for name, series in self._series.items()
                            for labels, samples in series.items() if samples)
        for family, kind in kinds.items():
            rows = [(name, labels, value) for name, labels, value in latest
                    if name == family or name.removesuffix("_count").removesuffix("_sum") == family]
            if not rows:
                continue
            lines.append(f"# TYPE {family} {kind}")
            for name, labels, value in rows:
                text = ",".join(f'{k}="{v}"' for k, v in labels)
                if kind == "histogram" and name.endswith("_count"):
                    lines.append(f'{family}_bucket{{{text},le="+Inf"}} {_format(value)}')
                lines.append(f"{name}{{{text}}} {_format(value)}")
        return ("\n".join(lines) + "\n").encode() if lines else b""


def _format(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return repr(float(value))
