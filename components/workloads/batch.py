"""Run-to-completion workloads: a `WorkloadSpec` as a `batch/v1` Job or CronJob, hardened like a Deployment.

The pod is the Deployment's pod (`pod_template`: non-root, read-only root, requests and limits, tier
scheduling, token only with a ServiceAccount) without probes, restarting only on failure; the Job is
bounded by `active_deadline_seconds` and `backoff_limit`, so a stuck migration or training run fails
instead of holding a node forever.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.workloads.manifests import Manifest, controller_metadata, network_policy, pod_template
from components.workloads.spec import Exposure, WorkloadSpec

# Five fields (minute hour day-of-month month day-of-week) or a macro; Kubernetes rejects the rest.
CRON_SCHEDULE = re.compile(r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunLimits(_Spec):
    """How long and how often one run may try before the Job counts as failed."""

    active_deadline_seconds: Annotated[int, Field(ge=1)] = 600
    backoff_limit: Annotated[int, Field(ge=0, le=20)] = 3


class ConcurrencyPolicy(StrEnum):
    """What a CronJob does when a run is due while the previous one still runs."""

    FORBID = "Forbid"
    REPLACE = "Replace"
    ALLOW = "Allow"


class CronSchedule(_Spec):
    """When a CronJob runs and how it treats overlapping and missed runs."""

    schedule: Annotated[str, Field(pattern=CRON_SCHEDULE.pattern)] = "0 * * * *"
    time_zone: str | None = Field(default=None, description="IANA zone, e.g. Europe/Berlin; empty = the controller's (UTC)")
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.FORBID
    starting_deadline_seconds: Annotated[int, Field(ge=10)] = 300
    successful_jobs_history_limit: Annotated[int, Field(ge=0, le=10)] = 1
    failed_jobs_history_limit: Annotated[int, Field(ge=0, le=10)] = 3
    suspend: bool = False


class BatchSpec(_Spec):
    """A workload that runs to completion: its pod, limits and (for a CronJob) schedule."""

    workload: WorkloadSpec
    limits: RunLimits = RunLimits()

    @model_validator(mode="after")
    def _runs_to_completion(self) -> BatchSpec:
        workload = self.workload
        if workload.autoscaling is not None or workload.disruption_budget is not None:
            raise ValueError(f"{workload.name}: a Job has no autoscaling or disruption budget; remove them")
        return self


def _job_pod(spec: BatchSpec) -> Manifest:
    template = pod_template(spec.workload.model_copy(update={"probes": None}))
    template["spec"]["restartPolicy"] = "Never"  # the Job retries with a fresh pod (backoff_limit)
    return template


def _job_spec(spec: BatchSpec) -> Manifest:
    return {
        "backoffLimit": spec.limits.backoff_limit,
        "activeDeadlineSeconds": spec.limits.active_deadline_seconds,
        "template": _job_pod(spec),
    }


def job(spec: BatchSpec, namespace: str) -> Manifest:
    """A `batch/v1` Job."""
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": controller_metadata(spec.workload, namespace),
            "spec": _job_spec(spec)}


def cron_job(spec: BatchSpec, schedule: CronSchedule, namespace: str) -> Manifest:
    """A `batch/v1` CronJob whose runs are `spec`'s Job."""
    body: Manifest = {
        "schedule": schedule.schedule,
        "concurrencyPolicy": schedule.concurrency_policy.value,
        "startingDeadlineSeconds": schedule.starting_deadline_seconds,
        "successfulJobsHistoryLimit": schedule.successful_jobs_history_limit,
        "failedJobsHistoryLimit": schedule.failed_jobs_history_limit,
        "suspend": schedule.suspend,
        "jobTemplate": {"metadata": {"labels": pod_template(spec.workload)["metadata"]["labels"]},
                        "spec": _job_spec(spec)},
    }
    if schedule.time_zone is not None:
        body["timeZone"] = schedule.time_zone
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": controller_metadata(spec.workload, namespace),
            "spec": body}


def batch_network_policy(spec: BatchSpec, namespace: str) -> Manifest:
    """Deny all ingress to the run's pods (they serve nothing)."""
    return network_policy(spec.workload.model_copy(update={"expose": Exposure.NONE, "metrics": None}), namespace)
