"""Knative Serving at minute granularity: Services, their Revisions and Routes, pods, nodes per tier.

What is modelled, and where Knative (knative/serving at knative-v1.23.0) says so:

- A Service's template becomes a Revision `<service>-NNNNN`; changing the template (placement's
  nodeSelector / tolerations patch) rolls a new Revision and the Route sends all traffic to it
  (`pkg/reconciler/configuration`, `pkg/reconciler/route`). The warm pool is carried over: the new
  Revision starts with the old one's ready pods and its autoscaling annotations, so a move costs no
  cold start here (real Knative would take the annotations from the template; the warming service
  re-applies them on its next pass). The Revision a Route references is labelled
  `serving.knative.dev/routingState=active`, the one it replaced `reserve`
  (`pkg/reconciler/labeler/accessors.go`), which is how the warming service lists the serving ones.
- A Revision's annotations `autoscaling.knative.dev/min-scale`, `max-scale`, `scale-down-delay` are
  copied to its PodAutoscaler (`pkg/reconciler/revision/resources/pa.go`, `podAutoscalerAnnotations`),
  so patching the Revision changes its scale bounds without a new Revision.
- Pods needed in a minute = ceil(count x average duration / 60 s): the KPA's desired scale is
  ceil(observed concurrency / target) (`pkg/autoscaler/scaling/autoscaler.go`), with one request at a
  time per pod; bounded by min-scale / max-scale and by what fits on the tier's nodes.
- Scale-down: the stable window (`stable-window: 60s`, `config/core/configmaps/autoscaler.yaml`)
  keeps a just-invoked revision's pods through the next minute; `scale-down-delay` keeps the highest
  recent scale that many seconds longer (the KPA's `delayWindow`); the last pod goes after
  `scale-to-zero-grace-period: 30s` (`pkg/reconciler/autoscaling/kpa/scaler.go`, `handleScaleToZero`),
  which at minute granularity falls inside that same minute (last request mid-minute + 60 s + 30 s).
- Cold start: requests arriving while the revision has no ready pod are held by the activator while a
  pod starts: one cold start for that minute (the minute's other requests are served warm), as in
  the simulator (`docs/architecture.md`).

Wasted memory: `wasted_mb_minutes` is app level (a minute with a ready pod and no request costs the
function's memory once, the simulator's definition); `idle_mb_minutes` counts every idle ready pod.
"""

from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from runtime.cluster_sim.kube_api import merge_patch
from runtime.contract import Tier
from runtime.contract.kubernetes import (
    FUNCTION_LABEL,
    KNATIVE_GROUP,
    KNATIVE_VERSION,
    MAX_SCALE,
    MIN_SCALE,
    ROUTING_STATE_ACTIVE,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_RESERVE,
    SCALE_DOWN_DELAY,
    SERVICE_LABEL,
)
from runtime.contract.scheduling import GPU_RESOURCE, TIER_LABEL, placement

STABLE_WINDOW_MINUTES = 1
"""Minutes a just-invoked revision keeps its pods (stable-window 60 s, grace period within it)."""
_GIB = 2**30
KNATIVE = f"/apis/{KNATIVE_GROUP}/{KNATIVE_VERSION}"


@dataclass(frozen=True, slots=True)
class NodePool:
    """`count` nodes labelled `tier=<tier>`, each with these allocatable resources."""

    tier: Tier
    count: int
    cpu: float
    memory_gib: float
    gpu: int = 0


DEFAULT_NODE_POOLS = (
    NodePool(Tier.EDGE, 4, 8, 32),
    NodePool(Tier.REGIONAL, 8, 16, 64),
    NodePool(Tier.CLOUD, 16, 32, 128),
)


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A function to deploy as a Knative Service."""

    function_id: str
    memory_mb: float
    tier: Tier = Tier.REGIONAL
    cpu: float = 0.1
    namespace: str = "functions"


@dataclass
class _Revision:
    name: str
    pods: int = 0  # ready now
    idle_minutes: int = 0  # minutes since the last request
    recent: list[int] = field(default_factory=list)  # needed pods of the last minutes, newest last


@dataclass(frozen=True, slots=True)
class FunctionMinute:
    """What one function's revision did in one minute."""

    function_id: str
    tier: str
    invocations: int
    cold_start: bool
    ready_pods: int
    needed_pods: int
    memory_mb: float


