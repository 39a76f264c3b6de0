"""The dashboard previews' PromQL (tests/support/promql.py): Prometheus v3.14.0's semantics on known inputs, and
every expression the program deploys is one it can draw (a new panel it cannot draw fails here)."""

from __future__ import annotations

import math

import pytest

from components.observability.alerts import AlertThresholds, alert_rules
from components.observability.dashboards import dashboard_config_maps
from tests.support.promql import Evaluator, SeriesStore, Unsupported, bucket_quantile, check_supported


def _store(*scrapes: tuple[float, str]) -> Evaluator:
    store = SeriesStore()
    for t, text in scrapes:
        store.scrape(t, "svc", text)
    return Evaluator(store)


def _counter(values: list[float], name: str = "c_total", labels: str = 'f="a"') -> Evaluator:
    return _store(*((60.0 * k, f"# TYPE {name.removesuffix('_total')} counter\n{name}{{{labels}}} {v}\n")
                    for k, v in enumerate(values)))


def _vector(value: object) -> dict[tuple[tuple[str, str], ...], float]:
    assert isinstance(value, dict), value
    return value


def _only(value: object) -> float:
    assert isinstance(value, dict) and len(value) == 1, value
    return next(iter(value.values()))


def test_rate_of_a_steady_counter_is_its_slope() -> None:
    evaluator = _counter([60.0 * k for k in range(11)])  # +60 per minute: 1/s
    assert _only(evaluator.query("rate(c_total[5m])", 600)) == pytest.approx(1.0)
    assert _only(evaluator.query("increase(c_total[5m])", 600)) == pytest.approx(300.0)


def test_rate_extrapolates_to_the_window_edges_but_not_below_zero() -> None:
    # samples at 360..600 in (300, 600]: the first is 60 s into the window (< 1.1 x 60 s), so the increase is
    # extrapolated to the window's start
    assert _only(_counter([0] * 6 + [100, 110, 120, 130, 140]).query("increase(c_total[5m])", 600)) == (
        pytest.approx(40.0 * 300 / 240))
    # ... unless that would take it below zero: from 0 at 360 s the increase is what was counted
    assert _only(_counter([0] * 6 + [0, 10, 20, 30, 40]).query("increase(c_total[5m])", 600)) == pytest.approx(40.0)
    # born at 540 s with 5: two samples 60 s apart, the counter's zero lies 60 s before the first
    born = _store(*((60.0 * k, f"# TYPE c counter\nc_total {v}\n") for k, v in ((9, 5.0), (10, 10.0))))
    assert _only(born.query("increase(c_total[5m])", 600)) == pytest.approx(5.0 * (60 + 30) / 60)


def test_a_counter_reset_adds_the_value_before_it() -> None:
    evaluator = _counter([0, 0, 0, 0, 0, 0, 100, 200, 10, 60, 110])
    assert _only(evaluator.query("increase(c_total[5m])", 600)) == pytest.approx((110 - 100 + 200) * 300 / 240)


def test_one_sample_gives_no_rate() -> None:
    assert _counter([5]).query("rate(c_total[5m])", 0) == {}


def test_instant_selectors_look_back_five_minutes_and_honour_staleness() -> None:
    evaluator = _store((0, "g 1\n"), (60, "g 2\n"), (120, ""))
    assert _only(evaluator.query("g", 90)) == 2.0
    assert evaluator.query("g", 120) == {}  # the target stopped exposing it: a staleness marker
    lingering = _store((0, "g 1\n"))
    assert _only(lingering.query("g", 299)) == 1.0 and lingering.query("g", 300) == {}


def test_up_is_written_for_every_scrape() -> None:
    store = SeriesStore()
    store.scrape(0, "api", "g 1\n")
    store.scrape(60, "api", None)
    evaluator = Evaluator(store)
    assert evaluator.query("sum by (job) (up)", 0) == {(("job", "api"),): 1.0}
    assert evaluator.query("sum by (job) (up)", 60) == {(("job", "api"),): 0.0}


def test_bucket_quantile_interpolates_within_the_bucket_as_prometheus_does() -> None:
    buckets = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (math.inf, 100.0)]
    assert bucket_quantile(0.5, buckets) == pytest.approx(0.1)
    assert bucket_quantile(0.7, buckets) == pytest.approx(0.1 + 0.4 * (70 - 50) / 40)
    assert bucket_quantile(0.99, [(1.0, 10.0), (math.inf, 20.0)]) == 1.0  # in +Inf: the highest finite bound
    assert math.isnan(bucket_quantile(0.5, [(math.inf, 20.0)]))  # +Inf alone: no quantile
    assert math.isnan(bucket_quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]))  # no observations
    assert bucket_quantile(0.5, [(1.0, 60.0), (2.0, 50.0), (math.inf, 100.0)]) == pytest.approx(50 / 60)  # monotone


