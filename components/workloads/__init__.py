"""Typed workload and function specs, the builders that turn them into Kubernetes objects, and thin components."""

from components.workloads.component import FunctionArgs, KnativeFunction, Workload, WorkloadArgs
from components.workloads.function import FunctionSpec, ScaleMetric, Visibility, knative_service
from components.workloads.manifests import workload_manifests
from components.workloads.registration import register_manifests
from components.workloads.spec import (
    Autoscaling,
    DisruptionBudget,
    Exposure,
    Metrics,
    Port,
    Probe,
    Probes,
    Resources,
    SecretEnv,
    Volume,
    VolumeSource,
    WorkloadSpec,
)

__all__ = [
    "Autoscaling",
    "DisruptionBudget",
    "Exposure",
    "FunctionArgs",
    "FunctionSpec",
    "KnativeFunction",
    "Metrics",
    "Port",
    "Probe",
    "Probes",
    "Resources",
    "ScaleMetric",
    "SecretEnv",
    "Visibility",
    "Volume",
    "VolumeSource",
    "Workload",
    "WorkloadArgs",
    "WorkloadSpec",
    "knative_service",
    "register_manifests",
    "workload_manifests",
]