@dataclass(frozen=True, slots=True)
class MinuteOutcome:
    """The cluster's minute: per function, and the totals the loop reports."""

    functions: tuple[FunctionMinute, ...]

    @property
    def cold_starts(self) -> int:
        return sum(f.cold_start for f in self.functions)

    @property
    def invocations(self) -> int:
        return sum(f.invocations for f in self.functions)

    @property
    def wasted_mb_minutes(self) -> float:
        """App level: functions with a ready pod and no request, each its memory once."""
        return sum(f.memory_mb for f in self.functions if f.invocations == 0 and f.ready_pods > 0)

    @property
    def idle_mb_minutes(self) -> float:
        """Instance level: every ready pod above what the minute needed."""
        return sum(max(f.ready_pods - f.needed_pods, 0) * f.memory_mb for f in self.functions)

    @property
    def warm_functions(self) -> int:
        return sum(f.ready_pods > 0 for f in self.functions)

    @property
    def warm_mb(self) -> float:
        return sum(f.ready_pods * f.memory_mb for f in self.functions)


def _int(raw: str | None, default: int) -> int:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return default


def _seconds(raw: str | None) -> int:
    text = (raw or "0s").strip()
    try:
        if text.endswith("m"):
            return int(float(text[:-1]) * 60)
        if text.endswith("s"):
            return int(float(text[:-1]))
        return int(float(text))
    except ValueError:
        return 0


