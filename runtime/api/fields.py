"""Validated field types shared by request bodies and query parameters (errors name the field)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_EARLIEST_YEAR, _LATEST_YEAR = 1970, 9998


def _utc(value: datetime) -> datetime:
    # Naive times are read as UTC; the year bounds keep the conversion (and PostgreSQL) in range.
    if not _EARLIEST_YEAR <= value.year <= _LATEST_YEAR:
        raise ValueError(f"year must be between {_EARLIEST_YEAR} and {_LATEST_YEAR}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_minute(value: datetime) -> datetime:
    # One validator, not two chained: it runs once per ingested record.
    if value.second or value.microsecond:
        raise ValueError("must be the start of a minute (seconds and fractions zero), e.g. 2024-05-01T12:34:00Z")
    return _utc(value)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
UtcMinute = Annotated[datetime, AfterValidator(_utc_minute)]
# Printable names only: PostgreSQL text refuses NUL. A pattern also makes pydantic refuse lone
# surrogates (text that cannot be encoded as UTF-8).
FunctionId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/]+$")]
SourceName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
