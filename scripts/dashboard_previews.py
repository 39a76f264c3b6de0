"""PNG previews of every Grafana dashboard the program deploys, drawn from an `isf loop` run.

    .venv/bin/python scripts/dashboard_previews.py [--trace sampled-500fn-1day] [--functions 40]
        [--minutes 180] [--start-minute 0] [--out docs/dashboards]

1. `isf loop` (runtime/cluster_sim/loop.py, `--speed 0`) replays the window through the four services and
   the simulated cluster; after every simulated minute each service's `/metrics` and the cluster's
   `/isf/v1/metrics` are scraped into an in-memory series store, stamped with the simulated time (the
   scrape also writes `up` and staleness markers, as Prometheus does).
2. The alerting rules (components/observability/alerts.py) are evaluated every minute over the store,
   and their `for` honoured, to write `ALERTS` as Prometheus's rule manager does.
3. Every panel of every dashboard ConfigMap (`dashboard_config_maps`, the JSON Grafana loads, eBPF one
   included) is evaluated as a range query, one step per simulated minute, by tests/support/promql.py,
   and drawn in its `gridPos` with matplotlib. A panel whose series the simulator does not produce
   (cAdvisor, kube-state-metrics, Beyla, ...) says so in the image, naming them.
4. `OUT/README.md` lists the run, the panels without data, and the series each target exported.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.observability.alerts import AlertThresholds, alert_rules
from components.observability.dashboards import dashboard_config_maps
from runtime.contract import knative_series
from tests.support.promql import Evaluator, SeriesStore, duration_s, exposition_series, metric_names

NAMESPACE = "monitoring"
GRID_COLUMNS = 24
ROW_INCHES = 0.36  # one Grafana grid row (30 px) at the previews' scale
COLUMN_INCHES = 0.75
PALETTE = ("#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a", "#c4162a",
           "#37872d", "#1f60c4", "#8f3bb8")
BACKGROUND, PANEL, TEXT, GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"


@dataclass
class Scraper:
    """The loop's progress callback: one scrape of every target per simulated minute."""

    start: datetime
    store: SeriesStore = field(default_factory=SeriesStore)
    times: list[float] = field(default_factory=list)
    exported: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def __call__(self, done: int, report: Any, outcome: object) -> None:
        import httpx

        from runtime.cluster_sim.loop import INGEST_LAG

        t = (self.start + timedelta(minutes=done - 1) + INGEST_LAG).timestamp()
        with httpx.Client(timeout=30) as client:
            for target, url in sorted(report.endpoints.items()):
                job = f"isf-{target}" if target != "cluster" else "isf-loop-cluster"
                try:
                    response = client.get(url)
                    text = response.text if response.status_code == 200 else None
                except httpx.HTTPError:
                    text = None
                self.store.scrape(t, job, text)
                if text is not None:
                    self.exported[job] |= exposition_series(text)
        self.times.append(t)


def write_alerts(store: SeriesStore, times: list[float]) -> dict[str, dict[str, int]]:
    """`ALERTS{alertname, alertstate, ...}` per evaluation, as Prometheus's rule manager writes it (pending while
    active for less than `for`, then firing); returns each alert's minutes pending and firing."""
    evaluator = Evaluator(store)
    states: dict[str, dict[str, int]] = {}
    for rule in alert_rules(AlertThresholds(daily_budget_usd=10), "isf-system"):
        hold, active_since = duration_s(rule.get("for", "")), {}
        counted = states.setdefault(rule["alert"], {"pending": 0, "firing": 0})
        for t in times:
            value = evaluator.query(rule["expr"], t)
            active = value if isinstance(value, dict) else {}
            for labels in list(active_since):
                if labels not in active:
                    del active_since[labels]
            for labels in active:
                since = active_since.setdefault(labels, t)
                state = "firing" if t - since >= hold else "pending"
                counted[state] += 1
                alert = {**dict(labels), **rule["labels"], "alertname": rule["alert"], "alertstate": state,
                         "__name__": "ALERTS"}
                store.append(tuple(sorted(alert.items())), t, 1.0)
    return states


# --- drawing ------------------------------------------------------------------------------------------------

def _si(value: float, suffix: str = "", decimals: int = 2) -> str:
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.{decimals}g}{prefix}{suffix}"
    return f"{value:.{decimals + 1}g}{suffix}"


def _seconds(value: float) -> str:
    if value == 0:
        return "0 s"
    if abs(value) < 1:
        return f"{value * 1000:.3g} ms"
    if abs(value) < 120:
        return f"{value:.3g} s"
    if abs(value) < 7200:
        return f"{value / 60:.3g} min"
    return f"{value / 3600:.3g} h"


def _bytes(value: float) -> str:
    for factor, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {unit}"
    return f"{value:.3g} B"


