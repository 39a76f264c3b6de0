"""Per-minute invocation counts of every Knative function, read from Prometheus and written to the store.

Knative Serving 1.23 exports OpenTelemetry metrics (runtime/contract/knative_series.py cites each name):
every queue-proxy records each non-probe request in the histogram `kn.serving.invocation.duration`
(unit `s`; pkg/queue/request_metric.go at knative-v1.23.0), which Prometheus holds as
`kn_serving_invocation_duration_seconds_{bucket,sum,count}`. The `_count` part is the request count.
The queue-proxy PodMonitor (components/observability/knative_monitors.py) labels every series with
`k8s_namespace_name`, `kn_configuration_name`, `kn_revision_name` from the Revision pod. Each minute the
collector evaluates `sum by (k8s_namespace_name, kn_configuration_name, isf_function)
(increase(kn_serving_invocation_duration_seconds_count[1m]))` at the minute's end; revisions of one
function are summed. The function id is the series' `isf_function` label, which the PodMonitor copies from the
pod's `isf.io/function` label (the id warming and placement act on: Knative copies the Service template's
labels to the Revision, `MakeRevision` in pkg/reconciler/configuration/resources/revision.go, and the
Revision's to its pods, `makeLabels` in pkg/reconciler/revision/resources/meta.go); a pod without it is
named `<namespace>.<configuration>` (both are DNS labels, so the dot is unambiguous and URL-safe). Series of one
(namespace, configuration) are summed in the collector even when their pods carry different `isf_function`
values (a changed template label: old and new revisions both serve), and the records take the label with most
requests. The average latency is the summed `_sum` increase over the summed `_count` increase, in seconds,
stored in milliseconds.
Missed minutes (Prometheus or the database down) are back-filled on the next pass, up to `max_backfill_minutes`.

Cold starts, measured (the one definition; docs/operations.md "How cold starts are measured"): a
function-minute has **one cold start** when it had at least one request and, at some sample of the
minute, no ready pod across its revisions. Ready pods are the autoscaler's `kn.revision.pods.count`
(the KPA's ready count: `kpaMetrics.callback` observes `podCounts.ready`, which `kpa.go` takes from
`PodCountsByState`; pkg/reconciler/autoscaling/kpa/metrics.go and kpa.go at knative-v1.23.0), summed per
function and sampled every scrape interval from the minute's start: `min_over_time(sum by
(k8s_namespace_name, kn_configuration_name) (kn_revision_pods_count)[1m:30s])` evaluated at the minute's
start + 59 s, so the subquery's steps (aligned to multiples of 30 s) are the minute's start and its
middle. A request that finds no ready pod is the one the activator holds while a pod starts
(`activationHandler.ServeHTTP` -> `Throttler.Try`, pkg/activator/handler/handler.go, counted in
`kn.revision.request.queued`) - but the activator's own request count is no cold-start signal: with
`target-burst-capacity` 200 (components/serving/knative.py) it stays in the path of warm revisions too.
This is the simulator's unit (docs/architecture.md: an invocation minute that is not loaded is one cold
start; runtime/cluster_sim/knative.py), so "cold starts saved" compares. Where the real signal can
differ from the simulator: a burst on a warm function that needs more pods than are ready waits for
new pods but is no cold start here (as in the app-level simulator; instance-level pools count it); a
scale-to-zero and back within one scrape interval is missed; a scale-to-zero mid-minute followed by
requests is seen; several scale-from-zeros in one minute count once. A function with requests but no
`kn_revision_pods_count` series (autoscaler not scraped) has its cold starts unmeasured (None), not 0.
Ready pods, measured: the minute's average of the same summed ready count (`avg_over_time` over the same
subquery), stored per function-minute as `ready_pods`. A function with ready pods and no request in the minute
gets a record of count 0 even when its queue-proxies export no request series (a pod that never served a
request may have none: an OTel histogram keeps a point per recorded attribute set; not read at the SDK version
Knative 1.23 vendors, so the collector does not rely on either case): its id comes from Prometheus's `up` series of the pods' scrape
targets, which carry the PodMonitor's labels. The api prices those idle pods as wasted warm memory
(runtime/ingest/counters.py).
(Before 1.19 the queue-proxy exported OpenCensus `revision_request_count` / `revision_request_latencies`
in ms, labelled `namespace_name` / `configuration_name`; Serving 1.23 exports neither.)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from runtime.contract import knative_series as kn
from runtime.store.invocations import InvocationRecord, record_invocations

log = logging.getLogger(__name__)


class CollectorError(RuntimeError):
    """Prometheus could not answer a query; the message names the query and the reason."""


class CollectorConfig(BaseModel):
    """Where Prometheus is and what to ask it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prometheus_url: str
    # The request counter and the latency histogram (seconds) the queue-proxy exports.
    request_metric: str = f"{kn.INVOCATION_DURATION.name}_count"
    latency_metric: str = kn.INVOCATION_DURATION.name
    # The autoscaler's ready pods per revision, and how often they are sampled within a minute.
    ready_pods_metric: str = kn.PODS_COUNT.name
    ready_sample_seconds: Annotated[int, Field(ge=1, le=60)] = kn.SCRAPE_INTERVAL_S
    source: str = "prometheus"
    # Evaluate a minute only this long after it ends, so the last scrape of the minute has landed.
    settle_seconds: Annotated[float, Field(ge=0, le=300)] = 30.0
    max_backfill_minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    timeout_s: Annotated[float, Field(gt=0)] = 10.0


