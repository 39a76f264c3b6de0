"""What every `isf` command does the same way (issue 14, items 6, 11, 12): help that reads normally, one plain
error line on stderr with exit 2, output folders created on demand, ids never shortened."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from typer.main import get_command
from typer.testing import CliRunner

from runtime.cli import app
from runtime.store import InvocationRecord, record_invocations
from runtime.traces import TraceFormatError, load_trace
from tests.runtime.test_forecast_eval import _write_trace
from tests.runtime.test_operator_commands import HOURS, isf  # noqa: F401 - the fixture

COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_no_type_for_flags(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "<bool>" not in result.output
    assert "--help" in result.output and "╭" not in result.output


def _trace_with_count(tmp_path: Path, count: str) -> Path:
    trace = _write_trace(tmp_path / "t", np.full((1, 30), 5))
    invocations = trace / "invocations.csv"
    lines = invocations.read_text().splitlines()
    cells = lines[1].split(",")
    cells[5] = count  # HashOwner,HashApp,HashFunction, then minute_1.. : this is minute_3
    invocations.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    return trace


@pytest.mark.parametrize(("count", "shown"), [(str(2**63), str(2**63)), ("-5", "-5"), ("2.5", "2.5"),
                                              ("x", "'x'")])
def test_a_bad_count_is_one_clear_line_naming_file_line_and_column(tmp_path: Path, count: str, shown: str) -> None:
    trace = _trace_with_count(tmp_path, count)
    with pytest.raises(TraceFormatError) as raised:
        load_trace(trace)
    message = str(raised.value)
    assert "invocations.csv, line 2, column 'minute_3'" in message and f"value {shown} " in message
    assert "np." not in message
    for command in (["import-trace", str(trace), "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
                    ["forecast-eval", "--trace", str(trace)]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "minute_3" in result.stderr and "Traceback" not in result.output and "╭" not in result.stderr


def test_forecast_eval_errors_are_plain_lines_like_the_other_commands(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["forecast-eval", "--trace", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "absent" in result.stderr and "╭" not in result.stderr


def test_forecast_eval_creates_the_folders_of_its_json_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    trace = _write_trace(tmp_path / "trace", rng.poisson(20, size=(2, 60)))
    settings = tmp_path / "fast.yaml"
    settings.write_text("prediction:\n  lstm: {hidden_size: 4, num_layers: 1, lookback_minutes: 8, epochs: 1}\n"
                        "  arima: {max_p: 1, max_d: 0, max_q: 0}\n")
    out = tmp_path / "out" / "nested" / "forecast.json"
    result = CliRunner().invoke(app, ["forecast-eval", "--trace", str(trace), "--holdout-minutes", "5",
                                      "--settings", str(settings), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["busy_functions"] == 2


def test_check_model_performance_prints_whole_ids_and_creates_its_json_folder(
    isf: CliRunner, engine: Engine, tmp_path: Path  # noqa: F811 - the fixture
) -> None:
    long_id = "0951ccc96bb7542d6d77e5f7305478d46e4b2199765e7fbbef29bb72983e16e2"
    busy = [InvocationRecord(long_id, r.minute, r.count) for r in _busy_minutes()]
    record_invocations(engine, "trace", busy)
    trained = isf.invoke(app, ["train", "--all", "--model", "naive-last", "--holdout-minutes", "30",
                               "--history-window", str(HOURS * 3600)])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "reports" / "accuracy.json"
    result = CliRunner(env={"COLUMNS": "60"}).invoke(app, ["check-model-performance", "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    assert long_id in result.stdout and "…" not in result.stdout
    assert any(row["function_id"] == long_id for row in json.loads(out.read_text()))


def _busy_minutes() -> list[InvocationRecord]:
    from datetime import timedelta

    from tests.runtime.test_operator_commands import START

    return [InvocationRecord("x", START + timedelta(minutes=m), 10 + m % 7) for m in range(HOURS * 60)]
