"""API authentication both halves agree on: the scopes, the tokens Secret and where it is mounted.

The program generates one random token per scope into `API_TOKENS_SECRET` (keys = `TOKEN_KEYS`), mounts it
read-only at `API_TOKENS_MOUNT` in the services that serve authenticated routes, and copies the ingest
token alone into `INGEST_TOKEN_SECRET` for ingest clients. A token file's name is its id: `<scope>` or
`<scope>.<client>` (e.g. `ingest.collector-eu`), so one scope can have several revocable clients; the
id keys the per-client rate limit and names the actor in the audit log.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """What a bearer token may do; every API route requires exactly one (or is open, see runtime.api.auth)."""

    INGEST = "ingest"  # POST /v1/invocations
    READ = "read"  # operators' and dashboards' reads
    ADMIN = "admin"  # changes and deletions, each written to the audit log


API_TOKENS_SECRET = "isf-api-tokens"
API_TOKENS_MOUNT = "/var/run/secrets/isf/api-tokens"
TOKEN_KEYS: tuple[str, ...] = tuple(scope.value for scope in Scope)
INGEST_TOKEN_SECRET = "isf-ingest-token"
INGEST_TOKEN_KEY = "token"
LOCAL_TOKEN_FILE = ".isf-token"
"""Default path (relative to the working directory) of the token `isf serve api` generates for local use."""
LOCAL_TOKEN_ID = "local"


def scopes_of(token_id: str) -> frozenset[Scope]:
    """The scopes a token file's name grants: `<scope>[.<client>]`, scopes joined by `+` (`read+admin`)."""
    names = token_id.split(".", 1)[0].split("+")
    return frozenset(Scope(name) for name in names)