def _group(metric: str) -> str:
    """A queue-proxy counter's minute increase per function, named by the pod's `isf.io/function` label."""
    labels = ", ".join((*kn.FUNCTION_LABELS, kn.FUNCTION_ID_LABEL))
    return f"sum by ({labels}) (increase({metric}[1m]))"


def ready_pods_query(config: CollectorConfig, over_time: str = "min") -> str:
    """Fewest (`min`) or average (`avg`) ready pods, all revisions summed, over the samples of the minute,
    evaluated at `READY_AT` into it."""
    return f"{over_time}_over_time({kn.per_function(config.ready_pods_metric)}[1m:{config.ready_sample_seconds}s])"


def function_names_query() -> str:
    """Every scraped queue-proxy pod's function, per (namespace, configuration).

    Prometheus writes `up` for every target it scrapes, with the target's labels (prometheus/docs
    docs/concepts/jobs_instances.md, "Automatically generated labels and time series"), which the queue-proxy
    PodMonitor's relabelings set; so a pod that never served a request, whose OTel request histogram may have no data
    point yet, is named."""
    labels = ", ".join((*kn.FUNCTION_LABELS, kn.FUNCTION_ID_LABEL))
    return f'count by ({labels}) ({kn.UP.name}{{{kn.FUNCTION_ID_LABEL}!=""}})'


READY_AT = timedelta(seconds=59)
"""Where in the minute the ready-pod queries are evaluated: their subquery's steps are the minute's start and every
`ready_sample_seconds` after it (Prometheus aligns subquery steps to multiples of the resolution)."""

def cold_starts(count: int, ready_pods: float | None) -> int | None:
    """The measured cold starts of a function-minute: 1 if invoked with no ready pod at a sample, else 0.

    None when it was invoked but its ready pods are unknown (no `kn_revision_pods_count` series)."""
    if count <= 0:
        return 0
    if ready_pods is None:
        return None
    return int(ready_pods < 0.5)


Key = tuple[str, str]
"""(namespace, configuration): one function, across its revisions."""


def query_vector(client: httpx.Client, base_url: str, query: str, at: datetime) -> list[tuple[Key, str, float]]:
    """Evaluate an instant `query` at `at`: (namespace, configuration), `isf_function` label, value per series
    (NaN / missing labels dropped; the function label is "" where the series has none)."""
    try:
        response = client.get(f"{base_url.rstrip('/')}/api/v1/query", params={"query": query, "time": at.timestamp()})
        body: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise CollectorError(f"query {query!r} at {at.isoformat()}: {error}") from error
    if body.get("status") != "success":
        raise CollectorError(
            f"query {query!r} at {at.isoformat()}: Prometheus answered {response.status_code} "
            f"{body.get('errorType', '')}: {body.get('error', body)}"
        )
    data = body.get("data", {})
    if data.get("resultType") != "vector":
        raise CollectorError(f"query {query!r}: expected a vector result, got {data.get('resultType')!r}")
    values = []
    for sample in data.get("result", []):
        labels = sample.get("metric", {})
        namespace, configuration = labels.get(kn.NAMESPACE_LABEL), labels.get(kn.CONFIGURATION_LABEL)
        value = float(sample["value"][1])
        if namespace and configuration and math.isfinite(value):
            values.append(((namespace, configuration), labels.get(kn.FUNCTION_ID_LABEL) or "", value))
    return values


