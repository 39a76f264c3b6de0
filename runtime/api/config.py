"""Process-level configuration of a service, from the environment (the runtime knobs live in settings.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.store.engine import DEFAULT_DATABASE_URL


class ServiceConfig(BaseSettings):
    """Where a service finds its database and Redis, and how it behaves under load and failure."""

    model_config = SettingsConfigDict(env_prefix="ISF_", extra="ignore", frozen=True, populate_by_name=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "ISF_DATABASE_URL")
    )
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "ISF_REDIS_URL"))
    redis_cluster: bool = Field(
        default=False,
        validation_alias=AliasChoices("REDIS_CLUSTER", "ISF_REDIS_CLUSTER"),
        description="use the cluster-aware client (the production Redis is a cluster)",
    )
    redis_prefix: str = "isf:"
    migrate_on_start: bool = Field(default=True, description="run Alembic upgrade head when the service starts")
    retry_after_s: Annotated[int, Field(ge=1, le=3600)] = 5
    ingest_requests_per_minute: Annotated[
        int, Field(ge=0, description="per source; 0 disables the limit (needs Redis to apply)")
    ] = 6000
    forecast_cache_ttl_s: Annotated[int, Field(ge=1)] = 900
    prometheus_url: str | None = Field(
        default=None, description="when set, the api service collects Knative request counts from it every minute"
    )
    log_level: str = "INFO"
