"""The GitOps Stack resources are valid `pulumi.com/v1` Stacks of the Pulumi Kubernetes Operator v2.9.0."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.infra.conftest import PROJECT_DIR

CRD = Path(__file__).resolve().parents[1] / "data/upstream/crds/pulumi-kubernetes-operator/2.9.0/pulumi.com_stacks.yaml"
STACKS = sorted((PROJECT_DIR / "deploy" / "gitops").glob("stack-*.yaml"))


def _strict(schema: Any) -> Any:
    """The schema with unknown fields rejected wherever it lists properties and does not preserve unknown ones."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def _validator() -> jsonschema.Draft7Validator:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = _strict(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta is the API server's, not the CRD's
    return jsonschema.Draft7Validator(schema)


def test_there_is_a_stack_resource_per_environment() -> None:
    assert [p.name for p in STACKS] == ["stack-production.yaml", "stack-staging.yaml"]


@pytest.mark.parametrize("path", STACKS, ids=lambda p: p.name)
def test_the_stack_resource_matches_the_crd_schema(path: Path) -> None:
    stack = yaml.safe_load(path.read_text())
    assert (stack["apiVersion"], stack["kind"]) == ("pulumi.com/v1", "Stack")
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in _validator().iter_errors(stack)]
    assert errors == []
    environment = path.stem.removeprefix("stack-")
    assert stack["spec"]["stack"].endswith(f"/{environment}")
    assert (PROJECT_DIR / stack["spec"]["repoDir"] / f"Pulumi.{environment}.yaml").is_file()


def test_an_unknown_or_mistyped_field_is_rejected() -> None:
    stack = yaml.safe_load(STACKS[0].read_text())
    typo = copy.deepcopy(stack)
    typo["spec"]["refreshh"] = True
    wrong_type = copy.deepcopy(stack)
    wrong_type["spec"]["resyncFrequencySeconds"] = "hourly"
    assert list(_validator().iter_errors(typo)) and list(_validator().iter_errors(wrong_type))
