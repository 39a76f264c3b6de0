"""Who may call the HTTP API: bearer tokens with one scope each, a rate limit per token, open probes.

Tokens are files in a directory (the `isf-api-tokens` Secret mounted by the control plane,
`runtime.contract.auth`); a file's name is the token's id and names its scopes. Only SHA-256 digests
are kept in memory, and a presented token is hashed and compared with every digest by
`hmac.compare_digest`: the comparison takes the same time whatever the token, and whichever token matches.

Every route declares its scope with `Depends(RequireScope(Scope.X))`; `check_every_route_is_guarded` refuses
to build an app with a route that declares none and is not in `OPEN_PATHS`, so a new endpoint cannot
ship unauthenticated by omission.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from runtime.contract import environment
from runtime.contract.auth import LOCAL_TOKEN_ID, Scope, scopes_of
from runtime.state.hot_state import HotState

if TYPE_CHECKING:
    from runtime.api.config import ServiceSettings

log = logging.getLogger(__name__)

OPEN_PATHS: dict[str, str] = {
    "/healthz": "the kubelet's liveness probe carries no credential; it says only that the process serves",
    "/readyz": "the kubelet's readiness probe carries no credential; it reports up/down, no data",
    "/metrics": "Prometheus scrapes it inside the mesh (the AuthorizationPolicy admits the platform namespace"
                " and the monitoring namespace only, never the ingress gateway); aggregate series, no records",
    "/openapi.json": "the API's shape, no data (a plain Starlette route, listed for the record)",
    "/docs": "the API's shape, no data: operators need it to learn which token a route wants",
    "/docs/oauth2-redirect": "part of the Swagger UI page",
}


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token's id (its file's name), what it may do, and the SHA-256 of its value."""

    id: str
    scopes: frozenset[Scope]
    digest: bytes


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _token_files(folder: Path) -> Iterator[tuple[str, Path]]:
    # A mounted Secret also holds `..data` and `..<timestamp>` entries (the atomic-update symlinks).
    for path in sorted(folder.iterdir()):
        if not path.name.startswith(".") and path.is_file():
            yield path.name, path


class Authenticator:
    """The configured tokens; `identify` answers which one a presented value is, if any."""

    def __init__(self, tokens: dict[str, tuple[frozenset[Scope], str]]) -> None:
        self.tokens = tuple(ApiToken(token_id, scopes, _digest(value)) for token_id, (scopes, value) in tokens.items())

    @classmethod
    def from_folder(cls, folder: Path) -> Authenticator:
        """One token per file of `folder`; a name that is not `<scope>[+<scope>][.<client>]` is an error naming it."""
        tokens: dict[str, tuple[frozenset[Scope], str]] = {}
        for name, path in _token_files(folder):
            try:
                scopes = scopes_of(name)
            except ValueError as error:
                raise ValueError(f"API token file {path}: the name must be <scope>[.<client>] with scope one of"
                                 f" {', '.join(Scope)}") from error
            value = path.read_text().strip()
            if len(value) < 16:
                raise ValueError(f"API token file {path}: a token must be at least 16 characters")
            tokens[name] = (scopes, value)
        if not tokens:
            raise ValueError(f"no API token files in {folder}")
        return cls(tokens)

    @classmethod
    def local(cls, token_file: Path) -> Authenticator:
        """The all-scope token of local mode, from `token_file` (none: every request is refused)."""
        if not token_file.is_file():
            log.warning("no API tokens configured and no local token file: every API request is refused",
                        extra={"token_file": str(token_file)})
            return cls({})
        return cls({LOCAL_TOKEN_ID: (frozenset(Scope), token_file.read_text().strip())})

    def identify(self, presented: str) -> ApiToken | None:
        digest, found = _digest(presented), None
        for token in self.tokens:  # no early exit: the time taken does not say which token matched
            if hmac.compare_digest(token.digest, digest):
                found = token
        return found


def ensure_local_token(token_file: Path) -> bool:
    """Create `token_file` (mode 0600) holding a random all-scope token unless it exists; True if created."""
    if token_file.exists():
        return False
    token_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return True


