"""The pack's newer guarantees (GPU tolerations, PDBs, encrypted storage, private buckets) and `isf render --policy`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from infra.cli import register
from infra.render import Rendered
from policy.pack import render_violations, stack_violations, violations
from runtime.contract.scheduling import GPU_RESOURCE, GPU_TAINT_KEY
from tests.infra.conftest import PROJECT_DIR, USER_OVERRIDES, Render

KNATIVE = "kubernetes:serving.knative.dev/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"


def _rules(found: list[Any]) -> set[str]:
    return {v.rule for v in found}


def test_every_stack_variant_passes_the_stack_rules_and_the_whole_offline_check(variant: Rendered) -> None:
    assert render_violations(variant) == []


def test_user_workloads_pass_the_stack_rules(render: Render) -> None:
    assert render_violations(render("staging", *USER_OVERRIDES)) == []


def test_a_gpu_function_that_does_not_tolerate_the_gpu_taint_is_caught(render: Render) -> None:
    rendered = render("staging", *USER_OVERRIDES)
    embed = next(copy.deepcopy(i["inputs"]) for i in rendered.inventory if i["type"] == KNATIVE and "embed" in i["name"])
    pod = embed["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"][GPU_RESOURCE]
    assert "gpu-workloads-tolerate-gpu-taint" not in _rules(violations(KNATIVE, embed))
    pod["tolerations"] = [t for t in pod.get("tolerations", []) if t.get("key") != GPU_TAINT_KEY]
    found = violations(KNATIVE, embed)
    assert "gpu-workloads-tolerate-gpu-taint" in _rules(found)
    assert any(GPU_TAINT_KEY in v.message for v in found)


def test_a_multi_replica_deployment_without_its_pdb_is_caught(render: Render) -> None:
    items = [(i["type"], i["name"], i["inputs"]) for i in render("production").inventory]
    assert stack_violations(items) == []
    without = [(t, n, p) for t, n, p in items if not (t == PDB and n.endswith("isf-api"))]
    found = stack_violations(without)
    assert [(n, v.rule) for _, n, v in found] == [
        ("isf-platform-isf-api-deployment-isf-api", "k8s-multi-replica-workloads-have-pdb")
    ]


def test_a_pdb_in_another_namespace_or_for_other_pods_does_not_count() -> None:
    deployment = ("kubernetes:apps/v1:Deployment", "web", {"metadata": {"namespace": "a"}, "spec": {
        "replicas": 3, "template": {"metadata": {"labels": {"app": "web"}}}}})
    elsewhere = (PDB, "pdb", {"metadata": {"namespace": "b"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}})
    other = (PDB, "pdb", {"metadata": {"namespace": "a"}, "spec": {"selector": {"matchLabels": {"app": "api"}}}})
    right = (PDB, "pdb", {"metadata": {"namespace": "a"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}})
    assert len(stack_violations([deployment, elsewhere, other])) == 1
    assert stack_violations([deployment, right]) == []


def test_an_unencrypted_ebs_storage_class_is_caught(render: Render) -> None:
    storage_class = next(
        copy.deepcopy(i["inputs"]) for i in render("staging").inventory
        if i["type"] == "kubernetes:storage.k8s.io/v1:StorageClass"
    )
    assert violations("kubernetes:storage.k8s.io/v1:StorageClass", storage_class) == []
    storage_class["parameters"]["encrypted"] = "false"
    assert "storage-encrypted" in _rules(violations("kubernetes:storage.k8s.io/v1:StorageClass", storage_class))
    assert "storage-encrypted" in _rules(violations("aws:ebs/volume:Volume", {"size": 10}))
    assert violations("aws:ebs/volume:Volume", {"size": 10, "encrypted": True}) == []


@pytest.mark.parametrize(
    ("resource_type", "props"),
    [
        ("aws:s3/bucketV2:BucketV2", {"acl": "public-read"}),
        ("aws:s3/bucketAclV2:BucketAclV2", {"acl": "public-read-write"}),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
         {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True}),
        ("gcp:storage/bucket:Bucket", {"uniformBucketLevelAccess": True}),
        ("gcp:storage/bucketIAMMember:BucketIAMMember", {"member": "allUsers", "role": "roles/storage.objectViewer"}),
    ],
)
def test_a_public_bucket_is_caught(resource_type: str, props: dict[str, Any]) -> None:
    assert "buckets-private" in _rules(violations(resource_type, props))


def test_private_buckets_pass() -> None:
    flags: dict[str, Any] = dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    assert violations("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", flags) == []
    gcs = {"uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced"}
    assert violations("gcp:storage/bucket:Bucket", gcs) == []


def test_isf_render_policy_runs_the_pack_offline(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    ok = runner.invoke(app, ["render", "--stack", "production", "--out", str(tmp_path / "ok"), "--policy",
                             "--project-dir", str(PROJECT_DIR)])
    assert ok.exit_code == 0, ok.output
    assert "policy: 0 violations" in ok.output
