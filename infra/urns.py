"""Upgrade safety: every stack's resource URNs, recorded, so a change that would replace a resource shows.

Pulumi identifies a resource by its URN, `urn:pulumi:<stack>::<project>::<parent types $ type>::<name>`. A
change of name, type or parent is a new URN: `pulumi up` creates the new resource and deletes the old one
(a database, with its data) unless the resource declares `aliases` naming the old URN.
`isf urns --write` records each stack variant's URNs under `infra/recorded_urns/`; the tests fail when a
recorded URN is neither rendered any more nor named by an alias.

The URN is computed as the engine does (pulumi/pulumi `pkg/resource/deploy/deployment.go`, `generateURN`:
the parent's whole qualified type, none for children of the root stack), not as the mock monitor does
(it keeps only the parent's last type and prefixes `pulumi:pulumi:Stack`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.mocks import Records, ResourceRecord

PROJECT = "isf"
RECORDED_DIR = Path(__file__).resolve().parent / "recorded_urns"
_STACK_TYPE = "pulumi:pulumi:Stack"

# (stack, overrides) per cloud: both stack files on AWS, GCP and an existing cluster ({kubeconfig}: a file).
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "staging-aws": ("staging", []),
    "staging-gcp": ("staging", ["cloud=gcp", "region=us-central1", "gcp.project=isf-staging"]),
    "staging-existing": ("staging", ["cloud=existing", "existing.kubeconfig={kubeconfig}"]),
    "production-gcp": ("production", []),
    "production-aws": ("production", ["cloud=aws", "region=eu-west-1"]),
    "production-existing": ("production", ["cloud=existing", "existing.kubeconfig={kubeconfig}"]),
}
_KUBECONFIG = """apiVersion: v1
kind: Config
current-context: lab
clusters: [{name: lab, cluster: {server: 'https://lab.example:6443'}}]
users: [{name: lab, user: {token: t}}]
contexts: [{name: lab, context: {cluster: lab, user: lab}}]
"""


def _is_stack(urn: str | None) -> bool:
    return urn is None or urn.split("::")[2].split("$")[-1] == _STACK_TYPE


class UrnIndex:
    """Engine URNs of one program run, and the old URNs its aliases (and its parents' aliases) still claim."""

    def __init__(self, records: Records, *, stack: str, project: str = PROJECT) -> None:
        self.stack, self.project = stack, project
        self._by_mock_urn = {r.urn: r for r in records}
        self._records = list(records)

    def _parent(self, record: ResourceRecord) -> ResourceRecord | None:
        return None if _is_stack(record.parent_urn) else self._by_mock_urn.get(str(record.parent_urn))

    def _urn(self, type_: str, name: str, parent_urn: str | None) -> str:
        qualified = type_ if parent_urn is None else f"{parent_urn.split('::')[2]}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"

    def urn(self, record: ResourceRecord) -> str:
        """The URN the engine gives `record`."""
        parent = self._parent(record)
        return self._urn(record.type, record.name, None if parent is None else self.urn(parent))

    def urns(self) -> list[str]:
        """Every registered resource's URN, sorted."""
        return sorted(self.urn(r) for r in self._records)

    def alias_urns(self, record: ResourceRecord) -> set[str]:
        """The URNs `record` answers to besides its own: its aliases, under its parent's URN or any of the parent's aliases."""
        parent = self._parent(record)
        parents: set[str | None] = (
            {None} if parent is None else {self.urn(parent), *self.alias_urns(parent)}
        )
        found: set[str] = set()
        for alias in record.aliases:
            if alias.urn:
                found.add(alias.urn)
                continue
            name, type_ = alias.name or record.name, alias.type or record.type
            if alias.no_parent:
                found.add(self._urn(type_, name, None))
            elif alias.parent_urn:
                pinned = self._by_mock_urn.get(alias.parent_urn)
                found.add(self._urn(type_, name, None if pinned is None else self.urn(pinned)))
            else:
                found |= {self._urn(type_, name, p) for p in parents}
        # A child keeps its name and type when only its parent was renamed (the engine inherits parent aliases).
        found |= {self._urn(record.type, record.name, p) for p in parents if p is not None}
        return found - {self.urn(record)}

    def claimed(self) -> set[str]:
        """Every URN the program keeps: the resources' own and every alias."""
        return {urn for r in self._records for urn in (self.urn(r), *self.alias_urns(r))}


def lost_urns(recorded: list[str], index: UrnIndex) -> list[str]:
    """Recorded URNs that no resource is or aliases: `pulumi up` would delete (and recreate) each."""
    claimed = index.claimed()
    return [urn for urn in recorded if urn not in claimed]


def recorded_path(variant: str, directory: Path = RECORDED_DIR) -> Path:
    return directory / f"{variant}.txt"


def read_recorded(variant: str, directory: Path = RECORDED_DIR) -> list[str]:
    """The URNs recorded for a variant (one a line, `#` comments allowed)."""
    lines = recorded_path(variant, directory).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@contextmanager
def variant_overrides() -> Iterator[dict[str, tuple[str, list[str]]]]:
    """VARIANTS with `{kubeconfig}` filled in by a throw-away kubeconfig file."""
    with tempfile.TemporaryDirectory() as scratch:
        kubeconfig = Path(scratch) / "kubeconfig"
        kubeconfig.write_text(_KUBECONFIG)
        yield {
            label: (stack, [o.format(kubeconfig=kubeconfig) for o in overrides])
            for label, (stack, overrides) in VARIANTS.items()
        }


def variant_index(stack: str, overrides: list[str], *, project_dir: Path) -> UrnIndex:
    """Render a stack variant and index its URNs."""
    from infra.render import render_stack

    rendered = render_stack(stack, project_dir=project_dir, overrides=overrides)
    assert rendered.records is not None
    return UrnIndex(rendered.records, stack=stack)


def write_recorded(project_dir: Path, directory: Path = RECORDED_DIR) -> dict[str, int]:
    """Record every variant's URNs (`isf urns --write`); returns how many per variant."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with variant_overrides() as variants:
        for label, (stack, overrides) in variants.items():
            urns = variant_index(stack, overrides, project_dir=project_dir).urns()
            header = (
                f"# URNs of stack {stack} ({label}), written by `isf urns --write`. A URN that disappears is a\n"
                "# resource `pulumi up` would replace: give the renamed resource `aliases=[...]` instead.\n"
            )
            recorded_path(label, directory).write_text(header + "\n".join(urns) + "\n")
            counts[label] = len(urns)
    return counts


def check_recorded(project_dir: Path, directory: Path = RECORDED_DIR) -> dict[str, list[str]]:
    """Per variant, the recorded URNs the program would lose (`isf urns --check`)."""
    with variant_overrides() as variants:
        return {
            label: lost_urns(read_recorded(label, directory), variant_index(stack, overrides, project_dir=project_dir))
            for label, (stack, overrides) in variants.items()
        }
