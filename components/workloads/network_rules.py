"""A NetworkPolicy from explicit rules: which pods or namespaces may reach which ports, and where pods may go.

`manifests.network_policy` derives ingress from a workload's exposure; systems whose parts talk to each
other over fixed ports (a coordinator and its workers over UDP) state the flows instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from components.workloads.manifests import NAMESPACE_NAME_LABEL, Manifest

DNS_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class Peer:
    """Pods with `pods` labels (in the policy's namespace, or in `namespace`), or a whole `namespace`."""

    pods: Mapping[str, str] | None = None
    namespace: str | None = None

    def manifest(self) -> Manifest:
        body: Manifest = {}
        if self.pods is not None:
            body["podSelector"] = {"matchLabels": dict(self.pods)}
        if self.namespace is not None:
            body["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: self.namespace}}
        return body


@dataclass(frozen=True)
class Flow:
    """Traffic between `peers` and the selected pods on `ports` (number or name, protocol)."""

    peers: Sequence[Peer]
    ports: Sequence[tuple[int | str, str]] = field(default_factory=tuple)

    def manifest(self, direction: str) -> Manifest:
        body: Manifest = {direction: [peer.manifest() for peer in self.peers]}
        if self.ports:
            body["ports"] = [{"port": port, "protocol": protocol} for port, protocol in self.ports]
        return body


DNS_FLOW = Flow(peers=[Peer(namespace=DNS_NAMESPACE)], ports=[(53, "UDP"), (53, "TCP")])


def flow_policy(
    name: str,
    namespace: str,
    object_labels: Mapping[str, str],
    selector: Mapping[str, str],
    *,
    ingress: Sequence[Flow],
    egress: Sequence[Flow] | None = None,
) -> Manifest:
    """Default-deny ingress (and egress when `egress` is given, DNS always allowed) opened only for the flows."""
    spec: Manifest = {
        "podSelector": {"matchLabels": dict(selector)},
        "policyTypes": ["Ingress"] if egress is None else ["Ingress", "Egress"],
        "ingress": [flow.manifest("from") for flow in ingress],
    }
    if egress is not None:
        spec["egress"] = [DNS_FLOW.manifest("to"), *(flow.manifest("to") for flow in egress)]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(object_labels)}, "spec": spec}
