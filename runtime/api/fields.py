"""Validated field types shared by request bodies and query parameters (errors name the field).

Times are ISO-8601 strings only (a number is not read as epoch seconds), converted to UTC (no offset
means UTC), and must fall in [`EARLIEST`, `LATEST`] after the conversion. Function ids follow
`runtime.contract.identifiers.FUNCTION_ID_PATTERN`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import PlainValidator, StringConstraints, WithJsonSchema

from runtime.contract.identifiers import FUNCTION_ID_MAX_LENGTH, FUNCTION_ID_PATTERN

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, tzinfo=UTC)
"""The accepted time range, inclusive, in UTC (PostgreSQL and Python both represent it)."""

_EARLIEST_YEAR, _LATEST_YEAR = EARLIEST.year, LATEST.year
_ISO_EXAMPLE = "2024-05-01T12:34:00Z"


def _parse(value: Any) -> datetime:
    # Strings only, parsed by datetime.fromisoformat (C, several times cheaper per ingested record than
    # a before/parse/after validator chain); a number, or a numeric string such as "0.5" or
    # "1714564800", is not read as seconds since the epoch.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and not value.isdigit():  # "20240501" would parse: a number, refused
            return moment
    raise ValueError(f"must be an ISO-8601 time string, e.g. {_ISO_EXAMPLE}")


def _utc(value: Any) -> datetime:
    # Naive times are read as UTC; the range is checked on the UTC instant, not the local fields.
    moment: datetime | None = _parse(value)
    assert moment is not None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            moment = None
    if moment is None or not (_EARLIEST_YEAR < moment.year < _LATEST_YEAR or EARLIEST <= moment <= LATEST):
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%dT%H:%MZ} and {LATEST:%Y-%m-%dT%H:%MZ} in UTC")
    return moment


def _utc_minute(value: Any) -> datetime:
    moment = _utc(value)
    if moment.second or moment.microsecond:
        raise ValueError(f"must be the start of a minute (seconds and fractions zero), e.g. {_ISO_EXAMPLE}")
    return moment


_TIME_SCHEMA = WithJsonSchema({"type": "string", "format": "date-time", "examples": [_ISO_EXAMPLE],
                               "description": "ISO-8601 time; UTC if no offset is given"})
UtcTime = Annotated[datetime, PlainValidator(_utc), _TIME_SCHEMA]
UtcMinute = Annotated[datetime, PlainValidator(_utc_minute), _TIME_SCHEMA]
# The pattern refuses NUL (PostgreSQL text cannot hold it), lone surrogates, spaces, '/', '..' and
# every invisible or direction-changing character.
FunctionId = Annotated[
    str, StringConstraints(min_length=1, max_length=FUNCTION_ID_MAX_LENGTH, pattern=FUNCTION_ID_PATTERN)
]
SourceName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
