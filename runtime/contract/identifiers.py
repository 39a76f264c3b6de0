"""The function id every part of the platform accepts: ingest, the read API's paths, trace imports.

An id is 1 to 253 characters: an ASCII letter or digit, then letters, digits, `.`, `_`, `:` or `-`,
never two dots in a row. That admits the Azure traces' 64-hex hashes and the collector's
`namespace.configuration`, and keeps every id usable as one URL path segment as typed (no `/`, no
`..`, no percent-encoding needed) and unambiguous on screen (no spaces, zero-width or bidi controls).
"""

from __future__ import annotations

import re

FUNCTION_ID_MAX_LENGTH = 253
FUNCTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$"
"""Without `..` (checked apart: pydantic's regex engine has no look-ahead)."""

_FUNCTION_ID = re.compile(FUNCTION_ID_PATTERN.removesuffix("$") + r"\Z")


def function_id_problem(value: str) -> str | None:
    """Why `value` is not a valid function id, or None when it is."""
    if not _FUNCTION_ID.match(value):
        return (f"must match {FUNCTION_ID_PATTERN} (1-{FUNCTION_ID_MAX_LENGTH} characters: a letter or digit, "
                "then letters, digits, '.', '_', ':' or '-')")
    if ".." in value:
        return "must not contain '..'"
    return None


def is_function_id(value: str) -> bool:
    return function_id_problem(value) is None
