"""`isf simulate` end to end on the bundled trace: table, JSON contract, Pareto PNG, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from runtime.cli import app
from runtime.sim import simulate
from runtime.sim.pareto import pareto_front
from runtime.traces import Trace


def test_simulate_writes_the_json_contract_and_a_png(tmp_path: Path) -> None:
    out, png = tmp_path / "sim.json", tmp_path / "pareto.png"
    result = CliRunner().invoke(
        app, ["simulate", "--policies", "fixed-10,fixed-60,oracle", "--json", str(out), "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert "fixed-60" in result.output
    figures = json.loads(out.read_text())["policies"]
    assert list(figures) == ["fixed-10", "fixed-60", "oracle"]
    for key in ("p75_cold_start_pct", "cold_starts", "invocations", "wasted_memory_mb_minutes",
                "wasted_memory_vs_fixed10_pct", "instance_cold_starts", "instance_idle_minutes"):  # fmt: skip
        assert key in figures["fixed-60"]
    assert figures["fixed-10"]["cold_starts"] == 4299
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_rejects_an_unknown_policy_and_a_missing_trace(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_policy = runner.invoke(app, ["simulate", "--policies", "fixed-10,clairvoyant"])
    assert bad_policy.exit_code == 2
    assert "unknown policy 'clairvoyant'" in bad_policy.output
    missing = runner.invoke(app, ["simulate", "--trace", str(tmp_path / "absent")])
    assert missing.exit_code == 2
    assert "absent" in missing.output


def test_the_pareto_front_keeps_undominated_deployable_policies_only() -> None:
    ids = ("a", "b")
    trace = Trace(ids, ids, ids, np.array([[1, 0, 0, 0, 1, 0] * 5, [1, 1, 0, 0, 0, 0] * 5], dtype=np.int64),
                  memory_mb=np.array([100.0, 50.0]))  # fmt: skip
    report = simulate(trace, ["fixed-1", "fixed-3", "fixed-4", "fixed-6", "oracle"])
    front = pareto_front(report)
    assert "oracle" not in front
    assert "fixed-1" in front
    for name in front:
        mine = report.policies[name]
        assert not any(
            other.cold_starts <= mine.cold_starts and other.wasted_memory_mb_minutes < mine.wasted_memory_mb_minutes
            for other_name, other in report.policies.items()
            if other_name != "oracle"
        )