class ClientRateLimiter:
    """A fixed one-minute window per token id: shared in Redis when it answers, per process otherwise."""

    WINDOW_S = 60

    def __init__(self, hot_state: HotState, per_minute: int) -> None:
        self._hot_state, self.per_minute = hot_state, per_minute
        self._lock = threading.Lock()
        self._local: dict[str, tuple[int, int]] = {}

    def retry_after(self, client_id: str) -> int | None:
        """Count one request of `client_id`; None if allowed, else the seconds until its window ends."""
        if not self.per_minute:
            return None
        now = time.time()
        window = int(now // self.WINDOW_S)
        hits = self._hot_state.hits(f"api:{client_id}", self.WINDOW_S) if self._hot_state.configured else None
        if hits is None:  # no Redis, or Redis down: this process's own count (a limit per replica)
            with self._lock:
                seen_window, seen = self._local.get(client_id, (window, 0))
                hits = (seen if seen_window == window else 0) + 1
                self._local[client_id] = (window, hits)
        if hits <= self.per_minute:
            return None
        return max(1, math.ceil((window + 1) * self.WINDOW_S - now))


class ApiGuard:
    """Authentication, authorisation and rate limiting of one app (`app.state.guard`)."""

    def __init__(self, authenticator: Authenticator, limiter: ClientRateLimiter) -> None:
        self.authenticator, self.limiter = authenticator, limiter

    def authorize(self, credentials: HTTPAuthorizationCredentials | None, scope: Scope) -> ApiToken:
        challenge = {"WWW-Authenticate": f'Bearer scope="{scope.value}"'}
        if credentials is None:
            raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)", headers=challenge)
        token = self.authenticator.identify(credentials.credentials)
        if token is None:
            raise HTTPException(401, "unknown bearer token", headers=challenge | {
                "WWW-Authenticate": f'Bearer error="invalid_token", scope="{scope.value}"'})
        if scope not in token.scopes:
            raise HTTPException(403, f"token {token.id!r} lacks the {scope.value!r} scope this route requires",
                                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope.value}"'})
        retry_after = self.limiter.retry_after(token.id)
        if retry_after is not None:
            raise HTTPException(429, f"token {token.id!r} exceeded {self.limiter.per_minute} requests per minute",
                                headers={"Retry-After": str(retry_after)})
        return token


_bearer = HTTPBearer(auto_error=False, description="an API token (runtime.contract.auth); one scope per route")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class RequireScope:
    """`Depends(RequireScope(scope))` on a route or router: authenticates, authorises, counts the request;
    a handler that declares it as a parameter gets the caller's `ApiToken` (the audit log's actor)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __call__(self, request: Request, credentials: BearerDep) -> ApiToken:
        # Sync on purpose: the rate limit may ask Redis, which must not block the event loop.
        guard: ApiGuard = request.app.state.guard
        token = guard.authorize(credentials, self.scope)
        request.state.principal = token
        return token


@dataclass(frozen=True)
class ApiRoute:
    """An endpoint as the app serves it (prefix and include-time dependencies applied)."""

    methods: frozenset[str]
    path: str
    dependant: Dependant

    @property
    def scopes(self) -> set[Scope]:
        """Every scope its dependencies require (exactly one for a guarded route)."""
        found: set[Scope] = set()

        def walk(dependant: Dependant) -> None:
            if isinstance(dependant.call, RequireScope):
                found.add(dependant.call.scope)
            for child in dependant.dependencies:
                walk(child)

        walk(self.dependant)
        return found


def api_routes(app: FastAPI) -> list[ApiRoute]:
    """Every FastAPI endpoint of `app`, included routers flattened (FastAPI 0.165 keeps them nested:
    `fastapi/routing.py`, `iter_route_contexts`)."""
    routes = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if isinstance(context.original_route, APIRoute) and isinstance(dependant, Dependant):
            routes.append(ApiRoute(frozenset(context.methods or ()), str(context.path), dependant))
    return routes


def check_every_route_is_guarded(app: FastAPI) -> None:
    """Raise naming each route that neither requires exactly one scope nor is open by `OPEN_PATHS`."""
    unguarded = [f"{','.join(sorted(route.methods))} {route.path}" for route in api_routes(app)
                 if route.path not in OPEN_PATHS and len(route.scopes) != 1]
    if unguarded:
        raise RuntimeError(f"routes without exactly one scope (add `dependencies=[Depends(RequireScope(Scope.X))]`):"
                           f" {unguarded}")


def guard_for(hot_state: HotState, *, tokens_dir: Path | None, local_token_file: Path, per_minute: int) -> ApiGuard:
    """The guard of a service: the mounted tokens, else the local token file."""
    authenticator = Authenticator.from_folder(tokens_dir) if tokens_dir else Authenticator.local(local_token_file)
    return ApiGuard(authenticator, ClientRateLimiter(hot_state, per_minute))


def announce_local_token(settings: ServiceSettings) -> None:
    """Local mode (no ISF_API_TOKENS_DIR): make sure the local token file exists and say where it is."""
    if settings.api_tokens_dir is not None:
        return
    path = settings.local_token_file
    created = ensure_local_token(path)
    print(f"isf serve api: no API tokens configured ({environment.API_TOKENS_DIR} unset);"
          f" {'generated' if created else 'using'} the local all-scope token in {path.resolve()}"
          f" (send it as 'Authorization: Bearer <token>')", flush=True)
