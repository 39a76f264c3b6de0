"""HSOF, hybrid search for optimal features (the HSOF Kubernetes guide): a 2-GPU Deployment with its volumes.

- `hsof-main`: a Deployment on the GPU pool (`placement()`), 2 GPUs per pod, the guide's ConfigMap settings as
  environment and a `hsof.toml` file, claims for models and checkpoints (`fast-ssd`), shared data
  (`shared-storage`, ReadWriteMany) and logs (`standard`); startup, liveness and readiness probes on the
  health port.
- Services `hsof-api` (8000), `hsof-health` (8080), `hsof-metrics` (9090); HPA on CPU and memory; PDB;
  NetworkPolicy (API from the namespace and the ingress gateway, health and metrics from monitoring).
- ServiceMonitor (metrics Service) and PodMonitor (the pods' metrics port), and PrometheusRules on the GPU
  series of the DCGM exporter and the service's own series.
"""

from __future__ import annotations

from components.apps.spec import HsofArgs
from components.workloads.autoscaling import horizontal_autoscaler
from components.workloads.manifests import (
    INGRESS_NAMESPACE,
    MONITORING_NAMESPACE,
    Manifest,
    deployment,
    labels,
    pod_disruption_budget,
    selector_labels,
)
from components.workloads.network_rules import Flow, Peer, flow_policy
from components.workloads.pod_patches import spread_across_nodes
from components.workloads.spec import (
    Metrics,
    Port,
    Probe,
    Probes,
    Volume,
    VolumeSource,
    WorkloadSpec,
)
from components.workloads.stateful import persistent_volume_claim

NAME = "hsof-main"
PREFIX = "hsof"
CONFIG_MAP = "hsof-config"
PORTS = {"api": 8000, "health": 8080, "metrics": 9090}

# Series HSOF exports (the guide's Grafana metrics) and the DCGM exporter's default counters the alerts read
# (dcgm-exporter etc/default-counters.csv: GPU utilisation %, frame buffer used / free MiB).
HSOF_METRICS = (
    "hsof_gpu_utilization",
    "hsof_stage_duration_seconds",
    "hsof_model_inference_duration_seconds",
    "hsof_features_processed_total",
)
DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED = "DCGM_FI_DEV_FB_USED"
DCGM_FB_FREE = "DCGM_FI_DEV_FB_FREE"
DCGM_SERIES = (DCGM_GPU_UTIL, DCGM_FB_USED, DCGM_FB_FREE)


def settings_data(args: HsofArgs) -> dict[str, str]:
    s = args.settings
    toml = (
        "[gpu]\n"
        f"device_count = {args.gpus}\n"
        f"memory_pool_size_gb = {s.memory_pool_size_gb}\n"
        f"memory_fraction = {s.memory_fraction}\n\n"
        "[performance]\n"
        f"target_utilization = {s.target_utilization}\n"
        f"memory_warning_threshold = {s.memory_warning_threshold}\n"
    )
    return {
        "JULIA_NUM_THREADS": str(s.julia_num_threads),
        "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(args.gpus)),
        "HSOF_STAGE1_TIMEOUT": str(s.stage1_timeout_seconds),
        "HSOF_MAX_MEMORY_GB": str(s.max_memory_gb),
        "HSOF_PROMETHEUS_ENABLED": str(s.prometheus_enabled).lower(),
        "HSOF_LOG_LEVEL": s.log_level,
        "hsof.toml": toml,
    }


def hsof_spec(args: HsofArgs) -> WorkloadSpec:
    claims = args.storage.claims(PREFIX)
    mounts = {"models": "/app/models", "checkpoints": "/app/checkpoints", "data": "/app/data", "logs": "/app/logs"}
    return WorkloadSpec(
        name=NAME,
        image=args.image,
        ports=[Port(name=name, container_port=port) for name, port in PORTS.items()],
        env={key: value for key, value in settings_data(args).items() if key.isupper()},
        resources=args.resources,
        tier=args.tier,
        gpus=args.gpus,
        probes=Probes(
            startup=Probe(path="/health", port="health", period_seconds=10, failure_threshold=30),
            liveness=Probe(path="/health", port="health", period_seconds=30, timeout_seconds=10),
            readiness=Probe(path="/ready", port="health", period_seconds=10, timeout_seconds=5),
        ),
        metrics=Metrics(port="metrics"),
        volumes=[
            *(Volume(name=claim.name.removeprefix(f"{PREFIX}-"), mount_path=mounts[claim.name.removeprefix(f"{PREFIX}-")],
                     source=VolumeSource.PERSISTENT_VOLUME_CLAIM, source_name=claim.name) for claim in claims),
            Volume(name="config", mount_path="/app/config", source=VolumeSource.CONFIG_MAP, source_name=CONFIG_MAP,
                   read_only=True),
        ],
        run_as_user=args.run_as_user,
        disruption_budget=args.disruption_budget,
        labels={"app.kubernetes.io/part-of": PREFIX},
        termination_grace_period_seconds=120,  # a search stage checkpoints before it exits
    )


def _meta(spec: WorkloadSpec, name: str, namespace: str) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": labels(spec)}


