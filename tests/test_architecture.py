"""Arrows point one way: the runtime never imports the Pulumi program, so its image can leave it out, and no
two subpackages of `runtime/` or `components/` import each other, directly or around a loop."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "runtime"
PROGRAM_SIDE = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_random", "infra", "components")
LAYERED = ("runtime", "components")


def _imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, at module level or inside functions, relative imports resolved."""
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]  # a module's package, or the package itself
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                assert node.module is not None
                yield node.module
            else:
                base = package[: len(package) - (node.level - 1)]
                yield ".".join([*base, *([node.module] if node.module else [])])


def _imported_roots(path: Path) -> set[str]:
    return {module.split(".")[0] for module in _imports(path)}


def _subpackage(module: str) -> str | None:
    """`runtime.sim.replay` -> `runtime.sim` (top-level modules such as `runtime.settings` count as one)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in LAYERED and len(parts) > 1 else None


def _subpackage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for top in LAYERED:
        for path in (ROOT / top).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            source = _subpackage(module.removesuffix(".__init__"))
            if source is None:
                continue
            targets = {_subpackage(imported) for imported in _imports(path)}
            graph.setdefault(source, set()).update(t for t in targets if t is not None and t != source)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_subpackages_import_each_other_even_through_others_or_lazily() -> None:
    graph = _subpackage_graph()
    assert "runtime.sim" in graph and "components.cluster" in graph  # the walk saw both trees
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_loop_through_three_packages() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


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


def _contract_strings() -> dict[str, str]:
    """Every string the contract defines (labels, annotations, env names, metric names), by value -> where."""
    from runtime.contract import environment, kubernetes, metrics, scheduling

    found: dict[str, str] = {}
    for module in (environment, kubernetes, scheduling):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str):
                found[value] = f"{module.__name__}.{name}"
    for metric in metrics.ALL_METRICS:
        found[metric.name] = f"runtime.contract.metrics ({metric.name})"
    return found


def test_what_the_contract_defines_is_never_retyped_as_a_literal() -> None:
    # Plain words ("tier", "functions") also occur as ordinary data; every other contract value must come
    # from runtime/contract/ wherever production code uses it.
    contract = {value: where for value, where in _contract_strings().items() if len(value) > 8 and not value.isalpha()}
    retyped: list[str] = []
    for top in ("runtime", "components", "infra", "policy"):
        for path in (ROOT / top).rglob("*.py"):
            if path.is_relative_to(RUNTIME / "contract"):
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in contract:
                    retyped.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r} is {contract[node.value]}")
    assert retyped == []
