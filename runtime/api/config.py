"""A service process's settings, built once when it starts: the environment the control plane sets
(every name from `runtime.contract.environment`) and the runtime knobs of the mounted settings.yaml."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.contract import ServiceRole, auth, environment
from runtime.contract.kubernetes import PLATFORM_NAMESPACE
from runtime.settings import RuntimeSettings
from runtime.store.engine import DEFAULT_DATABASE_URL

DEFAULT_HTTP_PORT = 8080


def _runtime_from_file(data: dict[str, Any]) -> RuntimeSettings:
    return RuntimeSettings.load(data.get("settings_file"))


def _read_secret_file(path: Path | None) -> str | None:
    # A Secret key mounted as a file ends where the value ends; editors and `echo` add a newline.
    return None if path is None else path.read_text(encoding="utf-8").strip()


def _database_url_from_file(data: dict[str, Any]) -> str:
    return _read_secret_file(data.get("database_url_file")) or DEFAULT_DATABASE_URL


def _redis_url_from_file(data: dict[str, Any]) -> str | None:
    return _read_secret_file(data.get("redis_url_file"))


class ServiceSettings(BaseSettings):
    """Where a service finds its database, Redis and Prometheus, who and where it runs, how it behaves under
    load and failure, and (`runtime`) every knob of prediction, warming, placement and cost."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    service: ServiceRole | None = Field(
        default=None, validation_alias=environment.SERVICE, description="the role this pod runs, when deployed"
    )
    http_port: Annotated[int, Field(ge=1, le=65535, validation_alias=environment.HTTP_PORT)] = DEFAULT_HTTP_PORT
    # The *_FILE variants come first: the URLs' defaults read them (a mounted Secret keeps the URL out of env).
    database_url_file: Path | None = Field(default=None, validation_alias=environment.DATABASE_URL_FILE)
    redis_url_file: Path | None = Field(default=None, validation_alias=environment.REDIS_URL_FILE)
    database_url: str = Field(
        default_factory=_database_url_from_file, validation_alias=environment.DATABASE_URL,
        description="else the contents of database_url_file, else a local SQLite file",
    )
    redis_url: str | None = Field(
        default_factory=_redis_url_from_file, validation_alias=environment.REDIS_URL,
        description="else the contents of redis_url_file; unset: no hot state",
    )
    redis_cluster: bool = Field(
        default=False,
        validation_alias=environment.REDIS_CLUSTER,
        description="use the cluster-aware client (the production Redis is a cluster)",
    )
    redis_prefix: str = Field(default="isf:", validation_alias=environment.REDIS_PREFIX)
    prometheus_url: str | None = Field(
        default=None,
        validation_alias=environment.PROMETHEUS_URL,
        description="when set, the api service collects Knative request counts from it every minute",
    )
    clock_url: str | None = Field(
        default=None, validation_alias=environment.CLOCK,
        description="`isf loop`: the simulated clock the loops and controllers follow; unset: the wall clock",
    )
    namespace: str = Field(
        default=PLATFORM_NAMESPACE, validation_alias=environment.NAMESPACE,
        description="namespace of the leader-election Lease",
    )
    pod_name: str = Field(
        default_factory=socket.gethostname, validation_alias=environment.POD_NAME,
        description="this replica's identity in the Lease",
    )
    migrate_on_start: bool = Field(
        default=True, validation_alias=environment.MIGRATE_ON_START,
        description="run Alembic upgrade head when the service starts",
    )
    retry_after_s: Annotated[int, Field(ge=1, le=3600, validation_alias=environment.RETRY_AFTER_S)] = 5
    ingest_requests_per_minute: Annotated[
        int,
        Field(ge=0, validation_alias=environment.INGEST_REQUESTS_PER_MINUTE,
              description="per source; 0 disables the limit (needs Redis to apply)"),
    ] = 6000
    api_tokens_dir: Path | None = Field(
        default=None, validation_alias=environment.API_TOKENS_DIR,
        description="the API tokens, one file each (runtime.contract.auth); unset: the local token file",
    )
    local_token_file: Path = Field(
        default=Path(auth.LOCAL_TOKEN_FILE), validation_alias=environment.LOCAL_TOKEN_FILE,
        description="the all-scope token `isf serve api` generates (mode 0600) when no tokens are configured",
    )
    api_requests_per_minute: Annotated[
        int,
        Field(ge=0, validation_alias=environment.API_REQUESTS_PER_MINUTE,
              description="per API token (Redis-wide when Redis answers, per replica otherwise); 0: no limit"),
    ] = 6000
    forecast_cache_ttl_s: Annotated[int, Field(ge=1, validation_alias=environment.FORECAST_CACHE_TTL_S)] = 900
    log_level: str = Field(default="INFO", validation_alias=environment.LOG_LEVEL)
    settings_file: Path | None = Field(default=None, validation_alias=environment.SETTINGS_FILE)
    runtime: RuntimeSettings = Field(
        default_factory=_runtime_from_file, description="settings.yaml (`settings_file`), else the defaults"
    )

    def service_name(self, role: ServiceRole) -> str:
        """The name logs and traces carry: `role`, after checking ISF_SERVICE (when set) says the same."""
        if self.service is not None and self.service is not role:
            raise ValueError(f"{environment.SERVICE}={self.service.value!r} but this process serves {role.value!r}")
        return role.value
