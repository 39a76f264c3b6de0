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
# Path of the PEM of the CA that signs Redis's TLS certificate (the Redis Secret's `ca.crt` mounted as a file:
# Memorystore's per-cluster CA); unset, missing or empty: the system's roots (ElastiCache) or no TLS.
REDIS_CA_CERT_FILE = "ISF_REDIS_CA_CERT_FILE"
# The same values read from a file (a Secret key mounted as a file); the plain variable wins when both are set.
DATABASE_URL_FILE = "DATABASE_URL_FILE"
REDIS_URL_FILE = "REDIS_URL_FILE"
# Comma-separated namespaces the controllers look for functions in (their RBAC reaches only these);
# unset or empty: every namespace (a kubeconfig user outside the cluster).
FUNCTION_NAMESPACES = "ISF_FUNCTION_NAMESPACES"
POD_NAME = "POD_NAME"  # this replica's identity in the Lease (downward API)
API_TOKENS_DIR = "ISF_API_TOKENS_DIR"  # the API tokens Secret mounted as files (runtime.contract.auth)
# OpenTelemetry's standard variables: the control plane sets them when tracing is on.
OTEL_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
OTEL_DISABLED = "OTEL_SDK_DISABLED"
# Tuning the control plane leaves at its defaults; operators, tests and benchmarks set them.
REDIS_PREFIX = "ISF_REDIS_PREFIX"  # key prefix of the hot state in Redis
MIGRATE_ON_START = "ISF_MIGRATE_ON_START"  # "false": the schema is migrated by someone else
RETRY_AFTER_S = "ISF_RETRY_AFTER_S"  # Retry-After of a 503 while the database is down
INGEST_REQUESTS_PER_MINUTE = "ISF_INGEST_REQUESTS_PER_MINUTE"  # per source; 0 disables the limit
FORECAST_CACHE_TTL_S = "ISF_FORECAST_CACHE_TTL_S"  # lifetime of a forecast cached in Redis
API_REQUESTS_PER_MINUTE = "ISF_API_REQUESTS_PER_MINUTE"  # per API token; 0 disables the limit
LOCAL_TOKEN_FILE = "ISF_LOCAL_TOKEN_FILE"  # the generated all-scope token when API_TOKENS_DIR is unset
LOG_LEVEL = "ISF_LOG_LEVEL"  # Python logging level of the JSON logs
# `isf loop` only: URL of the simulated clock the services follow (runtime/cluster_sim/clock.py); unset: the wall clock.
CLOCK = "ISF_CLOCK"
# Set by Kubernetes in every pod: the service then uses its in-cluster credentials.
KUBERNETES_SERVICE_HOST = "KUBERNETES_SERVICE_HOST"
