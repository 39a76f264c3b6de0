"""Kubeconfig documents for managed clusters; credentials come from the cloud CLI at use time, never stored."""

from __future__ import annotations

import json
from typing import Any


def _kubeconfig(name: str, server: str, ca_data: str, exec_config: dict[str, Any]) -> str:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": {"exec": exec_config}}],
    }
    return json.dumps(document, indent=2, sort_keys=True)


def eks_kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig for an EKS cluster that authenticates with `aws eks get-token`."""
    return _kubeconfig(
        cluster_name,
        endpoint,
        ca_data,
        {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": [
                "eks",
                "get-token",
                "--cluster-name",
                cluster_name,
                "--region",
                region,
                "--output",
                "json",
            ],
            "interactiveMode": "Never",
        },
    )


def gke_kubeconfig(cluster_name: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig for a GKE cluster that authenticates with `gke-gcloud-auth-plugin`."""
    server = endpoint if endpoint.startswith("https://") else f"https://{endpoint}"
    return _kubeconfig(
        cluster_name,
        server,
        ca_data,
        {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
            "interactiveMode": "Never",
        },
    )