PORT_LABEL = "isf.io/port"  # tells the three Services apart (the ServiceMonitor picks the metrics one)


def _service(spec: WorkloadSpec, namespace: str, port: str) -> Manifest:
    meta = _meta(spec, f"{PREFIX}-{port}", namespace)
    meta["labels"] = {**meta["labels"], PORT_LABEL: port}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"type": "ClusterIP", "selector": selector_labels(spec),
                     "ports": [{"name": port, "port": PORTS[port], "targetPort": port, "protocol": "TCP"}]}}


def _monitors(spec: WorkloadSpec, namespace: str) -> list[Manifest]:
    service_monitor = {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": _meta(spec, f"{PREFIX}-metrics", namespace),
        "spec": {"selector": {"matchLabels": {**selector_labels(spec), PORT_LABEL: "metrics"}},
                 "namespaceSelector": {"matchNames": [namespace]},
                 "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}]},
    }
    pod_monitor = {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": _meta(spec, f"{PREFIX}-pods", namespace),
        "spec": {"selector": {"matchLabels": selector_labels(spec)},
                 "namespaceSelector": {"matchNames": [namespace]},
                 # The health port's own metrics (probe latency, stage progress) next to the main endpoint.
                 "podMetricsEndpoints": [{"port": "health", "path": "/metrics", "interval": "30s"}]},
    }
    return [service_monitor, pod_monitor]


def alert_rules(namespace: str) -> list[dict[str, object]]:
    """The guide's four alerts; GPU series are DCGM's, scoped to this namespace's pods."""
    scope = f'namespace="{namespace}"'
    return [
        {"alert": "HsofGpuUtilizationLow", "expr": f"avg by (pod) ({DCGM_GPU_UTIL}{{{scope}}}) < 50", "for": "5m",
         "labels": {"severity": "warning"},
         "annotations": {"summary": "HSOF GPU utilisation below 50 % for 5 minutes",
                         "description": "Pod {{ $labels.pod }}: {{ $value | humanize }} % (target above 80 %)."}},
        {"alert": "HsofGpuMemoryHigh",
         "expr": (f"max by (pod, gpu) ({DCGM_FB_USED}{{{scope}}} / "
                  f"({DCGM_FB_USED}{{{scope}}} + {DCGM_FB_FREE}{{{scope}}})) > 0.9"),
         "for": "2m", "labels": {"severity": "critical"},
         "annotations": {"summary": "HSOF GPU memory above 90 % for 2 minutes",
                         "description": "Pod {{ $labels.pod }} GPU {{ $labels.gpu }}: {{ $value | humanizePercentage }}."}},
        {"alert": "HsofInferenceLatencyHigh",
         "expr": (f"histogram_quantile(0.95, sum by (le) (rate(hsof_model_inference_duration_seconds_bucket{{{scope}}}[5m])))"
                  " > 0.1"),
         "for": "5m", "labels": {"severity": "warning"},
         "annotations": {"summary": "HSOF metamodel inference p95 above 100 ms for 5 minutes",
                         "description": "p95 {{ $value | humanizeDuration }}."}},
        {"alert": "HsofStage1Slow",
         "expr": (f'histogram_quantile(0.9, sum by (le) (rate(hsof_stage_duration_seconds_bucket{{{scope},stage="1"}}[5m])))'
                  " > 30"),
         "for": "1m", "labels": {"severity": "critical"},
         "annotations": {"summary": "HSOF stage 1 p90 above 30 s for 1 minute",
                         "description": "p90 {{ $value | humanizeDuration }} (target under 30 s for 5,000 features)."}},
    ]


def prometheus_rule(spec: WorkloadSpec, namespace: str) -> Manifest:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": _meta(spec, PREFIX, namespace),
            "spec": {"groups": [{"name": "hsof", "rules": alert_rules(namespace)}]}}


def hsof_manifests(args: HsofArgs) -> list[Manifest]:
    """Every object of the system, in apply order (the namespace is the caller's)."""
    namespace = args.namespace
    spec = hsof_spec(args)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(spec, CONFIG_MAP, namespace),
              "data": settings_data(args)}
    claims = [persistent_volume_claim(claim, namespace, spec) for claim in args.storage.claims(PREFIX)]
    controller = deployment(spec, namespace)
    controller["spec"].pop("replicas", None)  # the HPA owns them
    controller = spread_across_nodes(controller, selector_labels(spec), required=False)
    budget = pod_disruption_budget(spec, namespace)
    assert budget is not None
    api_peers = [Peer(pods={}), Peer(namespace=INGRESS_NAMESPACE)]
    policy = flow_policy(
        PREFIX, namespace, labels(spec), selector_labels(spec),
        ingress=[Flow(peers=api_peers, ports=[("api", "TCP")]),
                 Flow(peers=[Peer(namespace=MONITORING_NAMESPACE)], ports=[("health", "TCP"), ("metrics", "TCP")])],
    )
    return [
        config,
        *claims,
        controller,
        *(_service(spec, namespace, port) for port in PORTS),
        policy,
        budget,
        horizontal_autoscaler(NAME, namespace, labels(spec), ("Deployment", NAME), args.scaling),
        *_monitors(spec, namespace),
        prometheus_rule(spec, namespace),
    ]