def _per_function(rows: list[tuple[Key, str, float]]) -> dict[Key, float]:
    """Values summed per function: old and new pods of one configuration may carry different function labels
    (the Service template's label was changed), and each is a share of the function's requests."""
    summed: dict[Key, float] = {}
    for key, _, value in rows:
        summed[key] = summed.get(key, 0.0) + value
    return summed


def _names(rows: list[tuple[Key, str, float]]) -> dict[Key, str]:
    """The function id of each (namespace, configuration): the `isf_function` label that carries most of the
    value (requests, or pods), ties broken by name so the choice is stable. A configuration with none is
    `<namespace>.<configuration>` in the records (both DNS labels, so the dot is unambiguous and URL-safe)."""
    best: dict[Key, tuple[float, str]] = {}
    for key, function_id, value in rows:
        if function_id and (value, function_id) > best.get(key, (-math.inf, "")):
            best[key] = (value, function_id)
    return {key: function_id for key, (_, function_id) in best.items()}


def collect_minute(client: httpx.Client, config: CollectorConfig, minute: datetime) -> list[InvocationRecord]:
    """The records of `minute` (its start, UTC): count, average latency where requests were served, cold starts,
    and the average ready pods; a function with ready pods and no request gets a record of count 0 (its idle
    warm memory, runtime/ingest/counters.py)."""
    end = minute + timedelta(minutes=1)
    url = config.prometheus_url
    counted = query_vector(client, url, _group(config.request_metric), end)
    average = _per_function(query_vector(client, url, ready_pods_query(config, "avg"), minute + READY_AT))
    idle = [key for key, pods in average.items() if pods > 0]
    if not counted and not idle:
        return []
    counts = _per_function(counted)
    names = _names(counted)
    if any(key not in counts for key in idle):  # warm without a request series: named by its pods' scrape targets
        names = {**_names(query_vector(client, url, function_names_query(), minute + READY_AT)), **names}
    invoked = {key: max(0, round(count)) for key, count in counts.items()}
    seconds = _per_function(query_vector(client, url, _group(config.latency_metric + "_sum"), end)) if any(
        invoked.values()) else {}
    fewest = _per_function(query_vector(client, url, ready_pods_query(config, "min"), minute + READY_AT)) if any(
        invoked.values()) else {}
    keys = sorted(set(invoked) | set(idle))
    records = [
        InvocationRecord(
            names.get(key, f"{key[0]}.{key[1]}"), minute, invoked.get(key, 0),
            _milliseconds(seconds[key] / counts[key] if key in seconds and counts.get(key) else None),
            cold_starts(invoked.get(key, 0), fewest.get(key)),
            average.get(key),
        )
        for key in keys
    ]
    return sorted(records, key=lambda r: r.function_id)


def _milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


class KnativeCollector:
    """Writes every completed minute exactly once per pass; re-collecting a minute overwrites it (idempotent)."""

    def __init__(
        self, engine: Engine, config: CollectorConfig, client: httpx.Client | None = None, *,
        observe: Callable[[Sequence[InvocationRecord]], None] | None = None,
    ) -> None:
        self._engine = engine
        self._config = config
        self._client = client or httpx.Client(timeout=config.timeout_s)
        self._observe = observe  # the exported counters (runtime.ingest.counters), after each stored minute
        self.last_collected: datetime | None = None

    def due_minutes(self, now: datetime) -> list[datetime]:
        """Completed, settled minutes not collected yet (oldest first, bounded by the back-fill limit)."""
        newest = (now - timedelta(seconds=self._config.settle_seconds)).replace(second=0, microsecond=0)
        newest -= timedelta(minutes=1)
        oldest = newest - timedelta(minutes=self._config.max_backfill_minutes - 1)
        if self.last_collected is not None:
            oldest = max(oldest, self.last_collected + timedelta(minutes=1))
        else:
            oldest = newest  # first pass: no history to back-fill
        minutes = []
        while oldest <= newest:
            minutes.append(oldest)
            oldest += timedelta(minutes=1)
        return minutes

    def run_once(self, now: datetime | None = None) -> int:
        """Collect every due minute; returns the records written. Stops at the first failure (retried later)."""
        written = 0
        for minute in self.due_minutes(now or datetime.now(UTC)):
            records = collect_minute(self._client, self._config, minute)
            written += record_invocations(self._engine, self._config.source, records)
            self.last_collected = minute
            if self._observe is not None:
                self._observe(records)
        log.info("collected knative request counts", extra={"records": written})
        return written
