"""The process settings of an `isf` command, built once from its environment (`runtime.api.ServiceSettings`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from runtime.api.config import ServiceSettings
    from runtime.settings import RuntimeSettings


def load_service_settings() -> ServiceSettings:
    """The settings from the environment and $ISF_SETTINGS_FILE; a bad value is a usage error naming the variable."""
    from pydantic import ValidationError

    from runtime.api.config import ServiceSettings

    try:
        return ServiceSettings()
    except (ValidationError, OSError) as error:
        raise typer.BadParameter(f"invalid service environment: {error}") from error


def runtime_settings(path: Path | None) -> RuntimeSettings:
    """The runtime knobs of `path` when given, else those the environment's settings file holds."""
    from runtime.settings import RuntimeSettings

    return RuntimeSettings.load(path) if path else load_service_settings().runtime