UNITS: dict[str, Callable[[float], str]] = {
    "short": _si,
    "percentunit": lambda v: f"{v * 100:.3g}%",
    "reqps": lambda v: _si(v, " req/s"),
    "s": _seconds,
    "currencyUSD": lambda v: f"${v:,.4g}",
    "decgbytes": lambda v: f"{v:.3g} GB",
    "bytes": _bytes,
    "cores": lambda v: f"{v:.3g} cores",
}


PANEL_TYPES = {"timeseries", "stat"}


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legendFormat: `{{label}}` replaced by the series' value of it (empty when absent)."""
    text = re.sub(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
    return text or "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__") + "}"


_COMPONENT = {s.name: s.component.value for s in (*knative_series.KNATIVE_SERIES, *knative_series.KUBERNETES_SERIES,
                                                  *knative_series.BEYLA_SERIES)}


def _component(series: str) -> str:
    for base, component in _COMPONENT.items():
        if series == base or series.removeprefix(base) in ("_bucket", "_sum", "_count"):
            return component
    return "isf"


@dataclass
class PanelResult:
    title: str
    kind: str
    unit: str
    lines: list[tuple[str, list[tuple[float, float]]]]
    absent: list[str]
    """Series the panel queries that no target of the run exports (an exporter `isf loop` does not run)."""
    unsampled: list[str]
    """Series a target declares (HELP/TYPE) without a sample in the run: nothing was counted."""
    nan_only: bool
    names: set[str]

    def why_empty(self) -> str:
        if "ALERTS" in self.names:
            return "no alert fired in this run (the alerting rules were evaluated every simulated minute)"
        if self.absent:
            return "no data in the simulator: " + ", ".join(f"{m} ({_component(m)})" for m in self.absent)
        if self.unsampled:
            return "declared, no sample in this run: " + ", ".join(self.unsampled)
        if self.nan_only:
            return "only NaN in this run (e.g. a histogram with nothing but its +Inf bucket)"
        return "no series matched in this run"


PREVIEWER_WRITTEN = {"up", "ALERTS"}
"""Series Prometheus itself writes; the previewer writes them too (scrape health, the alerting rules)."""


def evaluate_panel(panel: dict[str, Any], evaluator: Evaluator, times: list[float], declared: set[str]) -> PanelResult:
    lines: list[tuple[str, list[tuple[float, float]]]] = []
    absent: set[str] = set()
    unsampled: set[str] = set()
    nan_only = False
    for target in panel["targets"]:
        expr = target["expr"]
        for name in metric_names(expr):
            if not evaluator.store.select_name(name) and name not in PREVIEWER_WRITTEN:
                (unsampled if name in declared else absent).add(name)
        for labels, points in sorted(evaluator.query_range(expr, times).items()):
            finite = [(t, v) for t, v in points if math.isfinite(v)]
            if finite:
                lines.append((legend(target.get("legendFormat", ""), dict(labels)), finite))
            else:
                nan_only = True
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    names = set().union(*(metric_names(target["expr"]) for target in panel["targets"]))
    return PanelResult(panel["title"], panel["type"], unit, lines, sorted(absent), sorted(unsampled), nan_only, names)


