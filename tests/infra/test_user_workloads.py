"""Users declare their own workloads and functions in the stack config; the platform deploys them hardened."""

from __future__ import annotations

from typing import Any

import pytest

from infra.composition import plan
from infra.config import StackConfig, StackConfigError
from infra.render import Rendered
from tests.infra.conftest import USER_OVERRIDES, Render, validate_manifests


@pytest.fixture
def staging_with_users(render: Render) -> Rendered:
    return render("staging", *USER_OVERRIDES)


def _in_namespace(rendered: Rendered, kind: str) -> dict[str, dict[str, Any]]:
    namespace = rendered.config.functions_namespace
    return {m["metadata"]["name"]: m for m in rendered.manifests
            if m["kind"] == kind and m["metadata"].get("namespace") == namespace}


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(StackConfigError) as caught:
        plan(StackConfig.from_mapping(data, source="Pulumi.test.yaml"), source="Pulumi.test.yaml")
    assert "Pulumi.test.yaml" in str(caught.value)
    return dict(caught.value.problems)


def test_the_staging_example_function_is_an_edge_knative_service_in_the_functions_namespace(render: Render) -> None:
    staging = render("staging")
    (component,) = [i for i in staging.inventory if i["type"] == "isf:workloads:KnativeFunction"]
    assert component["name"] == "isf-function-hello"
    hello = _in_namespace(staging, "Service")["hello"]
    assert hello["apiVersion"] == "serving.knative.dev/v1"
    assert hello["metadata"]["labels"]["isf.io/function"] == "hello"
    pod = hello["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"tier": "edge"}
    assert pod["containers"][0]["env"] == [{"name": "TARGET", "value": "staging"}]
    assert hello["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"] == "5"


def test_functions_carry_the_label_the_warming_and_placement_services_select_on(render: Render) -> None:
    from runtime.contract.kubernetes import FUNCTION_LABEL

    for name, service in _in_namespace(render("staging"), "Service").items():
        assert service["metadata"]["labels"][FUNCTION_LABEL] == name


def test_the_functions_namespace_is_created_for_the_mesh_even_when_the_stack_lists_no_function(render: Render) -> None:
    production = render("production")
    assert not production.config.functions
    (namespace,) = [m for m in production.manifests
                    if m["kind"] == "Namespace" and m["metadata"]["name"] == production.config.functions_namespace]
    labels = namespace["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled"
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_a_renamed_functions_namespace_holds_the_functions(render: Render) -> None:
    rendered = render("staging", "functions_namespace=team-a")
    assert _in_namespace(rendered, "Service")["hello"]["metadata"]["namespace"] == "team-a"


def test_user_workloads_get_every_derived_object_and_all_of_them_validate(staging_with_users: Rendered) -> None:
    kinds = {kind: set(_in_namespace(staging_with_users, kind)) for kind in
             ("Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler",
              "ServiceMonitor")}
    assert all("orders-api" in names for names in kinds.values()), kinds
    assert {"hello", "embed"} <= kinds["Service"]
    version = staging_with_users.config.kubernetes_version
    assert validate_manifests(staging_with_users.manifests, version) == len(staging_with_users.manifests)


def test_user_workloads_and_functions_run_hardened(staging_with_users: Rendered) -> None:
    deployment = _in_namespace(staging_with_users, "Deployment")["orders-api"]
    functions = [m for m in _in_namespace(staging_with_users, "Service").values()
                 if m["apiVersion"] == "serving.knative.dev/v1"]
    assert len(functions) == 2
    for manifest in [deployment, *functions]:
        pod = manifest["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"], manifest["metadata"]["name"]
            assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {"drop": ["ALL"]}
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"])


def test_a_gpu_function_lands_on_the_tainted_gpu_pool(staging_with_users: Rendered) -> None:
    pod = _in_namespace(staging_with_users, "Service")["embed"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"tier": "cloud", "nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_functions_wait_for_knative_serving_and_workloads_for_the_monitoring_crds(render: Render) -> None:
    from infra.composition import compose, plan_stack
    from infra.engine_config import read_stack_file
    from infra.mocks import run_program
    from tests.infra.conftest import PROJECT_DIR

    engine = read_stack_file(PROJECT_DIR / "Pulumi.staging.yaml", list(USER_OVERRIDES))
    platform_plan = plan_stack(engine)
    records = run_program(lambda: compose(platform_plan), config=engine.values,
                          secret_keys=engine.secret_keys, stack="staging")
    for component in ("isf-function-hello", "isf-workload-orders-api"):
        waits_for = {urn.split("::")[-1] for urn in records.one(
            "isf:workloads:KnativeFunction" if "function" in component else "isf:workloads:Workload", component
        ).dependencies}
        assert {"isf-functions-namespace", "isf-serving-knative-serving", "isf-monitoring-prometheus-stack"} <= waits_for


FUNCTION = {"name": "f", "image": "img:1"}
WORKLOAD = {"name": "w", "image": "img:1", "ports": [{"name": "http", "container_port": 8080}]}


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({"functions": [FUNCTION, {**FUNCTION, "name": "g", "tier": "orbit"}]}, "functions[1].tier",
         "'edge', 'regional' or 'cloud'"),
        ({"functions": [{**FUNCTION, "imag": "x"}]}, "functions[0].imag", "unknown key"),
        ({"functions": [{"name": "f"}]}, "functions[0].image", "Field required"),
        ({"functions": [{**FUNCTION, "name": "Not_DNS"}]}, "functions[0].name", "pattern"),
        ({"functions": [{**FUNCTION, "min_scale": 4, "max_scale": 2}]}, "functions[0]", "must not exceed max_scale"),
        ({"functions": [{**FUNCTION, "resources": {"cpu_request": "lots"}}]}, "functions[0].resources.cpu_request",
         "not a Kubernetes quantity"),
        ({"functions": [FUNCTION, FUNCTION]}, "functions[1].name", "already used by functions[0]"),
        ({"workloads": [WORKLOAD], "functions": [{**FUNCTION, "name": "w"}]}, "functions[0].name",
         "already used by workloads[0]"),
        ({"workloads": [{**WORKLOAD, "ports": [], "probes": None, "expose": "http"}]}, "workloads[0]",
         "needs at least one port"),
        ({"workloads": [{**WORKLOAD, "replicas": -1}]}, "workloads[0].replicas", "greater than or equal to 0"),
        ({"functions": [{**FUNCTION, "gpus": 1, "tier": "edge"}]}, "functions[0].tier", "GPU pool's tier 'cloud'"),
        ({"gpu": {"enabled": False}, "workloads": [{**WORKLOAD, "gpus": 1, "tier": "cloud"}]}, "workloads[0].gpus",
         "GPU pool is off"),
        ({"functions": [{**FUNCTION, "gpus": 2, "tier": "cloud"}]}, "functions[0].gpus", "exceeds gpu.gpus_per_node"),
        ({"functions_namespace": "Functions"}, "functions_namespace", "pattern"),
    ],
)
def test_a_bad_workload_or_function_entry_is_reported_by_its_path(data: dict[str, Any], path: str, fragment: str) -> None:
    problems = _problems(data)
    assert path in problems, problems
    assert fragment in problems[path]


def test_every_bad_entry_is_listed_at_once() -> None:
    problems = _problems({"functions": [{**FUNCTION, "tier": "orbit"}, {**FUNCTION, "port": 0}],
                          "workloads": [{"image": "x"}]})
    assert set(problems) == {"functions[0].tier", "functions[1].port", "workloads[0].name"}


def test_a_bad_entry_in_a_stack_file_names_the_file(render: Render) -> None:
    with pytest.raises(StackConfigError, match=r"Pulumi\.staging\.yaml[\s\S]*functions\[0\]\.tier"):
        render("staging", "functions[0].tier=orbit")
