"""`docs/config.md` is generated from the stack config schema and must never drift from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field

from infra.config import StackConfig
from infra.reference import REFERENCE_PATH, REGENERATE, Entry, main, reference_markdown, type_name, walk
from runtime.contract import Tier
from runtime.settings import RuntimeSettings


def _entries() -> dict[str, Entry]:
    return {entry.path: entry for entry in walk(StackConfig)}


def test_docs_config_md_is_current_with_the_schema() -> None:
    assert REFERENCE_PATH.read_text() == reference_markdown(), f"docs/config.md is stale; run: {REGENERATE}"


def test_every_leaf_of_the_schema_is_documented_by_its_dotted_path() -> None:
    entries = _entries()
    for path in ("cloud", "tiers.<edge|regional|cloud>.max_nodes", "postgres.tuning.work_mem",
                 "runtime.warming.keep_alive.cost_threshold", "runtime.placement.cost_weights.user_latency",
                 "runtime.alerts.channels[].webhook", "functions[].tier", "workloads[].probes.liveness.path"):
        assert path in entries, path


def test_defaults_are_the_schema_defaults_including_nested_ones() -> None:
    entries = _entries()
    runtime = RuntimeSettings()
    assert entries["runtime.prediction.update_interval"].default == str(runtime.prediction.update_interval)
    assert entries["runtime.warming.prewarm_buffer"].default == str(runtime.warming.prewarm_buffer)
    assert entries["region"].default == '""'  # resolved per cloud at validation time, not a fixed default
    # A nested default that differs from its class's own: Probes() sets liveness.path, Probe() does not.
    assert entries["workloads[].probes.liveness.path"].default == '"/healthz"'
    assert entries["functions[].name"].default == "required"


def test_types_read_as_words_with_their_bounds() -> None:
    assert type_name(Annotated[int, Field(ge=1, le=16)]) == "int (≥ 1, ≤ 16)"
    assert type_name(Tier) == "edge | regional | cloud"
    assert type_name(list[str] | None) == "list of string, optional"
    assert _entries()["functions[].tier"].type == "edge | regional | cloud"


def test_pipes_in_types_do_not_break_the_markdown_table() -> None:
    row = next(line for line in reference_markdown().splitlines() if line.startswith("| `cloud`"))
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 4 and cells[1].strip() == "aws \\| gcp \\| existing"


def test_check_mode_fails_on_a_stale_file_and_names_the_command(tmp_path: Path, capsys: object) -> None:
    stale = tmp_path / "config.md"
    stale.write_text("# old\n")
    assert main(["--check"], stale) == 1
    assert REGENERATE in capsys.readouterr().err  # type: ignore[attr-defined]
    assert main([], stale) == 0
    assert main(["--check"], stale) == 0