def test_histogram_quantile_groups_buckets_by_their_other_labels() -> None:
    def scrape(k: int) -> str:
        return ("# TYPE h histogram\n"
                f'h_bucket{{s="a",le="1"}} {k}\nh_bucket{{s="a",le="+Inf"}} {2 * k}\n'
                f'h_bucket{{s="b",le="1"}} {2 * k}\nh_bucket{{s="b",le="+Inf"}} {2 * k}\n')

    evaluator = _store(*((60.0 * k, scrape(k)) for k in range(11)))
    result = evaluator.query("histogram_quantile(0.5, sum by (le, s) (rate(h_bucket[5m])))", 600)
    assert result == {(("s", "a"),): pytest.approx(1.0), (("s", "b"),): pytest.approx(0.5)}


def test_aggregations_topk_and_binary_operators() -> None:
    text = 'x{f="a",t="edge"} 1\nx{f="b",t="edge"} 3\nx{f="c",t="cloud"} 5\ny{f="a",t="edge"} 2\n'
    evaluator = _store((0, text))
    assert evaluator.query("sum by (t) (x)", 0) == {(("t", "cloud"),): 5.0, (("t", "edge"),): 4.0}
    assert evaluator.query("sum without (f, t, job, instance) (x)", 0) == {(): 9.0}
    assert {dict(k)["f"] for k in _vector(evaluator.query("topk(2, x)", 0))} == {"b", "c"}
    assert _only(evaluator.query("x / y", 0)) == 0.5  # one-to-one on every label but the name
    assert _only(evaluator.query("sum(x) / on () sum(y)", 0)) == 4.5
    assert evaluator.query("x > 2", 0) == {k: v for k, v in _vector(evaluator.query("x", 0)).items() if v > 2}
    assert sorted(_vector(evaluator.query("x > bool 2", 0)).values()) == [0.0, 1.0, 1.0]
    assert _only(evaluator.query("clamp_min(sum(x) * 0, 1e-9)", 0)) == 1e-9
    assert evaluator.query("time() - 10", 100) == 90.0
    assert {dict(k)["f"] for k in _vector(evaluator.query("x unless y", 0))} == {"b", "c"}
    assert _only(evaluator.query("sum(x) / sum(x * 0)", 0)) == math.inf  # division by zero, as Go's floats


@pytest.mark.parametrize("expr", [
    "x offset 5m", "x @ 100", "max_over_time(x[10m:1m])", "a / on (f) group_left (t) b",
    "predict_linear(x[1h], 60)", "quantile(0.5, x)", "label_replace(x, 'a', 'b', 'c', 'd')",
])
def test_anything_else_is_unsupported_not_silently_empty(expr: str) -> None:
    with pytest.raises(Unsupported):
        check_supported(expr)


def test_every_deployed_panel_and_alert_rule_can_be_drawn() -> None:
    import json

    exprs = [target["expr"]
             for config_map in dashboard_config_maps("monitoring", ebpf=True)
             for body in config_map["data"].values()
             for panel in json.loads(body)["panels"] for target in panel["targets"]]
    exprs += [rule["expr"] for rule in alert_rules(AlertThresholds(daily_budget_usd=10), "isf-system")]
    assert len(exprs) >= 40
    for expr in exprs:
        check_supported(expr)


def test_the_accuracy_alerts_hold_for_the_model_the_predictor_serves_by_default() -> None:
    from runtime.contract import metrics
    from runtime.settings import RuntimeSettings

    served = RuntimeSettings().prediction.forecaster.value
    exposition = (f'{metrics.FORECAST_MAPE.name}{{model="{served}"}} 0.5\n'
                  f'{metrics.FORECAST_WAPE.name}{{model="{served}"}} 0.9\n')
    evaluator = _store((0, exposition.replace("0.9", "0.2")), (60, exposition))  # WAPE 0.9 > 1.5 x 0.55
    rules = {r["alert"]: r["expr"] for r in alert_rules(AlertThresholds(), "isf-system")}
    for alert in ("IsfPoorPredictionAccuracy", "IsfModelPerformanceDegradation"):
        assert [dict(k)["model"] for k in _vector(evaluator.query(rules[alert], 60))] == [served], alert
