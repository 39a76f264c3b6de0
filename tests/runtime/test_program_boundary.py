"""Arrows point one way: the runtime never imports the Pulumi program, so its image can leave it out."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
PROGRAM_SIDE = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_random", "infra", "components")


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_runtime_module_imports_the_program_side_not_even_lazily() -> None:
    offenders = {
        str(path.relative_to(RUNTIME)): sorted(_imported_roots(path) & set(PROGRAM_SIDE))
        for path in RUNTIME.rglob("*.py")
    }
    assert {path: roots for path, roots in offenders.items() if roots} == {}


def test_isf_starts_without_the_program_side_installed() -> None:
    # Hide infra/ and components/ as the runtime image does; `isf --help` still works, without `render`.
    code = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {PROGRAM_SIDE!r}:\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from runtime.cli import app\n"
        "print(sorted(c.name or c.callback.__name__ for c in app.registered_commands))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "render" not in result.stdout
    assert "simulate" in result.stdout
