"""`isf diff`: two renders compared resource by resource, the base one rendered from a git ref in a worktree."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from infra.cli import register
from infra.diff import DiffError, changed_paths, diff_inventories, render_inventory_at
from tests.infra.conftest import PROJECT_DIR, Render

KNATIVE = "kubernetes:serving.knative.dev/v1:Service"
SECOND_FUNCTION = "functions[1]={name: embed, image: 'ghcr.io/acme/embed:0.3', tier: cloud}"


def _diff(render: Render, base: tuple[str, ...], head: tuple[str, ...]):
    return diff_inventories(
        "staging", render("staging", *base).inventory, render("staging", *head).inventory,
        base_label="main", head_label="working tree",
    )


def test_the_same_render_twice_is_no_changes_and_says_so(render: Render) -> None:
    result = _diff(render, (), ())
    assert not result.has_changes
    assert "No changes" in result.markdown()
    assert result.to_json()["summary"] == {"added": 0, "changed": 0, "removed": 0}


def test_a_new_image_is_a_changed_knative_service_with_the_image_path(render: Render) -> None:
    result = _diff(render, (), ("functions[0].image=ghcr.io/knative/helloworld-go:v2",))
    changed = {(c.type, c.name): c for c in result.changed}
    hello = next(c for key, c in changed.items() if key[0] == KNATIVE and "hello" in key[1])
    assert "spec.template.spec.containers[0].image" in hello.paths
    assert not result.added and not result.removed
    markdown = result.markdown()
    assert "0 to add, 1 to change, 0 to remove" in markdown
    assert "<details>" in markdown
    assert any(line.startswith("+") and line.endswith("image: ghcr.io/knative/helloworld-go:v2")
               for line in markdown.splitlines())
    assert result.to_json()["changed"][0]["paths"]


def test_a_function_added_and_removed_shows_as_added_and_removed(render: Render) -> None:
    added = _diff(render, (), (SECOND_FUNCTION,))
    removed = _diff(render, (SECOND_FUNCTION,), ())
    assert any(c.type == KNATIVE and "embed" in c.name for c in added.added)
    assert {(c.type, c.name) for c in added.added} == {(c.type, c.name) for c in removed.removed}
    assert "to add" in added.markdown() and "| + |" in added.markdown()
    assert "| - |" in removed.markdown()


def test_changed_paths_name_list_items_and_dotted_annotation_keys() -> None:
    before = {"metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "1"}}, "spec": {"a": [1, 2]}}
    after = {"metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "2"}}, "spec": {"a": [1, 3, 4]}}
    assert list(changed_paths(before, after)) == [
        'metadata.annotations["autoscaling.knative.dev/min-scale"]', "spec.a[1]", "spec.a[2]",
    ]


def test_a_long_diff_is_cut_to_fit_a_pull_request_comment(render: Render) -> None:
    result = _diff(render, (), ("functions[0].image=ghcr.io/knative/helloworld-go:v2",))
    assert "left out to fit a comment" in result.markdown(limit=200)


# A stand-in for the program at the base ref: proves the worktree's own code runs there, not the checkout's.
_STUB_RENDER = '''
import json
from pathlib import Path
from types import SimpleNamespace

def render_stack(stack, project_dir, overrides):
    return SimpleNamespace(inventory=json.loads((Path(project_dir) / "inventory.json").read_text()))
'''


def _git(repo: Path, *args: str) -> str:
    command = ["git", "-C", str(repo), "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, render: Render) -> Path:
    """A git repo whose committed program replays today's staging render and whose stack file is staging's."""
    root = tmp_path / "repo"
    (root / "infra").mkdir(parents=True)
    (root / "infra" / "__init__.py").write_text("")
    (root / "infra" / "render.py").write_text(_STUB_RENDER)
    (root / "inventory.json").write_text(json.dumps(render("staging").inventory))
    (root / "Pulumi.staging.yaml").write_text((PROJECT_DIR / "Pulumi.staging.yaml").read_text())
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    return root


def test_the_base_is_rendered_in_a_worktree_that_is_removed_afterwards(repo: Path, render: Render) -> None:
    (repo / "inventory.json").write_text("[]")  # the checkout changes; the ref must not see it
    inventory = render_inventory_at("HEAD", "staging", [], project_dir=repo)
    assert inventory == render("staging").inventory
    assert len(_git(repo, "worktree", "list").splitlines()) == 1
    assert _git(repo, "status", "--porcelain") == " M inventory.json\n"


def test_a_base_that_fails_to_render_still_removes_its_worktree(repo: Path) -> None:
    (repo / "infra" / "render.py").write_text("raise SystemExit('broken at the base')\n")
    _git(repo, "commit", "-q", "-am", "broken")
    with pytest.raises(DiffError, match="broken at the base"):
        render_inventory_at("HEAD", "staging", [], project_dir=repo)
    assert len(_git(repo, "worktree", "list").splitlines()) == 1


def test_a_stack_the_base_did_not_have_is_all_added(repo: Path) -> None:
    assert render_inventory_at("HEAD", "production", [], project_dir=repo) == []


def test_isf_diff_prints_markdown_and_json_for_a_changed_stack_file(repo: Path) -> None:
    stack_file = repo / "Pulumi.staging.yaml"
    stack_file.write_text(stack_file.read_text().replace("TARGET: staging", "TARGET: preview"))
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    markdown = runner.invoke(app, ["diff", "--stack", "staging", "--base", "HEAD", "--project-dir", str(repo)])
    assert markdown.exit_code == 0, markdown.output
    assert "0 to add, 1 to change, 0 to remove" in markdown.output
    assert "`spec.template.spec.containers[0].env[0].value`" in markdown.output
    as_json = runner.invoke(
        app, ["diff", "--stack", "staging", "--base", "HEAD", "--project-dir", str(repo), "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output)
    assert report["summary"] == {"added": 0, "changed": 1, "removed": 0}
    assert report["changed"][0]["type"] == KNATIVE
    stack_file.write_text((PROJECT_DIR / "Pulumi.staging.yaml").read_text())
    unchanged = runner.invoke(app, ["diff", "--stack", "staging", "--base", "HEAD", "--project-dir", str(repo)])
    assert unchanged.exit_code == 0 and "No changes" in unchanged.output
