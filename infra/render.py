"""Offline preview: run the program under the mock engine and turn what it registered into files.

Output is deterministic: objects and resources sorted, integer-valued numbers written as integers (the
engine's wire format makes every number a float), secrets redacted.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.config import StackConfig
from infra.engine_config import EngineConfig, read_stack_file
from infra.mocks import Records, ResourceRecord, is_secret, run_program, unwrap_secrets

REDACTED = "[secret]"

# Provider-side components and bulk loaders: not objects themselves (their inputs are in the inventory).
_NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")
_HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
_GENERATED_SECRET_TYPES = ("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString")


@dataclass(frozen=True)
class HelmChart:
    """One Helm-based part: which chart, pinned where, with the values it is installed with."""

    name: str
    chart: str
    version: str
    repository: str
    namespace: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """A stack, rendered: the inventory of every resource, the Kubernetes objects, and the Helm charts."""

    stack: str
    config: StackConfig
    inventory: list[dict[str, Any]]
    manifests: list[dict[str, Any]]
    charts: list[HelmChart]
    # The raw registrations (resource options, aliases, URNs), unredacted: for checks, never for output.
    records: Records | None = field(default=None, repr=False, compare=False)

    def count_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.inventory:
            counts[item["type"]] = counts.get(item["type"], 0) + 1
        return dict(sorted(counts.items()))


def normalise_numbers(value: Any) -> Any:
    """Integer-valued floats become ints, recursively."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalise_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_numbers(v) for v in value]
    return value


class Redactor:
    """Hides secret values: engine-marked secrets, generated passwords, placeholders, Kubernetes Secret data."""

    def __init__(self, known_secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.known = sorted({s for s in known_secrets if len(s) >= 6}, key=len, reverse=True)

    def _scrub(self, value: Any) -> tuple[Any, bool]:
        """Replace known secrets inside plain values; report whether anything was replaced."""
        if isinstance(value, str):
            scrubbed = value
            for secret in self.known:
                scrubbed = scrubbed.replace(secret, REDACTED)
            return scrubbed, scrubbed != value
        if isinstance(value, dict):
            pairs = {k: self._scrub(v) for k, v in value.items()}
            return {k: v for k, (v, _) in pairs.items()}, any(hit for _, hit in pairs.values())
        if isinstance(value, list):
            items = [self._scrub(v) for v in value]
            return [v for v, _ in items], any(hit for _, hit in items)
        return value, False

    def redact(self, value: Any) -> Any:
        """`value` with every secret replaced by `[secret]`."""
        if is_secret(value):
            inner = value["value"]
            if isinstance(inner, dict | list):
                # A secret nested in a structure marks the whole structure; keep the structure readable
                # when the secret leaves are known, else hide it all.
                scrubbed, hit = self._scrub(unwrap_secrets(inner))
                return scrubbed if hit else REDACTED
            return REDACTED
        if isinstance(value, dict):
            return {k: self.redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        return self._scrub(value)[0]


def _is_object(record: ResourceRecord) -> bool:
    return (
        record.type.startswith("kubernetes:")
        and not record.type.startswith(_NOT_OBJECTS)
        and not record.type.endswith("Patch")
        and "apiVersion" in record.inputs
        and "kind" in record.inputs
    )


def _manifest(record: ResourceRecord, redactor: Redactor) -> dict[str, Any]:
    body = normalise_numbers(redactor.redact(record.inputs))
    metadata = dict(body.get("metadata") or {})
    # Pulumi would auto-name with a random suffix; the logical name keeps renders diffable.
    metadata.setdefault("name", record.name)
    body["metadata"] = metadata
    if body["kind"] == "Secret":
        for key in ("data", "stringData"):
            if isinstance(body.get(key), dict):
                body[key] = {k: REDACTED for k in body[key]}
            elif key in body:
                body[key] = {"redacted": REDACTED}
    return body


def _chart(record: ResourceRecord, redactor: Redactor) -> HelmChart:
    inputs = normalise_numbers(redactor.redact(record.inputs))
    repository = (inputs.get("repositoryOpts") or {}).get("repo", "")
    values = inputs.get("values") or {}
    return HelmChart(
        name=record.name,
        chart=str(inputs.get("chart", "")),
        version=str(inputs.get("version", "")),
        repository=str(repository),
        namespace=str(inputs.get("namespace", "default")),
        values=values if isinstance(values, dict) else {"redacted": values},
    )


def _sort_key(manifest: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = manifest["metadata"]
    return (str(meta.get("namespace", "")), manifest["apiVersion"], manifest["kind"], str(meta["name"]))


def render_records(stack: str, config: StackConfig, records: Records, placeholders: Iterable[str]) -> Rendered:
    """Turn a program run's records into the inventory, objects and charts of a render."""
    generated = [
        str(r.outputs.get("result")) for r in records if r.type in _GENERATED_SECRET_TYPES and r.outputs.get("result")
    ]
    redactor = Redactor([*placeholders, *generated])
    inventory = sorted(
        (
            {
                "type": r.type,
                "name": r.name,
                "parent": r.parent_name,
                "inputs": normalise_numbers(redactor.redact(r.inputs)),
            }
            for r in records
        ),
        key=lambda item: (item["type"], item["name"]),
    )
    manifests = sorted((_manifest(r, redactor) for r in records if _is_object(r)), key=_sort_key)
    charts = sorted((_chart(r, redactor) for r in records if r.type in _HELM_TYPES), key=lambda c: c.name)
    return Rendered(stack, config, inventory, manifests, charts, records)


def render_stack(stack: str, *, project_dir: Path, overrides: list[str] | None = None) -> Rendered:
    """Validate `Pulumi.<stack>.yaml` (+ overrides), run the program under mocks and render the result.

    Raises `StackConfigError` before anything runs when the config is invalid (the components' Args included).
    """
    # The components import cloud SDKs; load them only when rendering.
    from infra.composition import compose, plan_stack

    engine: EngineConfig = read_stack_file(project_dir / f"Pulumi.{stack}.yaml", overrides)
    platform_plan = plan_stack(engine)
    records = run_program(
        lambda: compose(platform_plan), config=engine.values, secret_keys=engine.secret_keys, stack=stack
    )
    return render_records(stack, platform_plan.config, records, engine.placeholders)


def manifest_path(manifest: dict[str, Any]) -> Path:
    """Where an object goes under `manifests/`: `<namespace|_cluster>/<kind>[.<group>]-<name>.yaml`."""
    meta = manifest["metadata"]
    group = manifest["apiVersion"].rpartition("/")[0]
    kind = manifest["kind"].lower() + (f".{group}" if group else "")
    return Path(str(meta.get("namespace") or "_cluster")) / f"{kind}-{meta['name']}.yaml"


def write_rendered(rendered: Rendered, out: Path) -> None:
    """Write `manifests/` and `inventory.json` under `out`, replacing any previous render there."""
    manifests_dir = out / "manifests"
    if manifests_dir.exists():
        shutil.rmtree(manifests_dir)
    manifests_dir.mkdir(parents=True)
    used: set[Path] = set()
    for manifest in rendered.manifests:
        path = manifest_path(manifest)
        if path in used:
            path = path.with_name(f"{path.stem}-{len(used)}.yaml")
        used.add(path)
        (manifests_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (manifests_dir / path).write_text(yaml.safe_dump(manifest, sort_keys=True))
    (out / "inventory.json").write_text(json.dumps(rendered.inventory, indent=2, sort_keys=True) + "\n")
