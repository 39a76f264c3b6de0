"""`isf diff`: what a change does to a stack, as a pull-request comment.

The stack is rendered twice under the mock engine: at a git ref (in a throw-away `git worktree`, with that
ref's own code, run by this same interpreter) and in the working tree. Resources are matched by
(type, logical name), the same identity the URN carries, so a rename shows as one removal plus one addition.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Inventory = list[dict[str, Any]]
# A GitHub comment holds at most 65,536 characters; leave room for the workflow's header.
COMMENT_LIMIT = 60_000
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_MISSING: Any = object()

# Run inside the worktree (cwd), so `infra` imports from the ref's code, not from the working tree.
_RENDER_AT_REF = """
import json, sys
from pathlib import Path
from infra.render import render_stack
rendered = render_stack(sys.argv[2], project_dir=Path("."), overrides=sys.argv[3:])
Path(sys.argv[1]).write_text(json.dumps(rendered.inventory, sort_keys=True))
"""


class DiffError(Exception):
    """The base ref could not be checked out or rendered; the message says why."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource that is new, gone, or whose inputs (or parent) differ."""

    type: str
    name: str
    paths: tuple[str, ...] = ()
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def unified_diff(self, base_label: str, head_label: str) -> str:
        """The resource's inputs (a Kubernetes object: its manifest) as a unified YAML diff."""
        return "".join(
            difflib.unified_diff(
                _yaml(self.before).splitlines(keepends=True),
                _yaml(self.after).splitlines(keepends=True),
                fromfile=f"{base_label}/{self.type}/{self.name}",
                tofile=f"{head_label}/{self.type}/{self.name}",
            )
        )


@dataclass(frozen=True)
class RenderDiff:
    """Added, changed and removed resources of one stack between two renders."""

    stack: str
    base: str
    head: str
    added: list[ResourceChange] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    removed: list[ResourceChange] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable form (`isf diff --json`)."""

        def entry(change: ResourceChange, with_diff: bool = False) -> dict[str, Any]:
            item: dict[str, Any] = {"type": change.type, "name": change.name}
            if with_diff:
                item["paths"] = list(change.paths)
                item["diff"] = change.unified_diff(self.base, self.head)
            return item

        return {
            "stack": self.stack,
            "base": self.base,
            "head": self.head,
            "summary": {"added": len(self.added), "changed": len(self.changed), "removed": len(self.removed)},
            "added": [entry(c) for c in self.added],
            "changed": [entry(c, with_diff=True) for c in self.changed],
            "removed": [entry(c) for c in self.removed],
        }

    def markdown(self, limit: int = COMMENT_LIMIT) -> str:
        """A PR comment: a summary table, then each changed resource's unified diff in a `<details>` block."""
        title = f"### `isf diff` — stack `{self.stack}`: `{self.base}` → {self.head}"
        if not self.has_changes:
            return f"{title}\n\nNo changes: every resource renders the same.\n"
        lines = [
            title,
            "",
            f"**{len(self.added)} to add, {len(self.changed)} to change, {len(self.removed)} to remove**",
            "",
            "| | type | name | changed inputs |",
            "|---|---|---|---|",
        ]
        for sign, changes in (("+", self.added), ("~", self.changed), ("-", self.removed)):
            for change in changes:
                paths = ", ".join(f"`{p}`" for p in change.paths[:8])
                more = f" and {len(change.paths) - 8} more" if len(change.paths) > 8 else ""
                lines.append(f"| {sign} | `{change.type}` | `{change.name}` | {paths}{more} |")
        if self.removed:
            lines += ["", "Removed resources are deleted by `pulumi up` (a rename without `aliases` replaces)."]
        body = "\n".join(lines) + "\n"
        omitted = 0
        for change in self.changed:
            block = (
                f"\n<details><summary><code>{change.type}</code> <code>{change.name}</code></summary>\n\n"
                f"```diff\n{change.unified_diff(self.base, self.head)}```\n\n</details>\n"
            )
            if len(body) + len(block) > limit:
                omitted += 1
                continue
            body += block
        if omitted:
            body += f"\n{omitted} diffs left out to fit a comment; run `isf diff` locally for all of them.\n"
        return body


