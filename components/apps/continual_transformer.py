"""Continual transformer serving (the continual-transformer production guide): a 1-GPU model server.

- Two Deployments, `continual-transformer-blue` and `-green` (pods labelled `version: <colour>`); the
  `active` colour is autoscaled, the other runs `preview_replicas` for checks before the switch.
- Services `continual-transformer-active` / `-preview` select a colour; switching `apps.continual_transformer.active`
  in the stack config moves traffic (and the HPA) at the next `pulumi up`.
- HTTPS: a Gateway API `Gateway` (class `istio`: Istio deploys its proxy) with a cert-manager `Certificate`
  for the hostname, an `HTTPRoute` to the active Service, and a local rate limit on that gateway's proxies
  (an Istio `EnvoyFilter` inserting Envoy's local_ratelimit filter: what the ingress-nginx rate-limit annotations did;
  ingress-nginx is retired).
- HPA: CPU 70 %, memory 80 %, `inference_requests_per_second` (custom metrics API, prometheus-adapter) at 100
  per pod, with the guide's scale-up / scale-down behaviour. VPA: recommendations only (`Off`), see below.
- Probes `/health` (liveness) and `/ready` (readiness) on port 8000, GPU scheduling from `placement()`.
"""

from __future__ import annotations

from typing import Any

from components.apps.spec import INFERENCE_RPS_METRIC, Colour, ContinualTransformerArgs
from components.workloads.autoscaling import horizontal_autoscaler, vertical_autoscaler
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
from components.workloads.pod_patches import spread_across_nodes, with_field_env, with_pod_labels
from components.workloads.spec import (
    DisruptionBudget,
    Metrics,
    Port,
    Probe,
    Probes,
    Volume,
    VolumeSource,
    WorkloadSpec,
)

NAME = "continual-transformer"
HTTP_PORT = 8000
SERVICE_PORT = 80
VERSION_LABEL = "version"
GATEWAY_CLASS = "istio"  # Istio's GatewayClass for the Gateway API (istiod creates it)
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"  # Istio labels a Gateway's proxy pods with it
TLS_SECRET = f"{NAME}-tls"
CONFIG_MAP = f"{NAME}-config"
# Series the server exports (prometheus-client): the adapter turns the counter into the per-second HPA metric.
REQUESTS_COUNTER = "inference_requests_total"
DECLARED_METRICS = (REQUESTS_COUNTER, "inference_latency_seconds", "model_load_duration_seconds")


def colour_name(colour: Colour) -> str:
    return f"{NAME}-{colour.value}"


def colour_spec(args: ContinualTransformerArgs, colour: Colour) -> WorkloadSpec:
    active = colour is args.active
    return WorkloadSpec(
        name=colour_name(colour),
        image=args.images[colour],
        ports=[Port(name="http", container_port=HTTP_PORT)],
        env={"ENV": args.environment, "LOG_LEVEL": args.log_level, "PROMETHEUS_PORT": str(HTTP_PORT)},
        resources=args.resources,
        replicas=args.scaling.min_replicas if active else args.preview_replicas,
        tier=args.tier,
        gpus=args.gpus,
        probes=Probes(
            liveness=Probe(path="/health", initial_delay_seconds=60, period_seconds=30, timeout_seconds=10),
            readiness=Probe(path="/ready", initial_delay_seconds=30, period_seconds=10, timeout_seconds=5),
        ),
        metrics=Metrics(port="http"),
        volumes=[
            Volume(name="models", mount_path="/app/models", size_limit="20Gi"),
            Volume(name="config", mount_path="/app/config", source=VolumeSource.CONFIG_MAP, source_name=CONFIG_MAP,
                   read_only=True),
        ],
        labels={"app.kubernetes.io/part-of": NAME},
    )


def _meta(name: str, namespace: str) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": NAME}}


def _colour_selector(colour: Colour) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": NAME, VERSION_LABEL: colour.value}


def colour_service(name: str, namespace: str, colour: Colour) -> Manifest:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace),
            "spec": {"type": "ClusterIP", "selector": _colour_selector(colour),
                     "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}]}}


def config_map(args: ContinualTransformerArgs, namespace: str) -> Manifest:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(CONFIG_MAP, namespace),
            "data": {"config.yaml": f"environment: {args.environment}\nlog_level: {args.log_level}\n"}}


def certificate(args: ContinualTransformerArgs, namespace: str, issuer: str) -> Manifest:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": _meta(NAME, namespace),
            "spec": {"secretName": TLS_SECRET, "dnsNames": [args.hostname],
                     "issuerRef": {"kind": "ClusterIssuer", "name": issuer, "group": "cert-manager.io"},
                     "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}}}


def gateway(args: ContinualTransformerArgs, namespace: str) -> Manifest:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": _meta(NAME, namespace),
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "listeners": [{
                "name": "https", "protocol": "HTTPS", "port": 443, "hostname": args.hostname,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }],
        },
    }


def http_route(args: ContinualTransformerArgs, namespace: str) -> Manifest:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": _meta(NAME, namespace),
        "spec": {
            "parentRefs": [{"name": NAME, "sectionName": "https"}],
            "hostnames": [args.hostname],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                       "backendRefs": [{"name": f"{NAME}-active", "port": SERVICE_PORT}]}],
        },
    }


