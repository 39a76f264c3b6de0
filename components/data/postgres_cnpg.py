"""PostgreSQL inside the cluster: the CloudNativePG operator (Helm) and a `Cluster` of 3 instances.

The operator handles failover, replicas and rolling updates; instances spread across nodes with
anti-affinity and run on the spec's tier. Services: `<cluster>-rw` (primary), `<cluster>-ro` (replicas).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.data.credentials import SecretDelivery, generated_password
from components.data.postgres_store import PostgresStore
from components.data.postgres_tuning import cnpg_parameters
from components.data.protection import stateful_options
from components.data.spec import PostgresSpec, StoreMode, mode_problems
from components.helm import ChartRef, helm_chart, merged_values
from runtime.contract.scheduling import placement

OPERATOR_CHART = ChartRef(chart="cloudnative-pg", version="0.29.0", repo="https://cloudnative-pg.github.io/charts")
OPERATOR_NAMESPACE = "cnpg-system"
PORT = 5432


@dataclass(frozen=True)
class InClusterPostgresArgs:
    """The spec plus where the connection Secret (and the database itself) goes."""

    spec: PostgresSpec
    delivery: SecretDelivery


def operator_values(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Curated CloudNativePG chart values (keys of the pinned chart's values.yaml) with overrides merged."""
    defaults: dict[str, Any] = {
        "crds": {"create": True},
        "replicaCount": 1,
        "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "500Mi"}},
    }
    return merged_values(defaults, overrides)


def cnpg_cluster_manifest(cluster_name: str, namespace: str, spec: PostgresSpec) -> dict[str, Any]:
    """The `postgresql.cnpg.io/v1` Cluster: instances, tuning, bootstrap from our Secret, storage, placement."""
    where = placement(spec.tier)
    storage: dict[str, Any] = {"size": f"{spec.storage_gb}Gi"}
    if spec.storage_class:
        storage["storageClass"] = spec.storage_class
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {
            "name": cluster_name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "isf", "app.kubernetes.io/component": "postgres"},
        },
        "spec": {
            "instances": spec.instances,
            "imageName": f"ghcr.io/cloudnative-pg/postgresql:{spec.version}",
            "primaryUpdateStrategy": "unsupervised",
            "postgresql": {"parameters": cnpg_parameters(spec.tuning)},
            "bootstrap": {
                "initdb": {
                    "database": spec.database,
                    "owner": spec.username,
                    "secret": {"name": spec.secret_name},
                }
            },
            "storage": storage,
            "resources": {
                "requests": {"cpu": spec.cpu, "memory": spec.memory},
                "limits": {"cpu": spec.cpu, "memory": spec.memory},
            },
            "affinity": {
                "enablePodAntiAffinity": True,
                "topologyKey": "kubernetes.io/hostname",
                "podAntiAffinityType": "required" if spec.instances > 1 else "preferred",
                "nodeSelector": where.node_selector,
                "tolerations": where.tolerations,
            },
        },
    }


class InClusterPostgres(PostgresStore):
    """The CloudNativePG operator plus a PostgreSQL `Cluster` in the platform namespace."""

    def __init__(
        self, name: str, args: InClusterPostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("isf:data:InClusterPostgres", name, None, opts)
        spec = args.spec
        mode_problems(spec.mode, StoreMode.IN_CLUSTER, "InClusterPostgres", "postgres").raise_if_any()
        provider = args.delivery.k8s_provider
        operator_namespace = k8s.core.v1.Namespace(
            f"{name}-operator-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=OPERATOR_NAMESPACE),
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        # The chart ships the Cluster CRD, so the Cluster below depends on the whole chart.
        operator = helm_chart(
            f"{name}-operator",
            OPERATOR_CHART,
            release=OPERATOR_CHART.chart,
            namespace=OPERATOR_NAMESPACE,
            values=operator_values(spec.operator_values),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[operator_namespace]),
        )
        password = generated_password(f"{name}-password", self)
        cluster_name = f"{name}-postgres"
        namespace = pulumi.Output.from_input(args.delivery.namespace)
        manifest = namespace.apply(lambda ns: cnpg_cluster_manifest(cluster_name, ns, spec))
        host = namespace.apply(lambda ns: f"{cluster_name}-rw.{ns}.svc.cluster.local")
        # The Cluster bootstraps its owner from this Secret, so it must exist first.
        secret = self._deliver(name, spec, args.delivery, host=host, port=PORT, password=password)
        k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata=manifest.apply(lambda m: m["metadata"]),
            spec=manifest.apply(lambda m: m["spec"]),
            opts=stateful_options(spec, parent=self, provider=provider, depends_on=[operator, secret]),
        )
        self._register()