def _yaml(value: dict[str, Any] | None) -> str:
    return "" if value is None else yaml.safe_dump(value, sort_keys=True, default_flow_style=False)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f'{path}[{json.dumps(key)}]'  # annotation keys such as autoscaling.knative.dev/min-scale


def changed_paths(before: Any, after: Any, path: str = "") -> Iterator[str]:
    """Every leaf path where `before` and `after` differ, like `spec.template.spec.containers[0].image`."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys(), key=str):
            if before.get(key, _MISSING) != after.get(key, _MISSING):
                yield from changed_paths(before.get(key, _MISSING), after.get(key, _MISSING), _join(path, key))
    elif isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            old = before[index] if index < len(before) else _MISSING
            new = after[index] if index < len(after) else _MISSING
            if old != new:
                yield from changed_paths(old, new, _join(path, index))
    elif before != after:
        yield path or "(root)"


def diff_inventories(stack: str, base: Inventory, head: Inventory, *, base_label: str, head_label: str) -> RenderDiff:
    """Compare two render inventories (the `inventory.json` lists) resource by resource."""
    olds = {(item["type"], item["name"]): item for item in base}
    news = {(item["type"], item["name"]): item for item in head}
    result = RenderDiff(stack, base_label, head_label)
    for key in sorted(news.keys() - olds.keys()):
        result.added.append(ResourceChange(*key, after=news[key]["inputs"]))
    for key in sorted(olds.keys() - news.keys()):
        result.removed.append(ResourceChange(*key, before=olds[key]["inputs"]))
    for key in sorted(olds.keys() & news.keys()):
        old, new = olds[key], news[key]
        paths = list(changed_paths(old["inputs"], new["inputs"]))
        if old.get("parent") != new.get("parent"):
            paths.insert(0, "(parent)")
        if paths:
            result.changed.append(ResourceChange(*key, tuple(paths), old["inputs"], new["inputs"]))
    return result


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DiffError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def render_inventory_at(ref: str, stack: str, overrides: list[str], *, project_dir: Path) -> Inventory:
    """Render `stack` as of git `ref` in a temporary worktree (never touching the checkout); [] if the ref has no such stack.

    The worktree is removed afterwards, also when the render fails.
    """
    project_dir = project_dir.resolve()
    top = Path(_git(project_dir, "rev-parse", "--show-toplevel"))
    inside = project_dir.relative_to(top)
    commit = _git(top, "rev-parse", "--verify", f"{ref}^{{commit}}")
    with tempfile.TemporaryDirectory(prefix="isf-diff-") as scratch:
        tree = Path(scratch) / "tree"
        _git(top, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        try:
            where = tree / inside
            if not (where / f"Pulumi.{stack}.yaml").is_file():
                return []  # a stack the ref did not have yet: everything is new
            out = Path(scratch) / "inventory.json"
            env = {**os.environ, "PYTHONPATH": str(where)}
            done = subprocess.run(
                [sys.executable, "-c", _RENDER_AT_REF, str(out), stack, *overrides],
                cwd=where, env=env, capture_output=True, text=True, check=False,
            )
            if done.returncode != 0:
                tail = "\n".join(done.stderr.strip().splitlines()[-15:])
                raise DiffError(f"rendering {stack} at {ref} failed:\n{tail}")
            inventory: Inventory = json.loads(out.read_text())
            return inventory
        finally:
            subprocess.run(["git", "-C", str(top), "worktree", "remove", "--force", str(tree)], capture_output=True, check=False)
            subprocess.run(["git", "-C", str(top), "worktree", "prune"], capture_output=True, check=False)


def diff_stack(stack: str, base_ref: str, *, project_dir: Path, overrides: list[str] | None = None) -> RenderDiff:
    """`isf diff`: the stack at `base_ref` against the working tree, both with the same `--set` overrides."""
    from infra.render import render_stack

    overrides = list(overrides or [])
    base = render_inventory_at(base_ref, stack, overrides, project_dir=project_dir)
    head = render_stack(stack, project_dir=project_dir, overrides=overrides).inventory
    return diff_inventories(stack, base, head, base_label=base_ref, head_label="working tree")
