"""`INSERT ... ON CONFLICT` for the two backends, which spell it with different (same-shaped) constructs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(connection: Connection, table: Any) -> Any:
    """A dialect-specific insert supporting `.on_conflict_do_update` / `.on_conflict_do_nothing`."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
