"""Hot state in Redis, and how it degrades when Redis is unreachable."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry

from runtime.state.hot_state import HotState

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # port 1: connection refused at once


def test_a_cached_forecast_reads_back_as_written(hot_state: HotState) -> None:
    document = {"function_id": "f", "counts": [1.0, 2.5], "window_start": "2024-05-01T12:00:00+00:00"}
    assert hot_state.put_forecasts({"f": document})
    assert hot_state.get_forecast("f") == document
    assert hot_state.get_forecast("never-written") is None


def test_the_rate_limit_allows_exactly_the_limit_per_window(hot_state: HotState) -> None:
    verdicts = [hot_state.allow("ingest:s", limit=3, window_s=3600) for _ in range(5)]
    assert verdicts == [True, True, True, False, False]
    assert hot_state.allow("ingest:other", limit=3, window_s=3600)


def test_prefixes_isolate_namespaces(hot_state: HotState, redis_url: str) -> None:
    other = HotState.from_url(redis_url, CollectorRegistry(), prefix="isf-test-other-namespace:")
    hot_state.put_forecasts({"f": {"counts": [1]}})
    assert other.get_forecast("f") is None


def test_an_unreachable_redis_degrades_to_fallbacks_and_reports_it() -> None:
    registry = CollectorRegistry()
    state = HotState.from_url(UNREACHABLE_REDIS, registry)
    assert state.get_forecast("f") is None
    assert state.put_forecasts({"f": {"counts": [1]}}) is False
    assert state.allow("ingest:s", limit=1) is True  # fails open: ingest outranks the limit
    assert registry.get_sample_value("isf_redis_up") == 0
    assert registry.get_sample_value("isf_redis_errors_total", {"operation": "get_forecast"}) == 1


def test_after_a_failure_redis_is_not_called_again_until_the_back_off_ends() -> None:
    registry = CollectorRegistry()
    state = HotState.from_url(UNREACHABLE_REDIS, registry)
    state.get_forecast("f")
    for _ in range(100):
        state.get_forecast("f")
    # One failed attempt, then none: a dead Redis costs one timeout per back-off, not one per request.
    assert registry.get_sample_value("isf_redis_errors_total", {"operation": "get_forecast"}) == 1
    assert not state.available


def test_a_health_check_retries_at_once_and_recovers_the_gauge(redis_url: str) -> None:
    registry = CollectorRegistry()
    state = HotState.from_url(redis_url, registry, prefix="isf-test-check:")
    state._down_until = time.monotonic() + 3600  # as if a failure had just happened
    assert not state.available
    assert state.check() is True
    assert state.available and registry.get_sample_value("isf_redis_up") == 1


def test_without_a_redis_url_hot_state_is_disabled_not_failing() -> None:
    registry = CollectorRegistry()
    state = HotState.from_url(None, registry)
    assert not state.configured and not state.check()
    assert state.get_forecast("f") is None and state.allow("x", 1)
    assert registry.get_sample_value("isf_redis_errors_total", {"operation": "get_forecast"}) is None


def test_a_cluster_that_is_down_at_start_up_does_not_stop_the_service_from_starting() -> None:
    registry = CollectorRegistry()
    state = HotState.from_url(UNREACHABLE_REDIS, registry, cluster=True)  # builds no connection yet
    assert state.configured
    assert state.get_forecast("f") is None
    assert registry.get_sample_value("isf_redis_up") == 0
    assert registry.get_sample_value("isf_redis_errors_total", {"operation": "get_forecast"}) == 1
