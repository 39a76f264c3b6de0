"""scripts/dashboard_previews.py draws every deployed dashboard: from a small store here (the real previews
come from an `isf loop` run), so a panel type, unit or query it cannot draw fails a test, not the docs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from runtime.contract import metrics
from tests.support.promql import Evaluator, SeriesStore

ROOT = Path(__file__).resolve().parents[2]


def _previews() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboard_previews", ROOT / "scripts" / "dashboard_previews.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def test_every_deployed_dashboard_is_drawn_with_its_panels_data_or_the_reason_it_has_none(tmp_path: Path) -> None:
    previews = _previews()
    store = SeriesStore()
    times = [60.0 * k for k in range(1, 31)]
    for k, t in enumerate(times):
        store.scrape(t, "isf-warming", f"# TYPE {metrics.WARM_POOL_TARGET.name} gauge\n"
                                       f'{metrics.WARM_POOL_TARGET.name}{{function="f"}} {k % 4}\n')
        store.scrape(t, "isf-api", f"# TYPE {metrics.INVOCATIONS.name.removesuffix('_total')} counter\n"
                                   f'{metrics.INVOCATIONS.name}{{function="f",tier="edge"}} {30 * k}\n')
    evaluator, declared = Evaluator(store), {metrics.WARM_POOL_TARGET.name, metrics.INVOCATIONS.name}
    dashboards = previews.deployed_dashboards()
    assert len(dashboards) >= 7
    results = {}
    for dashboard in dashboards:
        drawn = [previews.evaluate_panel(panel, evaluator, times, declared) for panel in dashboard["panels"]]
        previews.draw_dashboard(dashboard, drawn, times, "test", tmp_path / f"{dashboard['uid']}.png")
        assert (tmp_path / f"{dashboard['uid']}.png").stat().st_size > 10_000
        results |= {(dashboard["uid"], r.title): r for r in drawn}
    invocations = results[("isf-cold-starts", "Invocations")]
    assert [name for name, _ in invocations.lines] == ["edge"]
    assert invocations.lines[0][1][-1][1] == 0.5  # 30 per minute
    target = results[("isf-resources", "Warm pool size vs target")]
    assert [name for name, _ in target.lines] == ["target"] and target.absent == [metrics.WARM_POOL_SIZE.name]
    cpu = results[("isf-resources", "CPU by namespace")]
    assert cpu.lines == [] and "container_cpu_usage_seconds_total (cadvisor)" in cpu.why_empty()
