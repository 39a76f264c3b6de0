"""Render every stack on every cloud into one folder, or check that today's renders equal a saved one.

    .venv/bin/python scripts/render_snapshot.py --out out/snapshot            # save
    .venv/bin/python scripts/render_snapshot.py --compare out/snapshot        # exit 1 on any difference

A refactor that must not change behaviour saves a snapshot before and compares after: every manifest
and the whole inventory of staging and production, each on AWS, GCP and an existing cluster.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

def render_all(out: Path) -> None:
    """Write `out/<variant>/{manifests/,inventory.json}` for every variant."""
    from infra.render import render_stack, write_rendered
    from infra.urns import variant_overrides

    with variant_overrides() as variants:  # the same stack x cloud variants the recorded URNs cover
        for label, (stack, overrides) in variants.items():
            rendered = render_stack(stack, project_dir=ROOT, overrides=overrides)
            write_rendered(rendered, out / label)
            print(f"{label:20} {len(rendered.inventory):4} resources, {len(rendered.manifests):3} objects")


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def compare(saved: Path) -> int:
    """Render afresh and diff against `saved`; print every difference, return how many files differ."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "fresh"
        render_all(fresh)
        old, new = _files(saved), _files(fresh)
        differing = 0
        for name in sorted(old.keys() | new.keys()):
            if old.get(name) == new.get(name):
                continue
            differing += 1
            diff = difflib.unified_diff(
                (old.get(name) or "").splitlines(keepends=True),
                (new.get(name) or "").splitlines(keepends=True),
                fromfile=f"saved/{name}",
                tofile=f"fresh/{name}",
            )
            sys.stdout.writelines(list(diff)[:80])
        print(f"{differing} of {len(old.keys() | new.keys())} files differ")
        return differing


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", type=Path, help="save a snapshot here")
    group.add_argument("--compare", type=Path, help="compare today's renders with this snapshot")
    args = parser.parse_args()
    if args.out:
        render_all(args.out)
    else:
        sys.exit(1 if compare(args.compare) else 0)


if __name__ == "__main__":
    main()
