"""The four guides' application systems (components/apps/), rendered for staging and production on every cloud:
valid objects (built-ins strict, custom resources against their CRDs, chart values against the charts), secure
defaults, GPU pods only on GPU nodes, alerts on series that exist, and each system's own promises."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from components.apps.continual_transformer import DECLARED_METRICS as TRANSFORMER_METRICS
from components.apps.continual_transformer import PROMETHEUS_ADAPTER_RULE, REQUESTS_COUNTER
from components.apps.hsof import DCGM_SERIES, HSOF_METRICS
from components.apps.spec import AppsConfig, ContinualTransformerArgs, LlmServingArgs
from infra.config import StackConfig
from infra.render import Rendered
from runtime.contract.scheduling import GPU_LABEL, GPU_LABEL_VALUE, GPU_RESOURCE, GPU_TAINT
from tests.infra.conftest import VARIANTS, Render, render_variant, validate_manifest
from tests.support.crd_schemas import crd_errors, crd_for
from tests.support.helm_keys import chart_defaults, chart_dir, unknown_chart_paths

APP_NAMESPACES = ("sllm-system", "continual-transformer", "hsof", "ml-scheduler")
APP_CHARTS = ("prometheus-adapter", "vertical-pod-autoscaler", "dcgm-exporter", "kserve-crd", "kserve-resources", "mlflow")


@pytest.fixture(scope="module")
def renders(render: Render, lab_kubeconfig: Path) -> dict[str, Rendered]:
    return {name: render_variant(render, name, lab_kubeconfig) for name in VARIANTS}


def _apps(rendered: Rendered) -> list[dict[str, Any]]:
    return [m for m in rendered.manifests if m["metadata"].get("namespace") in APP_NAMESPACES
            or m["metadata"]["name"].startswith("ml-scheduler-as-")]


def _of(rendered: Rendered, kind: str, namespace: str) -> list[dict[str, Any]]:
    return [m for m in rendered.manifests if m["kind"] == kind and m["metadata"].get("namespace") == namespace]


def _one(rendered: Rendered, kind: str, namespace: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in _of(rendered, kind, namespace) if m["metadata"]["name"] == name]
    return found


def _pods(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["spec"]["template"]["spec"]


# --- every object valid, every value path known -----------------------------------------------------------


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_app_object_is_valid_built_ins_strictly_and_custom_resources_against_their_crds(
    renders: dict[str, Rendered], name: str
) -> None:
    rendered = renders[name]
    objects = _apps(rendered)
    assert {m["metadata"].get("namespace") for m in objects} >= set(APP_NAMESPACES)
    problems: dict[str, list[str]] = {}
    for manifest in objects:
        where = f"{manifest['kind']} {manifest['metadata'].get('namespace', '')}/{manifest['metadata']['name']}"
        if crd_for(manifest) is not None:
            if errors := crd_errors(manifest):
                problems[where] = errors
        else:
            validate_manifest(manifest, rendered.config.kubernetes_version)
    assert problems == {}
    kinds = {m["kind"] for m in objects}
    assert {"StatefulSet", "Gateway", "HTTPRoute", "Certificate", "EnvoyFilter", "VerticalPodAutoscaler",
            "InferenceService", "PrometheusRule", "PodMonitor", "ServiceMonitor", "AlertmanagerConfig",
            "PersistentVolumeClaim", "ClusterRoleBinding"} <= kinds


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_value_the_app_charts_set_exists_in_the_pinned_chart(renders: dict[str, Rendered], name: str) -> None:
    charts = {chart.chart: chart for chart in renders[name].charts if chart.chart in APP_CHARTS}
    assert set(charts) == set(APP_CHARTS)
    unknown = {
        chart.chart: unknown_chart_paths(chart.values, chart_defaults(chart.chart, chart.version))
        for chart in charts.values()
        if (chart_dir(chart.chart, chart.version) / "values.yaml").exists()
    }
    assert set(unknown) == set(APP_CHARTS)
    assert {chart: paths for chart, paths in unknown.items() if paths} == {}


# --- secure defaults and GPU placement --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_app_pod_is_hardened_bounded_and_probed(renders: dict[str, Rendered], name: str) -> None:
    controllers = [m for m in _apps(renders[name]) if m["kind"] in ("Deployment", "StatefulSet")]
    assert len(controllers) >= 7
    for manifest in controllers:
        where = f"{manifest['kind']} {manifest['metadata']['name']}"
        pod = _pods(manifest)
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in pod["containers"]:
            security = container["securityContext"]
            assert (security["readOnlyRootFilesystem"], security["allowPrivilegeEscalation"]) == (True, False), where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]) <= set(container["resources"]["limits"])
            assert "livenessProbe" in container and "readinessProbe" in container, where
            assert not container["image"].endswith(":latest") and ":" in container["image"], where
    isvcs = [m for m in _apps(renders[name]) if m["kind"] == "InferenceService"]
    for isvc in isvcs:
        predictor = isvc["spec"]["predictor"]
        for container in [predictor["model"]] if "model" in predictor else predictor["containers"]:
            assert container["securityContext"]["runAsNonRoot"] is True
            assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("name", list(VARIANTS))
def test_gpu_pods_land_only_on_gpu_nodes_and_tolerate_the_gpu_taint(renders: dict[str, Rendered], name: str) -> None:
    gpu_pods = []
    for manifest in _apps(renders[name]):
        if manifest["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = _pods(manifest)
        gpus = sum(int(c["resources"]["limits"].get(GPU_RESOURCE, 0)) for c in pod["containers"])
        tolerates = GPU_TAINT.toleration() in pod.get("tolerations", [])
        if gpus:
            gpu_pods.append((manifest["metadata"]["name"], gpus))
            assert pod["nodeSelector"][GPU_LABEL] == GPU_LABEL_VALUE, manifest["metadata"]["name"]
            assert tolerates, manifest["metadata"]["name"]
        else:
            assert GPU_LABEL not in pod["nodeSelector"] and not tolerates, manifest["metadata"]["name"]
    assert ("hsof-main", 2) in gpu_pods
    assert ("continual-transformer-blue", 1) in gpu_pods and ("continual-transformer-green", 1) in gpu_pods


def test_a_gpu_system_the_gpu_pool_cannot_hold_is_refused_with_its_path() -> None:
    with pytest.raises(ValueError, match=r"apps.hsof.gpus: 2 GPU\(s\) per pod exceed gpu.gpus_per_node \(1\)"):
        StackConfig.model_validate({"apps": {"hsof": {"enabled": True}}})


def test_images_must_be_pinned_never_latest() -> None:
    with pytest.raises(ValidationError, match="':latest' moves under you"):
        LlmServingArgs(coordinator_image="docker.io/sllm/central-coordinator:latest")
    with pytest.raises(ValidationError, match="names no tag or digest"):
        LlmServingArgs(worker_image="docker.io/sllm/worker")


def test_every_system_is_off_unless_the_stack_enables_it() -> None:
    apps = AppsConfig()
    assert not any(a.enabled for a in (apps.llm_serving, apps.ml_scheduler, apps.continual_transformer, apps.hsof))
    assert apps.addons() == set()


# --- 1. Serverless LLM serving ----------------------------------------------------------------------------


def test_llm_workers_are_a_statefulset_behind_a_headless_service_with_the_guides_env(render: Render) -> None:
    staging = render("staging")
    (workers,) = _of(staging, "StatefulSet", "sllm-system")
    service = _one(staging, "Service", "sllm-system", "worker")
    assert service["spec"]["clusterIP"] == "None" and workers["spec"]["serviceName"] == "worker"
    assert "replicas" not in workers["spec"]  # the HPA's
    (container,) = _pods(workers)["containers"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["WORKER_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert {k: env[k] for k in ("DEPLOYMENT_MODE", "BIND_HOST", "COORDINATOR_HOST", "COORDINATOR_PORT", "WORKER_PORT",
                                "REPORT_INTERVAL", "WORKER_TIMEOUT", "LOG_LEVEL")} == {
        "DEPLOYMENT_MODE": "kubernetes", "BIND_HOST": "0.0.0.0", "COORDINATOR_HOST": "central-coordinator",
        "COORDINATOR_PORT": "9000", "WORKER_PORT": "8000", "REPORT_INTERVAL": "1.0", "WORKER_TIMEOUT": "10.0",
        "LOG_LEVEL": "DEBUG"}
    anti = _pods(workers)["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    (budget,) = _of(staging, "PodDisruptionBudget", "sllm-system")
    assert budget["spec"]["minAvailable"] == 2
    (hpa,) = _of(staging, "HorizontalPodAutoscaler", "sllm-system")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "worker"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 6)


def test_llm_coordinator_publishes_udp_9000_and_policies_allow_only_worker_coordinator_udp_and_scraping(
    render: Render,
) -> None:
    staging = render("staging")
    service = _one(staging, "Service", "sllm-system", "central-coordinator")
    assert {"name": "udp", "port": 9000, "targetPort": "udp", "protocol": "UDP"} in service["spec"]["ports"]
    (coordinator,) = _of(staging, "Deployment", "sllm-system")
    assert _pods(coordinator)["securityContext"]["runAsNonRoot"] is True
    policies = {p["metadata"]["name"]: p["spec"] for p in _of(staging, "NetworkPolicy", "sllm-system")}
    worker, central = policies["worker"], policies["central-coordinator"]
    assert central["policyTypes"] == ["Ingress", "Egress"]
    assert central["ingress"][0] == {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "worker"}}}],
                                     "ports": [{"port": 9000, "protocol": "UDP"}]}
    assert worker["egress"][1] == {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "central-coordinator"}}}],
                                   "ports": [{"port": 9000, "protocol": "UDP"}]}
    scrape = central["ingress"][1]
    assert scrape["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert len(central["ingress"]) == len(worker["ingress"]) == 2


# --- 3. Continual transformer -----------------------------------------------------------------------------


def test_transformer_hpa_scales_on_cpu_memory_and_requests_per_second_with_the_guides_behaviour(render: Render) -> None:
    production = render("production")
    (hpa,) = _of(production, "HorizontalPodAutoscaler", "continual-transformer")
    spec = hpa["spec"]
    assert spec["scaleTargetRef"]["name"] == "continual-transformer-blue"
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 10)
    targets = {m.get("resource", m.get("pods", {})).get("name") or m["pods"]["metric"]["name"]: m for m in spec["metrics"]}
    assert targets["cpu"]["resource"]["target"]["averageUtilization"] == 70
    assert targets["memory"]["resource"]["target"]["averageUtilization"] == 80
    assert targets["inference_requests_per_second"]["pods"]["target"] == {"type": "AverageValue", "averageValue": "100"}
    assert spec["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 60, "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}]},
        "scaleDown": {"stabilizationWindowSeconds": 300, "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
    }
    (adapter,) = [c for c in production.charts if c.chart == "prometheus-adapter"]
    (rule,) = adapter.values["rules"]["custom"]
    assert rule == PROMETHEUS_ADAPTER_RULE and rule["name"]["as"] == "inference_requests_per_second"
    assert REQUESTS_COUNTER in rule["seriesQuery"] and REQUESTS_COUNTER in TRANSFORMER_METRICS


def test_transformer_vpa_only_recommends_next_to_the_hpa(render: Render) -> None:
    (vpa,) = _of(render("production"), "VerticalPodAutoscaler", "continual-transformer")
    assert vpa["spec"]["updatePolicy"]["updateMode"] == "Off"
    assert vpa["spec"]["targetRef"]["name"] == "continual-transformer-blue"
    (chart,) = [c for c in render("production").charts if c.chart == "vertical-pod-autoscaler"]
    assert (chart.version, chart.values["updater"]["enabled"]) == ("0.11.0", False)


def test_blue_green_services_follow_the_active_colour_in_stack_config(render: Render) -> None:
    def selectors(rendered: Rendered) -> tuple[str, str]:
        active = _one(rendered, "Service", "continual-transformer", "continual-transformer-active")
        preview = _one(rendered, "Service", "continual-transformer", "continual-transformer-preview")
        return active["spec"]["selector"]["version"], preview["spec"]["selector"]["version"]

    assert selectors(render("staging")) == ("blue", "green")
    switched = render("staging", "apps.continual_transformer.active=green")
    assert selectors(switched) == ("green", "blue")
    (hpa,) = _of(switched, "HorizontalPodAutoscaler", "continual-transformer")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "continual-transformer-green"
    blue = _one(switched, "Deployment", "continual-transformer", "continual-transformer-blue")
    assert blue["spec"]["replicas"] == 0  # staging's preview_replicas
    assert _pods(blue)["containers"][0]["livenessProbe"]["httpGet"]["path"] == "/health"
    assert _pods(blue)["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/ready"


def test_transformer_is_served_over_https_by_a_gateway_api_gateway_with_a_certificate_and_a_rate_limit(
    render: Render,
) -> None:
    production = render("production")
    namespace = "continual-transformer"
    (gateway,) = _of(production, "Gateway", namespace)
    (listener,) = gateway["spec"]["listeners"]
    assert gateway["spec"]["gatewayClassName"] == "istio"
    assert (listener["protocol"], listener["port"], listener["hostname"]) == ("HTTPS", 443, "api.continual-transformer.example.com")
    (certificate,) = _of(production, "Certificate", namespace)
    assert listener["tls"]["certificateRefs"] == [{"kind": "Secret", "name": certificate["spec"]["secretName"]}]
    assert certificate["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
    (route,) = _of(production, "HTTPRoute", namespace)
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "continual-transformer-active", "port": 80}]
    (limit,) = _of(production, "EnvoyFilter", namespace)
    bucket = limit["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["value"]["token_bucket"]
    assert bucket == {"max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "60s"}
    assert limit["spec"]["workloadSelector"]["labels"] == {"gateway.networking.k8s.io/gateway-name": gateway["metadata"]["name"]}
    assert not [m for m in production.manifests if m["kind"] == "Ingress"]


def test_both_colours_need_an_image() -> None:
    with pytest.raises(ValidationError, match="both 'blue' and 'green'"):
        ContinualTransformerArgs.model_validate({"images": {"blue": "ghcr.io/x/server:1.0.0"}})


# --- 4. HSOF ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "sizes", "replicas", "memory"), [
    ("staging", {"hsof-models": "50Gi", "hsof-checkpoints": "100Gi", "hsof-data": "200Gi", "hsof-logs": "20Gi"}, (1, 2), "16Gi"),
    ("production", {"hsof-models": "200Gi", "hsof-checkpoints": "500Gi", "hsof-data": "200Gi", "hsof-logs": "20Gi"}, (2, 5), "64Gi"),
])
def test_hsof_volumes_replicas_and_memory_follow_the_guides_environments(
    render: Render, stack: str, sizes: dict[str, str], replicas: tuple[int, int], memory: str
) -> None:
    rendered = render(stack)
    claims = {c["metadata"]["name"]: c["spec"] for c in _of(rendered, "PersistentVolumeClaim", "hsof")}
    assert {name: spec["resources"]["requests"]["storage"] for name, spec in claims.items()} == sizes
    assert claims["hsof-data"]["accessModes"] == ["ReadWriteMany"]
    assert {name: spec["storageClassName"] for name, spec in claims.items()} == {
        "hsof-models": "fast-ssd", "hsof-checkpoints": "fast-ssd", "hsof-data": "shared-storage", "hsof-logs": "standard"}
    (hpa,) = _of(rendered, "HorizontalPodAutoscaler", "hsof")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == replicas
    (deployment,) = _of(rendered, "Deployment", "hsof")
    (container,) = _pods(deployment)["containers"]
    assert container["resources"]["limits"]["memory"] == memory
    assert container["resources"]["limits"][GPU_RESOURCE] == "2"
    assert {p["containerPort"] for p in container["ports"]} == {8000, 8080, 9090}
    assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(container)
    config = _one(rendered, "ConfigMap", "hsof", "hsof-config")["data"]
    assert (config["CUDA_VISIBLE_DEVICES"], config["HSOF_STAGE1_TIMEOUT"], config["JULIA_NUM_THREADS"]) == ("0,1", "30", "8")
    assert "memory_fraction = 0.8" in config["hsof.toml"]
    services = {s["metadata"]["name"] for s in _of(rendered, "Service", "hsof")}
    assert services == {"hsof-api", "hsof-health", "hsof-metrics"}
    assert _of(rendered, "PodDisruptionBudget", "hsof") and _of(rendered, "NetworkPolicy", "hsof")
    assert _of(rendered, "ServiceMonitor", "hsof") and _of(rendered, "PodMonitor", "hsof")


def test_storage_classes_exist_per_cloud_with_a_read_write_many_shared_class(renders: dict[str, Rendered]) -> None:
    for name in ("staging-aws", "production-gcp"):
        classes = {i["inputs"]["metadata"]["name"]: i["inputs"] for i in renders[name].inventory
                   if i["type"] == "kubernetes:storage.k8s.io/v1:StorageClass" and i["name"].startswith("isf-apps")}
        assert set(classes) == {"fast-ssd", "shared-storage", "standard"}, name
        shared = classes["shared-storage"]["provisioner"]
        assert shared == ("efs.csi.aws.com" if name.endswith("aws") else "filestore.csi.storage.gke.io")
    efs = [i for i in renders["staging-aws"].inventory if i["type"] == "aws:efs/fileSystem:FileSystem"]
    assert efs and efs[0]["inputs"]["encrypted"] is True


_SERIES = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{|\[|\)|\s*[<>])")
_PROMQL_WORDS = {"avg", "max", "min", "sum", "by", "rate", "histogram_quantile", "le", "pod", "gpu", "without"}


def _series_in(expr: str) -> set[str]:
    return {name for name in _SERIES.findall(expr) if name not in _PROMQL_WORDS}


def test_hsof_alerts_are_the_guides_four_on_series_that_exist(render: Render) -> None:
    (rule,) = _of(render("production"), "PrometheusRule", "hsof")
    rules = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert {name: r["for"] for name, r in rules.items()} == {
        "HsofGpuUtilizationLow": "5m", "HsofGpuMemoryHigh": "2m", "HsofInferenceLatencyHigh": "5m", "HsofStage1Slow": "1m"}
    assert rules["HsofGpuUtilizationLow"]["expr"].endswith("< 50")
    assert rules["HsofGpuMemoryHigh"]["expr"].endswith("> 0.9")
    assert rules["HsofInferenceLatencyHigh"]["expr"].startswith("histogram_quantile(0.95") and rules["HsofInferenceLatencyHigh"]["expr"].endswith("> 0.1")
    assert rules["HsofStage1Slow"]["expr"].startswith("histogram_quantile(0.9,") and rules["HsofStage1Slow"]["expr"].endswith("> 30")
    histograms = {f"{name}_bucket" for name in HSOF_METRICS if name.endswith("_seconds")}
    known = set(DCGM_SERIES) | histograms
    for name, r in rules.items():
        used = _series_in(r["expr"])
        assert used and used <= known, (name, used - known)
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"} <= _series_in(
        rules["HsofGpuUtilizationLow"]["expr"] + rules["HsofGpuMemoryHigh"]["expr"])


def test_dcgm_exporter_runs_only_on_gpu_nodes_and_keeps_the_pod_labels_of_its_series(render: Render) -> None:
    (dcgm,) = [c for c in render("staging").charts if c.chart == "dcgm-exporter"]
    assert dcgm.values["nodeSelector"][GPU_LABEL] == GPU_LABEL_VALUE
    assert GPU_TAINT.toleration() in dcgm.values["tolerations"]
    assert dcgm.values["serviceMonitor"] == {"enabled": True, "interval": "15s", "honorLabels": True}


# --- 2. ML scheduler --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "replicas"), [
    ("production", {"ml-scheduler": 3, "xgboost-predictor": 4, "qlearning-optimizer": 2, "anomaly-detector": 3}),
    ("staging", {"ml-scheduler": 2, "xgboost-predictor": 2, "qlearning-optimizer": 1, "anomaly-detector": 2}),
])
def test_ml_scheduler_replicas_follow_the_guides_environment_profiles(
    render: Render, stack: str, replicas: dict[str, int]
) -> None:
    rendered = render(stack)
    scheduler = _one(rendered, "Deployment", "ml-scheduler", "ml-scheduler")
    found = {"ml-scheduler": scheduler["spec"]["replicas"]}
    found |= {m["metadata"]["name"]: m["spec"]["predictor"]["minReplicas"]
              for m in _of(rendered, "InferenceService", "ml-scheduler")}
    assert found == replicas


def test_the_secondary_scheduler_has_its_profile_and_the_rbac_the_kubernetes_docs_give_it(render: Render) -> None:
    import yaml

    rendered = render("production")
    config = yaml.safe_load(_one(rendered, "ConfigMap", "ml-scheduler", "ml-scheduler-config")["data"]["config.yaml"])
    assert config["kind"] == "KubeSchedulerConfiguration"
    assert config["profiles"] == [{"schedulerName": "ml-scheduler"}]
    assert config["leaderElection"]["resourceName"] == "ml-scheduler"
    bindings = {m["roleRef"]["name"]: m for m in rendered.manifests if m["kind"] == "ClusterRoleBinding"
                and m["metadata"]["name"].startswith("ml-scheduler-as-")}
    assert set(bindings) == {"system:kube-scheduler", "system:volume-scheduler"}
    reader = _one(rendered, "RoleBinding", "kube-system", "ml-scheduler-extension-apiserver-authentication-reader")
    assert reader["roleRef"]["name"] == "extension-apiserver-authentication-reader"
    lease = _one(rendered, "Role", "ml-scheduler", "ml-scheduler-leader-election")
    assert any(rule.get("resourceNames") == ["ml-scheduler"] for rule in lease["rules"])
    scheduler = _one(rendered, "Deployment", "ml-scheduler", "ml-scheduler")
    pod = _pods(scheduler)
    assert pod["serviceAccountName"] == "ml-scheduler" and pod["automountServiceAccountToken"] is True
    assert pod["containers"][0]["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"


def test_inference_services_read_models_from_the_clouds_bucket_with_workload_identity(renders: dict[str, Rendered]) -> None:
    for name, scheme, annotation in (("staging-aws", "s3://", "eks.amazonaws.com/role-arn"),
                                     ("production-gcp", "gs://", "iam.gke.io/gcp-service-account")):
        rendered = renders[name]
        xgboost = _one(rendered, "InferenceService", "ml-scheduler", "xgboost-predictor")
        model = xgboost["spec"]["predictor"]["model"]
        assert model["modelFormat"] == {"name": "xgboost"} and model["storageUri"].startswith(scheme)
        account = _one(rendered, "ServiceAccount", "ml-scheduler", "ml-models")
        assert annotation in account["metadata"]["annotations"]
        (mlflow,) = [c for c in rendered.charts if c.chart == "mlflow"]
        assert mlflow.values["backendStore"]["postgres"]["enabled"] is True
        assert mlflow.values["backendStore"]["existingDatabaseSecret"]["name"] == "mlflow-postgres"
        assert annotation in mlflow.values["serviceAccount"]["annotations"]
        assert not mlflow.values.get("postgresql", {}).get("enabled") and not mlflow.values.get("mysql", {}).get("enabled")
    aws = renders["staging-aws"].inventory
    block = next(i for i in aws if i["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block["inputs"]["restrictPublicBuckets"] is True
    (encryption,) = [i for i in aws if i["type"].startswith("aws:s3/bucketServerSideEncryptionConfiguration")]
    assert encryption["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    (bucket,) = [i for i in renders["production-gcp"].inventory if i["type"] == "gcp:storage/bucket:Bucket"]
    assert bucket["inputs"]["publicAccessPrevention"] == "enforced" and bucket["inputs"]["uniformBucketLevelAccess"] is True


def test_alertmanager_sends_the_namespaces_alerts_to_the_remediation_webhook(render: Render) -> None:
    (config,) = _of(render("production"), "AlertmanagerConfig", "ml-scheduler")
    (receiver,) = config["spec"]["receivers"]
    assert receiver["webhookConfigs"][0]["url"] == "http://aiops-remediation-service.ml-scheduler.svc:8080/webhook"
    assert _one(render("production"), "Service", "ml-scheduler", "aiops-remediation-service")


def test_kserve_runs_on_the_platforms_knative_and_waits_for_its_crds(renders: dict[str, Rendered]) -> None:
    rendered = renders["production-gcp"]
    charts = {c.chart: c for c in rendered.charts}
    assert charts["kserve-resources"].values["kserve"]["controller"]["deploymentMode"] == "Knative"
    assert (charts["kserve-crd"].version, charts["kserve-resources"].version) == ("v0.20.0", "v0.20.0")
    records = rendered.records
    assert records is not None
    crd_chart = {r.urn for r in records.of_type("kubernetes:helm.sh/v4:Chart") if r.plain_inputs.get("chart") == "kserve-crd"}
    isvcs = records.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert len(isvcs) == 3 and all(crd_chart & set(r.dependencies) for r in isvcs)


