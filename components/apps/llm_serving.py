"""Serverless LLM serving (the LLM-serving deployment guide): a UDP coordinator and a StatefulSet of workers.

- `central-coordinator`: a Deployment (one replica: the guide's coordinator is a single instance by design)
  and a ClusterIP Service publishing UDP 9000; workers find it as `central-coordinator` (`COORDINATOR_HOST`).
- `worker`: a StatefulSet behind the headless Service `worker` (stable names `worker-0`, `worker-1`, …;
  `WORKER_ID` is the pod name through the downward API), autoscaled on CPU (3–20 at 80 %), at least two
  kept through voluntary disruptions, spread across nodes, optionally with GPUs.
- A NetworkPolicy per part: only worker ↔ coordinator UDP, the scraper on the health port, and DNS.
Both parts serve `/healthz`, `/readyz` and `/metrics` on `health_port` (TCP): a UDP port cannot be probed.
"""

from __future__ import annotations

from components.apps.spec import LlmServingArgs
from components.workloads.autoscaling import HorizontalScaling, horizontal_autoscaler
from components.workloads.manifests import (
    MONITORING_NAMESPACE,
    Manifest,
    deployment,
    labels,
    pod_disruption_budget,
    selector_labels,
    service,
    service_monitor,
)
from components.workloads.network_rules import Flow, Peer, flow_policy
from components.workloads.pod_patches import spread_across_nodes, with_field_env
from components.workloads.spec import DisruptionBudget, Exposure, Metrics, Port, Protocol, WorkloadSpec
from components.workloads.stateful import StatefulOptions, headless_service, stateful_set

COORDINATOR = "central-coordinator"
WORKER = "worker"
PART_LABEL = "app.kubernetes.io/part-of"
SYSTEM = "sllm"


def _env(args: LlmServingArgs) -> dict[str, str]:
    return {
        "DEPLOYMENT_MODE": "kubernetes",
        "LOG_LEVEL": args.log_level.value,
        "BIND_HOST": "0.0.0.0",  # the guide: bind every interface in a container, never 127.0.0.1
        "COORDINATOR_HOST": COORDINATOR,
        "COORDINATOR_PORT": str(args.coordinator_port),
        "WORKER_PORT": str(args.worker_port),
        "REPORT_INTERVAL": str(args.report_interval_seconds),
        "WORKER_TIMEOUT": str(args.worker_timeout_seconds),
    }


def coordinator_spec(args: LlmServingArgs) -> WorkloadSpec:
    return WorkloadSpec(
        name=COORDINATOR,
        image=args.coordinator_image,
        ports=[Port(name="udp", container_port=args.coordinator_port, protocol=Protocol.UDP),
               Port(name="http", container_port=args.health_port)],
        env=_env(args),
        resources=args.coordinator_resources,
        replicas=1,
        tier=args.coordinator_tier,
        expose=Exposure.NAMESPACE,
        metrics=Metrics(port="http"),
        labels={PART_LABEL: SYSTEM},
    )


def worker_spec(args: LlmServingArgs) -> WorkloadSpec:
    return WorkloadSpec(
        name=WORKER,
        image=args.worker_image,
        ports=[Port(name="udp", container_port=args.worker_port, protocol=Protocol.UDP),
               Port(name="http", container_port=args.health_port)],
        env=_env(args),
        resources=args.worker_resources,
        replicas=args.workers.min_replicas,
        tier=args.worker_tier,
        gpus=args.worker_gpus,
        expose=Exposure.NAMESPACE,
        metrics=Metrics(port="http"),
        disruption_budget=DisruptionBudget(min_available=args.worker_min_available),
        labels={PART_LABEL: SYSTEM},
        termination_grace_period_seconds=30,
    )


def _policy(spec: WorkloadSpec, namespace: str, peer: WorkloadSpec, own_port: int, peer_port: int) -> Manifest:
    scrape = Flow(peers=[Peer(namespace=MONITORING_NAMESPACE)], ports=[("http", "TCP")])
    return flow_policy(
        spec.name, namespace, labels(spec), selector_labels(spec),
        ingress=[Flow(peers=[Peer(pods=selector_labels(peer))], ports=[(own_port, "UDP")]), scrape],
        egress=[Flow(peers=[Peer(pods=selector_labels(peer))], ports=[(peer_port, "UDP")])],
    )


def llm_serving_manifests(args: LlmServingArgs) -> list[Manifest]:
    """Every object of the system, in apply order (the namespace is the caller's)."""
    namespace = args.namespace
    coordinator, worker = coordinator_spec(args), worker_spec(args)
    coordinator_service = service(coordinator, namespace)
    assert coordinator_service is not None
    workers = stateful_set(worker, namespace, StatefulOptions(replicas_owned_by_autoscaler=True))
    workers = with_field_env(spread_across_nodes(workers, selector_labels(worker), required=False),
                             {"WORKER_ID": "metadata.name", "POD_NAMESPACE": "metadata.namespace"})
    budget = pod_disruption_budget(worker, namespace)
    assert budget is not None
    scaling = HorizontalScaling(min_replicas=args.workers.min_replicas, max_replicas=args.workers.max_replicas,
                                cpu_utilization=args.workers.target_cpu_utilization)
    monitors = [m for m in (service_monitor(coordinator, namespace), service_monitor(worker, namespace)) if m]
    return [
        deployment(coordinator, namespace),
        coordinator_service,
        _policy(coordinator, namespace, worker, args.coordinator_port, args.worker_port),
        headless_service(worker, namespace),
        workers,
        _policy(worker, namespace, coordinator, args.worker_port, args.coordinator_port),
        budget,
        horizontal_autoscaler(WORKER, namespace, labels(worker), ("StatefulSet", WORKER), scaling),
        *monitors,
    ]