def draw_dashboard(dashboard: dict[str, Any], results: list[PanelResult], times: list[float], caption: str,
                   path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
    header = 1.1
    width, height = GRID_COLUMNS * COLUMN_INCHES, rows * ROW_INCHES + header
    figure = plt.figure(figsize=(width, height), facecolor=BACKGROUND)
    figure.text(0.01, 1 - 0.35 / height, dashboard["title"], color=TEXT, fontsize=16, weight="bold", va="center")
    figure.text(0.01, 1 - 0.8 / height, caption, color="#8e8e8e", fontsize=9, va="center")
    for panel, result in zip(dashboard["panels"], results, strict=True):
        grid = panel["gridPos"]
        pad = 0.12
        left = (grid["x"] * COLUMN_INCHES + pad) / width
        bottom = 1 - (header + (grid["y"] + grid["h"]) * ROW_INCHES - pad) / height
        box_w = (grid["w"] * COLUMN_INCHES - 2 * pad) / width
        box_h = (grid["h"] * ROW_INCHES - 2 * pad) / height
        frame = figure.add_axes((left, bottom, box_w, box_h), facecolor=PANEL)
        frame.set_xticks([])
        frame.set_yticks([])
        for spine in frame.spines.values():
            spine.set_color(GRID)
        frame.set_title(result.title, color=TEXT, fontsize=10, loc="left", pad=4)
        if result.unit not in UNITS or result.kind not in PANEL_TYPES:
            raise ValueError(f"{dashboard['uid']} / {result.title}: the previewer draws no {result.kind!r} panel"
                             f" in unit {result.unit!r} (types {sorted(PANEL_TYPES)}, units {sorted(UNITS)})")
        fmt = UNITS[result.unit]
        if not result.lines:
            frame.text(0.5, 0.5, _wrap(result.why_empty(), 70), color="#8e8e8e", ha="center", va="center",
                       fontsize=9, transform=frame.transAxes)
            continue
        if result.absent:  # a query of the panel has data, another has none here
            frame.text(0.01, 0.02, "not in the simulator: " + ", ".join(result.absent), color="#8e8e8e", fontsize=7,
                       transform=frame.transAxes)
        if result.kind == "stat":
            values = [(name, points[-1][1]) for name, points in result.lines][:6]
            for i, (name, value) in enumerate(values):
                y = 0.5 if len(values) == 1 else 0.85 - i * 0.7 / max(len(values) - 1, 1)
                size = 28 if len(values) == 1 else 13
                frame.text(0.5, y, f"{fmt(value)}", color=PALETTE[i % len(PALETTE)], ha="center", va="center",
                           fontsize=size, weight="bold", transform=frame.transAxes)
                frame.text(0.5, y - (0.2 if len(values) == 1 else 0.09), name, color="#8e8e8e", ha="center",
                           va="center", fontsize=8, transform=frame.transAxes)
            continue
        chart = figure.add_axes((left + 0.07 * box_w, bottom + 0.16 * box_h, 0.66 * box_w, 0.72 * box_h),
                                facecolor=PANEL)
        xs = mdates.date2num([datetime.fromtimestamp(t, UTC) for t in times])
        for i, (name, points) in enumerate(result.lines):
            values = dict(points)  # a step without a value is a gap, as Grafana draws it (topk's entrants)
            chart.plot(xs, [values.get(t, math.nan) for t in times], color=PALETTE[i % len(PALETTE)], linewidth=1.2,
                       label=name if len(name) <= 28 else name[:27] + "…")
        chart.yaxis.set_major_formatter(FuncFormatter(lambda v, _, fmt=fmt: fmt(v)))
        chart.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
        chart.tick_params(colors="#8e8e8e", labelsize=7)
        chart.grid(color=GRID, linewidth=0.5)
        for spine in chart.spines.values():
            spine.set_visible(False)
        handles, labels = chart.get_legend_handles_labels()
        frame.legend(handles[:10], labels[:10], loc="center right", fontsize=7, frameon=False, labelcolor=TEXT,
                     bbox_to_anchor=(1.0, 0.5))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80, facecolor=BACKGROUND)
    plt.close(figure)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


# --- the run ------------------------------------------------------------------------------------------------

def deployed_dashboards() -> list[dict[str, Any]]:
    """The dashboard JSON exactly as the ConfigMaps carry it to Grafana (every optional dashboard included)."""
    return [json.loads(body) for config_map in dashboard_config_maps(NAMESPACE, ebpf=True)
            for body in config_map["data"].values()]


def run(args: argparse.Namespace) -> tuple[Scraper, dict[str, Any]]:
    """The loop, scraped every simulated minute; the figures the README quotes."""
    from runtime.cluster_sim.loop import EPOCH, LoopConfig, run_loop
    from runtime.traces import load_trace

    started = time.monotonic()
    scraper = Scraper(EPOCH + timedelta(minutes=args.start_minute))
    report = run_loop(LoopConfig(args.trace, minutes=args.minutes, start_minute=args.start_minute, speed=0,
                                 functions=args.functions), load_trace(args.trace), progress=scraper)
    summary = {"trace": args.trace, "functions": report.functions, "start_minute": args.start_minute,
               "minutes": args.minutes, "loop_s": round(time.monotonic() - started, 1),
               "loop": {"cold_starts": report.loop.cold_starts, "wasted_mb_minutes": report.loop.wasted_mb_minutes},
               "predictive_deployed": {"cold_starts": report.predictive_deployed.cold_starts,
                                       "wasted_mb_minutes": report.predictive_deployed.wasted_mb_minutes}}
    return scraper, summary


def save_samples(path: Path, scraper: Scraper, summary: dict[str, Any]) -> None:
    body = {"summary": summary, "start": scraper.start.isoformat(), "times": scraper.times,
            "exported": {job: sorted(names) for job, names in scraper.exported.items()},
            "series": [[list(labels), times, values] for labels, (times, values) in scraper.store.series.items()]}
    path.write_text(json.dumps(body))  # NaN (staleness markers) as JSON's NaN extension


