"""The model registry: versioned forecasters with their parameters, metrics and serialised weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from runtime.store.schema import ModelVersion


class ModelVersionExists(ValueError):
    """A (name, version) pair is registered once; a new training run needs a new version."""


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """One registered model version."""

    name: str
    version: str
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    blob: bytes | None = None
    created_at: datetime | None = None


def register_model(engine: Engine, model: RegisteredModel) -> None:
    """Store a new model version; raises ModelVersionExists if (name, version) is taken."""
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(ModelVersion).values(
                    name=model.name,
                    version=model.version,
                    parameters=model.parameters,
                    metrics=model.metrics,
                    blob=model.blob,
                )
            )
    except IntegrityError as error:
        raise ModelVersionExists(f"model {model.name!r} version {model.version!r} is already registered") from error


def get_model(engine: Engine, name: str, version: str | None = None) -> RegisteredModel | None:
    """A model version (the newest registered if `version` is None), or None."""
    query = select(ModelVersion).where(ModelVersion.name == name)
    if version is not None:
        query = query.where(ModelVersion.version == version)
    query = query.order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc()).limit(1)
    with Session(engine) as session:
        row = session.execute(query).scalar_one_or_none()
        return None if row is None else _model(row, with_blob=True)


def list_models(engine: Engine, name: str | None = None) -> list[RegisteredModel]:
    """Registered versions, newest first, without their blobs."""
    query = select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
    if name is not None:
        query = query.where(ModelVersion.name == name)
    with Session(engine) as session:
        return [_model(row, with_blob=False) for row in session.execute(query).scalars()]


def _model(row: ModelVersion, *, with_blob: bool) -> RegisteredModel:
    return RegisteredModel(
        row.name, row.version, dict(row.parameters), dict(row.metrics), row.blob if with_blob else None, row.created_at
    )
