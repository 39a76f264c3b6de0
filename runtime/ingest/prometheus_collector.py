"""Per-minute invocation counts of every Knative function, read from Prometheus and written to the store.

Knative's queue-proxy exports `revision_request_count` (a counter) and `revision_request_latencies`
(a histogram, ms), labelled with `namespace_name`, `configuration_name`, `revision_name`, ...
(knative.dev/docs/serving/services/service-metrics). Each minute the collector evaluates
`sum by (namespace_name, configuration_name) (increase(revision_request_count[1m]))` at the minute's
end; revisions of one function are summed, and the function id is `<namespace>.<configuration>`
(both are DNS labels, so the dot is unambiguous and URL-safe). Missed minutes (Prometheus or the
database down) are back-filled on the next pass, up to `max_backfill_minutes`.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from runtime.store.invocations import InvocationRecord, record_invocations

log = logging.getLogger(__name__)


class CollectorError(RuntimeError):
    """Prometheus could not answer a query; the message names the query and the reason."""


class CollectorConfig(BaseModel):
    """Where Prometheus is and what to ask it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prometheus_url: str
    request_metric: str = "revision_request_count"
    latency_metric: str = "revision_request_latencies"
    source: str = "prometheus"
    # Evaluate a minute only this long after it ends, so the last scrape of the minute has landed.
    settle_seconds: Annotated[float, Field(ge=0, le=300)] = 30.0
    max_backfill_minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    timeout_s: Annotated[float, Field(gt=0)] = 10.0


def _group(metric: str) -> str:
    return f"sum by (namespace_name, configuration_name) (increase({metric}[1m]))"


def query_vector(client: httpx.Client, base_url: str, query: str, at: datetime) -> dict[str, float]:
    """Evaluate an instant `query` at `at`; returns function id -> value (NaN / missing labels dropped)."""
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
    values: dict[str, float] = {}
    for sample in data.get("result", []):
        labels = sample.get("metric", {})
        namespace, configuration = labels.get("namespace_name"), labels.get("configuration_name")
        value = float(sample["value"][1])
        if namespace and configuration and math.isfinite(value):
            values[f"{namespace}.{configuration}"] = value
    return values


def collect_minute(client: httpx.Client, config: CollectorConfig, minute: datetime) -> list[InvocationRecord]:
    """The invocation records of `minute` (its start, UTC), with average latency where requests were served."""
    end = minute + timedelta(minutes=1)
    counts = query_vector(client, config.prometheus_url, _group(config.request_metric), end)
    latency_query = (
        f"{_group(config.latency_metric + '_sum')} / {_group(config.latency_metric + '_count')}"
    )
    latencies = query_vector(client, config.prometheus_url, latency_query, end) if counts else {}
    return [
        InvocationRecord(function_id, minute, max(0, round(count)), latencies.get(function_id))
        for function_id, count in sorted(counts.items())
    ]


class KnativeCollector:
    """Writes every completed minute exactly once per pass; re-collecting a minute overwrites it (idempotent)."""

    def __init__(self, engine: Engine, config: CollectorConfig, client: httpx.Client | None = None) -> None:
        self._engine = engine
        self._config = config
        self._client = client or httpx.Client(timeout=config.timeout_s)
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
        log.info("collected knative request counts", extra={"records": written})
        return written