def load_samples(path: Path) -> tuple[Scraper, dict[str, Any]]:
    body = json.loads(path.read_text())
    scraper = Scraper(datetime.fromisoformat(body["start"]), times=body["times"])
    for job, names in body["exported"].items():
        scraper.exported[job] = set(names)
    for labels, times, values in body["series"]:
        key = tuple((name, value) for name, value in labels)
        for t, v in zip(times, values, strict=True):
            scraper.store.append(key, t, v)
    return scraper, body["summary"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trace", default="sampled-500fn-1day")
    parser.add_argument("--functions", type=int, default=40)
    parser.add_argument("--minutes", type=int, default=180)
    parser.add_argument("--start-minute", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboards")
    parser.add_argument("--save-samples", type=Path, help="also write the scraped samples here (JSON)")
    parser.add_argument("--from-samples", type=Path, help="draw from samples saved before instead of running the loop")
    args = parser.parse_args()

    started = time.monotonic()
    dashboards = deployed_dashboards()
    scraper, summary = load_samples(args.from_samples) if args.from_samples else run(args)
    if args.save_samples:
        save_samples(args.save_samples, scraper, summary)
    fired = write_alerts(scraper.store, scraper.times)
    evaluator = Evaluator(scraper.store)
    declared = set().union(*scraper.exported.values())
    first, last = (datetime.fromtimestamp(t, UTC) for t in (scraper.times[0], scraper.times[-1]))
    window = f"trace minutes {summary['start_minute']}..{summary['start_minute'] + summary['minutes']}"
    caption = (f"Preview: isf loop, {summary['trace']}, {summary['functions']} functions, {window} (simulated"
               f" {first:%Y-%m-%d %H:%M}-{last:%H:%M} UTC), scraped once per simulated minute; drawn by"
               " scripts/dashboard_previews.py from the deployed dashboard JSON")
    no_data: list[str] = []
    for dashboard in dashboards:
        results = [evaluate_panel(panel, evaluator, scraper.times, declared) for panel in dashboard["panels"]]
        no_data += [f"{dashboard['title']} / {r.title}: {r.why_empty()}" for r in results if not r.lines]
        no_data += [f"{dashboard['title']} / {r.title} (partly): no data in the simulator: {', '.join(r.absent)}"
                    for r in results if r.lines and r.absent]
        path = args.out / f"{dashboard['uid']}.png"
        draw_dashboard(dashboard, results, scraper.times, caption, path)
        print(f"wrote {path}")
    summary["script_s"] = round(time.monotonic() - started + (0 if args.from_samples is None else summary["loop_s"]))
    write_readme(args.out, summary, dashboards, scraper, fired, no_data)


def write_readme(out: Path, summary: dict[str, Any], dashboards: list[dict[str, Any]], scraper: Scraper,
                 fired: dict[str, dict[str, int]], no_data: list[str]) -> None:
    loop, deployed = summary["loop"], summary["predictive_deployed"]
    lines = [
        "# Dashboard previews",
        "",
        "Every Grafana dashboard the program deploys (`components/observability/dashboards.py`, the ConfigMaps'",
        "JSON), drawn with data from an `isf loop` run by `scripts/dashboard_previews.py` — regenerate with",
        "",
        "    .venv/bin/python scripts/dashboard_previews.py",
        "",
        (f"Run: `{summary['trace']}`, {summary['functions']} functions, trace minutes {summary['start_minute']}.."
         f"{summary['start_minute'] + summary['minutes']}, `--speed 0`; every target scraped once per simulated"
         f" minute; loop {summary['loop_s']:.0f} s, whole script {summary['script_s']:.0f} s wall. Measured by the"
         f" loop: {loop['cold_starts']} cold starts, {loop['wasted_mb_minutes']:,.0f} MB-minutes of idle warm memory"
         f" (`isf simulate` predictive-deployed: {deployed['cold_starts']}, {deployed['wasted_mb_minutes']:,.0f})."),
        "",
    ]
    lines += [f"- [{d['title']}]({d['uid']}.png)" for d in dashboards]
    active = [f"{name} ({n['pending']} min pending, {n['firing']} min firing)" for name, n in sorted(fired.items())
              if n["pending"] or n["firing"]]
    lines += ["", "Alerting rules evaluated every simulated minute over the same series; active during the run: "
              + (", ".join(active) or "none") + ".", "",
              "## Panels without data", "",
              ("Series from exporters `isf loop` does not run, or declared but never incremented in this run; each"
               " image says so on the panel."), ""]
    lines += [f"- {item}" for item in no_data] or ["- none"]
    lines += ["", "## Series each target exported", "",
              "Names declared at the target's metrics endpoint during the run (HELP/TYPE included), `up` aside.", "",
              "| target | series | names |", "|---|---|---|"]
    for job, names in sorted(scraper.exported.items()):
        ours = sorted(n for n in names if not n.endswith("_created"))
        lines.append(f"| `{job}` | {len(ours)} | {', '.join(f'`{n}`' for n in ours)} |")
    (out / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'README.md'}")


if __name__ == "__main__":
    main()
