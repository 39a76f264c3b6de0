"""MLflow tracking server (community-charts chart mlflow 1.11.5, MLflow 3.15.1) for the ML scheduler: runs and
the model registry in the platform's PostgreSQL (its own database, credentials from a Secret), artifacts in
the stack's bucket through workload identity (no keys). The chart's bundled PostgreSQL / MySQL / MinIO
(Bitnami images, whose free tags are frozen) stay off: the platform's stores replace them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.helm import ChartRef, Values, helm_chart

MLFLOW_CHART = ChartRef("mlflow", "1.11.5", "https://community-charts.github.io/helm-charts")
MLFLOW_SERVICE_ACCOUNT = "mlflow"
ARTIFACTS_MOUNT = "/mlartifacts"
MLFLOW_PORT = 80  # the chart's Service port (the container listens on 5000)


def mlflow_url(namespace: str) -> str:
    return f"http://mlflow.{namespace}.svc:{MLFLOW_PORT}"


def mlflow_values(
    *, postgres_host: pulumi.Input[str], postgres_port: pulumi.Input[int], database: str, credentials_secret: str,
    artifact_scheme: str | None, bucket: pulumi.Input[str] | None,
    service_account_annotations: Mapping[str, pulumi.Input[str]], replicas: int, artifacts_claim: str | None = None,
) -> Values:
    artifacts: Values = {"proxiedArtifactStorage": True}
    volumes: Values = {}
    if artifacts_claim is not None:  # no bucket (a cluster you bring): a ReadWriteMany claim holds the artifacts
        artifacts["defaultArtifactsDestination"] = ARTIFACTS_MOUNT
        volumes = {"extraVolumes": [{"name": "artifacts", "persistentVolumeClaim": {"claimName": artifacts_claim}}],
                   "extraVolumeMounts": [{"name": "artifacts", "mountPath": ARTIFACTS_MOUNT}]}
    if artifact_scheme == "s3":
        artifacts["s3"] = {"enabled": True, "bucket": bucket, "path": "mlflow"}
    elif artifact_scheme == "gcs":
        artifacts["gcs"] = {"enabled": True, "bucket": bucket, "path": "mlflow"}
    return {
        "replicaCount": replicas,
        "serviceAccount": {"create": True, "name": MLFLOW_SERVICE_ACCOUNT,
                           "annotations": dict(service_account_annotations)},
        "backendStore": {
            "databaseMigration": True,
            "databaseConnectionCheck": True,
            "postgres": {"enabled": True, "host": postgres_host, "port": postgres_port, "database": database},
            "existingDatabaseSecret": {"name": credentials_secret, "usernameKey": "username", "passwordKey": "password"},
        },
        "artifactRoot": artifacts,
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
        **volumes,
    }


def mlflow(name: str, namespace: str, values: Values, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    return helm_chart(name, MLFLOW_CHART, release="mlflow", namespace=namespace, values=values, opts=opts)
