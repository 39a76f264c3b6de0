"""The pinned releases' CRDs and chart defaults under `tests/data/upstream/`, as validators for tests."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.support.helm_keys import unknown_chart_paths  # noqa: F401  (one implementation; tests import it from here too)

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"


@cache
def chart_values(chart: str, version: str) -> dict[str, Any]:
    """A chart's default values.yaml at the pinned version."""
    return yaml.safe_load((UPSTREAM / "charts" / chart / version / "values.yaml").read_text())


def _strict(schema: Any) -> Any:
    """The schema with unknown fields rejected wherever it lists properties and does not preserve unknown ones."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def crd_validator(component: str, version: str, file: str, served: str) -> jsonschema.Draft7Validator:
    """A strict validator of one CRD version's schema (ObjectMeta left to the API server)."""
    crd = yaml.safe_load((UPSTREAM / "crds" / component / version / file).read_text())
    (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == served]
    schema = _strict(entry["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def crd_errors(obj: Mapping[str, Any], component: str, version: str, file: str) -> list[str]:
    """Every schema violation of `obj` against the CRD, as 'path: message'."""
    served = str(obj["apiVersion"]).rsplit("/", 1)[1]
    validator = crd_validator(component, version, file, served)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(dict(obj))
    ]