class SimulatedCluster:
    """Kubernetes objects by API path plus the pods behind each revision; thread-safe."""

    def __init__(self, node_pools: tuple[NodePool, ...] = DEFAULT_NODE_POOLS) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.lock = threading.RLock()
        self._version = 0
        self._revisions: dict[str, _Revision] = {}  # by service path
        self._generation: dict[str, int] = {}
        self._memory_mb: dict[str, float] = {}
        self._function_of: dict[str, str] = {}  # service path -> function id
        self._by_function: dict[str, str] = {}  # function id -> service path
        for pool in node_pools:
            for index in range(pool.count):
                self._add_node(pool, index)

    # -- objects ---------------------------------------------------------------------------------
    def store(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._version += 1
            obj.setdefault("metadata", {})["resourceVersion"] = str(self._version)
            self.objects[path] = obj
            return obj

    def _add_node(self, pool: NodePool, index: int) -> None:
        name = f"{pool.tier.value}-{index}"
        allocatable = {"cpu": str(pool.cpu), "memory": f"{int(pool.memory_gib)}Gi", "pods": "110"}
        if pool.gpu:
            allocatable[GPU_RESOURCE] = str(pool.gpu)
        self.store(f"/api/v1/nodes/{name}", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {TIER_LABEL: pool.tier.value}},
            "status": {"allocatable": allocatable, "capacity": dict(allocatable),
                       "conditions": [{"type": "Ready", "status": "True"}]},
        })

    def deploy(self, spec: FunctionSpec) -> str:
        """A Knative Service (with its first Revision and Route) for `spec`; returns the service name."""
        with self.lock:
            if spec.function_id in self._by_function:
                return self.objects[self._by_function[spec.function_id]]["metadata"]["name"]
            name = f"fn-{len(self._by_function):05d}"
            scheduling = placement(spec.tier, gpus=0)
            path = f"{KNATIVE}/namespaces/{spec.namespace}/services/{name}"
            self.store(path, {
                "apiVersion": f"{KNATIVE_GROUP}/{KNATIVE_VERSION}", "kind": "Service",
                "metadata": {"name": name, "namespace": spec.namespace, "labels": {FUNCTION_LABEL: spec.function_id}},
                "spec": {"template": {"spec": {
                    "containers": [{"name": "function", "image": "example.invalid/function:sim", "resources": {
                        "requests": {"cpu": str(spec.cpu), "memory": f"{max(math.ceil(spec.memory_mb), 1)}Mi"}}}],
                    "nodeSelector": dict(scheduling.node_selector),
                    "tolerations": list(scheduling.tolerations),
                }}},
            })
            self._memory_mb[path] = spec.memory_mb
            self._function_of[path] = spec.function_id
            self._by_function[spec.function_id] = path
            self._roll(path, carry=None)
            return name

    def _roll(self, service_path: str, carry: _Revision | None) -> None:
        """A new Revision of the Service's current template; the Route sends it all traffic."""
        service = self.objects[service_path]
        namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
        generation = self._generation.get(service_path, 0) + 1
        self._generation[service_path] = generation
        revision_name = f"{name}-{generation:05d}"
        annotations: dict[str, str] = {}
        if carry is not None:
            old_path = f"{KNATIVE}/namespaces/{namespace}/revisions/{carry.name}"
            old = self.objects.get(old_path, {})
            have = old.get("metadata", {}).get("annotations") or {}
            annotations = {k: v for k, v in have.items() if k in (MIN_SCALE, MAX_SCALE, SCALE_DOWN_DELAY)}
            if old:  # the Route no longer references it
                old["metadata"]["labels"][ROUTING_STATE_LABEL] = ROUTING_STATE_RESERVE
                self.store(old_path, old)
        self.store(f"{KNATIVE}/namespaces/{namespace}/revisions/{revision_name}", {
            "apiVersion": f"{KNATIVE_GROUP}/{KNATIVE_VERSION}", "kind": "Revision",
            "metadata": {"name": revision_name, "namespace": namespace, "annotations": annotations,
                         "labels": {SERVICE_LABEL: name, ROUTING_STATE_LABEL: ROUTING_STATE_ACTIVE,
                                    FUNCTION_LABEL: self._function_of[service_path]}},
            "spec": copy.deepcopy(service["spec"]["template"]["spec"]),
        })
        self.store(f"{KNATIVE}/namespaces/{namespace}/routes/{name}", {
            "apiVersion": f"{KNATIVE_GROUP}/{KNATIVE_VERSION}", "kind": "Route",
            "metadata": {"name": name, "namespace": namespace},
            "status": {"traffic": [{"revisionName": revision_name, "percent": 100, "latestRevision": True}]},
        })
        revision = _Revision(revision_name)
        if carry is not None:
            revision.pods, revision.idle_minutes, revision.recent = carry.pods, carry.idle_minutes, list(carry.recent)
        self._revisions[service_path] = revision

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch; a Service whose template changes rolls a new Revision."""
        with self.lock:
            current = self.objects[path]
            patched = merge_patch(current, body)
            rolls = path in self._revisions and patched.get("spec", {}).get("template") != current.get(
                "spec", {}).get("template")
            stored = self.store(path, patched)
            if rolls:
                self._roll(path, carry=self._revisions[path])
            return stored

    def revision_of(self, function_id: str) -> tuple[str, str, str]:
        """(namespace, service, revision) serving `function_id` now (the Configuration has the Service's name)."""
        with self.lock:
            path = self._by_function[function_id]
            metadata = self.objects[path]["metadata"]
            return metadata["namespace"], metadata["name"], self._revisions[path].name

    # -- the minute ------------------------------------------------------------------------------
    def _tier_of(self, service: dict[str, Any]) -> str:
        selector = service.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector") or {}
        return str(selector.get(TIER_LABEL, "unknown"))

    def _tier_free_memory(self) -> dict[str, float]:
        free: dict[str, float] = {}
        for path, node in self.objects.items():
            if path.startswith("/api/v1/nodes/"):
                tier = (node["metadata"].get("labels") or {}).get(TIER_LABEL, "unknown")
                memory = str(node["status"]["allocatable"]["memory"])
                free[tier] = free.get(tier, 0.0) + float(Decimal(memory.removesuffix("Gi")) * 1024)
        return free

    def step(self, counts: dict[str, int], duration_ms: dict[str, float]) -> MinuteOutcome:
        """Serve one minute of requests (function id -> count) and scale every revision for the next."""
        with self.lock:
            free = self._tier_free_memory()
            served: list[FunctionMinute] = []
            for path in sorted(self._revisions, key=lambda p: self._function_of[p]):
                service, revision = self.objects[path], self._revisions[path]
                function_id, memory = self._function_of[path], self._memory_mb[path]
                namespace = service["metadata"]["namespace"]
                annotations = self.objects[f"{KNATIVE}/namespaces/{namespace}/revisions/{revision.name}"][
                    "metadata"].get("annotations") or {}
                min_scale = _int(annotations.get(MIN_SCALE), 0)
                max_scale = _int(annotations.get(MAX_SCALE), 0) or None
                tier = self._tier_of(service)
                count = int(counts.get(function_id, 0))
                needed = math.ceil(count * duration_ms.get(function_id, 0.0) / 60_000.0) if count else 0
                needed = max(needed, 1) if count else 0
                ready = max(revision.pods, min_scale)
                if max_scale is not None:
                    ready = min(ready, max_scale)
                fits = int(free.get(tier, 0.0) // memory) if memory > 0 else ready
                ready = min(ready, max(fits, 0))
                free[tier] = free.get(tier, 0.0) - ready * memory
                cold = count > 0 and ready == 0
                served.append(FunctionMinute(function_id, tier, count, cold, ready, needed, memory))
                # Scale for the next minute: demand now, held by the stable window and scale-down-delay.
                delay_minutes = math.ceil(_seconds(annotations.get(SCALE_DOWN_DELAY)) / 60)
                revision.recent = (revision.recent + [max(needed, ready if count else 0)])[-(STABLE_WINDOW_MINUTES
                                                                                              + delay_minutes):]
                revision.idle_minutes = 0 if count else revision.idle_minutes + 1
                held = max(revision.recent) if revision.recent else 0
                if revision.idle_minutes > STABLE_WINDOW_MINUTES + delay_minutes - 1:
                    held = 0  # window and delay over: scale to zero after the grace period
                revision.pods = min(held, max_scale) if max_scale is not None else held
            return MinuteOutcome(tuple(served))
