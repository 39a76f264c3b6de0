"""The pinned releases' CRDs (tests/data/upstream/crds/<component>/<version>/) as strict JSON-schema validators.

A custom resource is validated against the `openAPIV3Schema` of the served version its apiVersion names, with
unknown fields rejected wherever a schema lists properties (the API server prunes or, with
`fieldValidation=Strict`, rejects them) unless it carries `x-kubernetes-preserve-unknown-fields`.
`metadata` is left to the API server's ObjectMeta rules (the CRD schema only says `type: object`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import yaml

from tests.support.helm_keys import UPSTREAM


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader that reads a bare `=` as the string it is in YAML 1.2 (prometheus-operator's AlertmanagerConfig
    CRD has such enum items; PyYAML resolves them to the YAML 1.1 `value` tag, see tests/data/upstream/README.md)."""


def _plain_string(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_Yaml12Loader.add_constructor("tag:yaml.org,2002:value", _plain_string)


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    component: str
    release: str
    versions: Mapping[str, Mapping[str, Any]]  # served versions -> openAPIV3Schema


@cache
def crds() -> dict[tuple[str, str], Crd]:
    """Every stored CRD by (group, kind)."""
    found: dict[tuple[str, str], Crd] = {}
    for path in sorted((UPSTREAM / "crds").glob("*/*/*.yaml")):
        doc = yaml.load(path.read_text(), Loader=_Yaml12Loader)
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        versions = {v["name"]: v["schema"]["openAPIV3Schema"] for v in spec["versions"] if v.get("served")}
        found[(spec["group"], spec["names"]["kind"])] = Crd(
            spec["group"], spec["names"]["kind"], path.parent.parent.name, path.parent.name, versions
        )
    return found


def _strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value) for key, value in schema.items()}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def _validator(group: str, kind: str, version: str) -> jsonschema.Draft7Validator:
    schema = _strict(crds()[(group, kind)].versions[version])
    # Every object may carry its type; some CRDs (Istio's) leave apiVersion/kind out of their root properties.
    properties = schema.setdefault("properties", {})
    properties.pop("metadata", None)
    if "metadata" in schema.get("required", []):
        schema["required"] = [field for field in schema["required"] if field != "metadata"]
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    return jsonschema.Draft7Validator(schema)


def crd_for(obj: Mapping[str, Any]) -> Crd | None:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return crds().get((group, str(obj.get("kind"))))


def crd_errors(obj: Mapping[str, Any]) -> list[str]:
    """Why the API server would reject `obj` under its stored CRD (empty when it is valid)."""
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    crd = crds().get((group, str(obj.get("kind"))))
    if crd is None:
        return [f"no stored CRD for {obj.get('apiVersion')} {obj.get('kind')}"]
    if version not in crd.versions:
        return [f"{crd.kind}: version {version} is not served by {crd.component} {crd.release} ({sorted(crd.versions)})"]
    body = {key: value for key, value in obj.items() if key != "metadata"}
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(_validator(group, crd.kind, version).iter_errors(body), key=lambda e: list(map(str, e.path)))
    ]
