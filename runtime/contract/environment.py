"""Environment variables the control plane sets on every service and the services read at start."""

from __future__ import annotations

SETTINGS_FILE = "ISF_SETTINGS_FILE"  # path of settings.yaml (RuntimeSettings), mounted from a ConfigMap
SERVICE = "ISF_SERVICE"  # the role the pod runs (`isf serve <role>`)
NAMESPACE = "ISF_NAMESPACE"  # the platform namespace: where the leader-election Lease lives
HTTP_PORT = "ISF_HTTP_PORT"  # the port serving the API or /healthz, /readyz, /metrics
REDIS_CLUSTER = "ISF_REDIS_CLUSTER"  # "true" when REDIS_URL points at a Redis Cluster
PROMETHEUS_URL = "ISF_PROMETHEUS_URL"  # where the collector reads Knative's request counts
DATABASE_URL = "DATABASE_URL"  # SQLAlchemy URL, from the data layer's Secret
REDIS_URL = "REDIS_URL"  # from the data layer's Secret; unset: no hot state
POD_NAME = "POD_NAME"  # this replica's identity in the Lease (downward API)
# OpenTelemetry's standard variables: the control plane sets them when tracing is on.
OTEL_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
OTEL_DISABLED = "OTEL_SDK_DISABLED"
