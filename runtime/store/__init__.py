"""Persistence: the SQLAlchemy schema, Alembic migrations and the small functions services call.

Services never hold sessions: they call e.g. `record_invocations(engine, source, records)` or
`latest_forecast(engine, function_id)`; each function owns its transaction.
"""

from runtime.store.cost import FunctionCost, warm_pool_costs
from runtime.store.decisions import (
    Actuation,
    PoolDecision,
    TierPlacement,
    audit_log,
    current_pools,
    latest_decisions,
    latest_placements,
    record_actuations,
    record_decisions,
    record_placements,
)
from runtime.store.engine import DEFAULT_DATABASE_URL, DatabaseUrlError, open_engine
from runtime.store.forecasts import Forecast, latest_forecast, latest_forecasts, record_forecasts
from runtime.store.functions import (
    DurationStats,
    FunctionInfo,
    average_durations,
    get_function,
    list_functions,
    record_durations,
    upsert_functions,
)
from runtime.store.invocations import (
    InvocationRecord,
    StoredInvocation,
    invocation_matrix,
    invocations_between,
    record_invocations,
)
from runtime.store.migrate import current_revision, downgrade, upgrade
from runtime.store.models import ModelVersionExists, RegisteredModel, get_model, list_models, register_model
from runtime.store.schema import AuditOutcome

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Actuation",
    "AuditOutcome",
    "DatabaseUrlError",
    "DurationStats",
    "Forecast",
    "FunctionCost",
    "FunctionInfo",
    "InvocationRecord",
    "ModelVersionExists",
    "PoolDecision",
    "RegisteredModel",
    "StoredInvocation",
    "TierPlacement",
    "audit_log",
    "average_durations",
    "current_pools",
    "current_revision",
    "downgrade",
    "get_function",
    "get_model",
    "invocation_matrix",
    "invocations_between",
    "latest_decisions",
    "latest_forecast",
    "latest_forecasts",
    "latest_placements",
    "list_functions",
    "list_models",
    "open_engine",
    "record_actuations",
    "record_decisions",
    "record_durations",
    "record_forecasts",
    "record_invocations",
    "record_placements",
    "register_model",
    "upgrade",
    "upsert_functions",
    "warm_pool_costs",
]