def rate_limit(args: ContinualTransformerArgs, namespace: str) -> Manifest:
    """Envoy's local rate limit on the Gateway's proxies (Istio's documented way: an EnvoyFilter, istio.io
    "Enabling Rate Limits using Envoy"; Istio 1.30 has no first-class rate-limit API)."""
    limit = args.rate_limit
    typed: dict[str, Any] = {
        "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
        "type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "value": {
            "stat_prefix": "http_local_rate_limiter",
            "token_bucket": {"max_tokens": limit.requests, "tokens_per_fill": limit.requests,
                             "fill_interval": f"{limit.window_seconds}s"},
            "filter_enabled": {"runtime_key": "local_rate_limit_enabled",
                               "default_value": {"numerator": 100, "denominator": "HUNDRED"}},
            "filter_enforced": {"runtime_key": "local_rate_limit_enforced",
                                "default_value": {"numerator": 100, "denominator": "HUNDRED"}},
            "response_headers_to_add": [{"append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                         "header": {"key": "x-local-rate-limit", "value": "true"}}],
        },
    }
    return {
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter", "metadata": _meta(f"{NAME}-ratelimit", namespace),
        "spec": {
            "workloadSelector": {"labels": {GATEWAY_NAME_LABEL: NAME}},
            "configPatches": [{
                "applyTo": "HTTP_FILTER",
                "match": {"context": "GATEWAY",
                          "listener": {"filterChain": {"filter": {
                              "name": "envoy.filters.network.http_connection_manager",
                              "subFilter": {"name": "envoy.filters.http.router"}}}}},
                "patch": {"operation": "INSERT_BEFORE",
                          "value": {"name": "envoy.filters.http.local_ratelimit", "typed_config": typed}},
            }],
        },
    }


def _network_policy(spec: WorkloadSpec, namespace: str) -> Manifest:
    # The Gateway's proxy runs in this namespace (Istio's automated deployment); the mesh's ingress may also route here.
    ingress = [
        Flow(peers=[Peer(pods={GATEWAY_NAME_LABEL: NAME}), Peer(namespace=INGRESS_NAMESPACE)], ports=[("http", "TCP")]),
        Flow(peers=[Peer(namespace=MONITORING_NAMESPACE)], ports=[("http", "TCP")]),
    ]
    return flow_policy(spec.name, namespace, labels(spec), selector_labels(spec), ingress=ingress)


def continual_transformer_manifests(args: ContinualTransformerArgs, issuer: str) -> list[Manifest]:
    """Every object of the system, in apply order (the namespace is the caller's)."""
    namespace = args.namespace
    objects: list[Manifest] = [config_map(args, namespace)]
    for colour in (Colour.BLUE, Colour.GREEN):
        spec = colour_spec(args, colour)
        controller = deployment(spec, namespace)
        if colour is args.active:
            controller["spec"].pop("replicas", None)  # the HPA owns the active colour's replicas
        controller = with_pod_labels(controller, {VERSION_LABEL: colour.value})
        controller = with_field_env(spread_across_nodes(controller, selector_labels(spec), required=False),
                                    {"KUBERNETES_NAMESPACE": "metadata.namespace"})
        objects += [controller, _network_policy(spec, namespace)]
        if colour is args.active:
            objects += [
                horizontal_autoscaler(spec.name, namespace, labels(spec), ("Deployment", spec.name), args.scaling),
                # Recommendation only: the HPA already scales on CPU and memory utilisation, and a VPA that rewrote
                # requests would move the very ratio the HPA acts on (the VPA docs warn against mixing the two).
                vertical_autoscaler(spec.name, namespace, labels(spec), ("Deployment", spec.name), spec.name,
                                    args.vertical),
            ]
            budget = pod_disruption_budget(
                spec.model_copy(update={"disruption_budget": DisruptionBudget(max_unavailable=1)}), namespace)
            if budget is not None:
                objects.append(budget)
    objects += [
        colour_service(f"{NAME}-active", namespace, args.active),
        colour_service(f"{NAME}-preview", namespace, args.active.other),
        pod_monitor(namespace),
        certificate(args, namespace, issuer),
        gateway(args, namespace),
        http_route(args, namespace),
        rate_limit(args, namespace),
    ]
    return objects


def pod_monitor(namespace: str) -> Manifest:
    """One PodMonitor over both colours (the Services select one colour each, the pods carry both)."""
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": _meta(NAME, namespace),
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/part-of": NAME}},
                     "namespaceSelector": {"matchNames": [namespace]},
                     "podMetricsEndpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}]}}


PROMETHEUS_ADAPTER_RULE = {
    # The counter's per-second rate, per pod, served as `inference_requests_per_second` (custom.metrics.k8s.io).
    "seriesQuery": f'{REQUESTS_COUNTER}{{namespace!="",pod!=""}}',
    "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
    "name": {"matches": f"^{REQUESTS_COUNTER}$", "as": INFERENCE_RPS_METRIC},
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
}
