"""The API tokens: one random token per scope, in the Secret the runtime reads as files.

Names come from `runtime.contract.auth`: the Secret `API_TOKENS_SECRET` holds one key per scope
(`TOKEN_KEYS`, so a file's name is its token id, `runtime.api.auth.Authenticator.from_folder`), mounted
read-only (0440) at `API_TOKENS_MOUNT` in the services whose apps declare `RequireScope` routes
(`TOKEN_ROLES`), with `$ISF_API_TOKENS_DIR` pointing there. The ingest token alone is copied into
`INGEST_TOKEN_SECRET` (key `INGEST_TOKEN_KEY`) for ingest clients. No Istio PeerAuthentication or
AuthorizationPolicy: the platform namespace is not sidecar-injected (docs/security.md).
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.workloads.manifests import Manifest
from components.workloads.registration import register_manifest
from components.workloads.spec import Volume, VolumeSource
from runtime.contract import environment
from runtime.contract.auth import (
    API_TOKENS_MOUNT,
    API_TOKENS_SECRET,
    INGEST_TOKEN_KEY,
    INGEST_TOKEN_SECRET,
    TOKEN_KEYS,
    Scope,
)
from runtime.contract.kubernetes import MANAGED_BY, MANAGED_BY_LABEL
from runtime.contract.roles import ServiceRole

TOKEN_LENGTH = 48
"""Alphanumeric (no special characters, so a token pastes into a header or a shell as is): ~285 bits."""
TOKENS_VOLUME = "api-tokens"
TOKEN_ROLES: frozenset[ServiceRole] = frozenset({ServiceRole.API, ServiceRole.PREDICTOR})
"""The services with `RequireScope` routes: the api (`/v1` ingest, reads, admin) and the predictor (forecasts)."""


def tokens_env() -> dict[str, str]:
    """Where the runtime finds the mounted token files."""
    return {environment.API_TOKENS_DIR: API_TOKENS_MOUNT}


def tokens_volume() -> Volume:
    """The tokens Secret, every key a file (read-only, mode 0440 like every Secret file)."""
    return Volume(name=TOKENS_VOLUME, mount_path=API_TOKENS_MOUNT, source=VolumeSource.SECRET,
                  source_name=API_TOKENS_SECRET, read_only=True)


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/part-of": MANAGED_BY, MANAGED_BY_LABEL: MANAGED_BY}


def tokens_secret(name: str, namespace: str, data: dict[str, pulumi.Input[str]]) -> Manifest:
    """An Opaque Secret in the platform namespace."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels()},
        "stringData": data,
    }


def register_api_tokens(name: str, namespace: str, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """One RandomPassword per scope, the tokens Secret and the ingest token's copy; the Secrets, to depend on."""
    parent = opts.parent
    tokens: dict[str, pulumi.Input[str]] = {
        key: pulumi.Output.secret(random.RandomPassword(
            f"{name}-api-token-{key}", length=TOKEN_LENGTH, special=False,
            opts=pulumi.ResourceOptions(parent=parent),
        ).result)
        for key in TOKEN_KEYS
    }
    return [
        register_manifest(f"{name}-api-tokens", tokens_secret(API_TOKENS_SECRET, namespace, tokens), opts),
        register_manifest(f"{name}-ingest-token",
                          tokens_secret(INGEST_TOKEN_SECRET, namespace, {INGEST_TOKEN_KEY: tokens[Scope.INGEST.value]}),
                          opts),
    ]
