"""The function id every part of the platform accepts: ingest, the read API's paths, trace imports.

An id is 1 to 253 characters: an ASCII letter or digit, then letters, digits, `.`, `_`, `:` or `-`,
never two dots in a row. That admits the Azure traces' 64-hex hashes and the collector's
`namespace.configuration`, and keeps every id usable as one URL path segment as typed (no `/`, no
`..`, no percent-encoding needed) and unambiguous on screen (no spaces, zero-width or bidi controls).
"""

from __future__ import annotations

import re

FUNCTION_ID_MAX_LENGTH = 253
FUNCTION_ID_PATTERN = r"^[A-Za-z0-9](?:\.?[A-Za-z0-9_:-])*\.?$"
"""`^[A-Za-z0-9][A-Za-z0-9._:-]*$` without `..`, spelled without look-ahead so that pydantic's (Rust)
regex engine, OpenAPI clients and `re` all read it alike; the length is `FUNCTION_ID_MAX_LENGTH`."""

_FUNCTION_ID = re.compile(FUNCTION_ID_PATTERN.removesuffix("$") + r"\Z")


def function_id_problem(value: str) -> str | None:
    """Why `value` is not a valid function id, or None when it is."""
    if not 1 <= len(value) <= FUNCTION_ID_MAX_LENGTH:
        return f"must be 1 to {FUNCTION_ID_MAX_LENGTH} characters long"
    if not _FUNCTION_ID.match(value):
        return ("must be a letter or digit, then letters, digits, '.', '_', ':' or '-', "
                f"without '..' (pattern {FUNCTION_ID_PATTERN})")
    return None


def is_function_id(value: str) -> bool:
    return function_id_problem(value) is None
