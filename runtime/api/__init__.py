"""HTTP services: shared scaffolding (`service.py`) and the `api` service (ingest + operators' reads)."""

from runtime.api.app import create_api_app
from runtime.api.config import ServiceSettings
from runtime.api.server import run_service
from runtime.api.service import ServiceContext, create_service_app, service_context

__all__ = ["ServiceContext", "ServiceSettings", "create_api_app", "create_service_app", "run_service", "service_context"]
