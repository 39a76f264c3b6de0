"""Validated field types shared by request bodies and query parameters (errors name the field).

Times are ISO-8601 strings only (a number is not read as epoch seconds), converted to UTC (no offset
means UTC), and must fall in [`EARLIEST`, `LATEST`] after the conversion. Function ids follow
`runtime.contract.identifiers.FUNCTION_ID_PATTERN`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from runtime.contract.identifiers import FUNCTION_ID_MAX_LENGTH, FUNCTION_ID_PATTERN, function_id_problem

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, tzinfo=UTC)
"""The accepted time range, inclusive, in UTC (PostgreSQL and Python both represent it)."""

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_only(value: Any) -> Any:
    # Before pydantic's own parsing, which would read a number (or "0.5") as seconds since the epoch.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _NUMBER.fullmatch(value):
        raise ValueError("must be an ISO-8601 time string, e.g. 2024-05-01T12:34:00Z")
    return value


def _utc(value: datetime) -> datetime:
    # Naive times are read as UTC; the range is checked on the UTC instant, not the local fields.
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%dT%H:%MZ} and {LATEST:%Y-%m-%dT%H:%MZ} in UTC")
    return moment


def _utc_minute(value: datetime) -> datetime:
    # One validator, not two chained: it runs once per ingested record.
    if value.second or value.microsecond:
        raise ValueError("must be the start of a minute (seconds and fractions zero), e.g. 2024-05-01T12:34:00Z")
    return _utc(value)


def _function_id(value: str) -> str:
    problem = function_id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


_ISO = BeforeValidator(_iso_only)
_TIME_DOC = Field(description="ISO-8601 time; UTC if no offset is given", examples=["2024-05-01T12:00:00Z"])
UtcTime = Annotated[datetime, _ISO, AfterValidator(_utc), _TIME_DOC]
UtcMinute = Annotated[datetime, _ISO, AfterValidator(_utc_minute), _TIME_DOC]
# The pattern refuses NUL (PostgreSQL text cannot hold it), lone surrogates, spaces, '/' and every
# invisible or direction-changing character; `..` is refused by the after-validator.
FunctionId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=FUNCTION_ID_MAX_LENGTH, pattern=FUNCTION_ID_PATTERN),
    AfterValidator(_function_id),
]
SourceName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
