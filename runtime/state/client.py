"""Connecting to Redis: a single node or a Redis Cluster (the production data component runs a cluster).

TLS (`rediss://`) verifies the server's chain: against the system's roots, or, when the data layer hands one
over (the file at `$ISF_REDIS_CA_CERT_FILE`, Memorystore's per-cluster CA), against that CA only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from redis import Redis
from redis.cluster import RedisCluster

from runtime.contract import environment

RedisClient = Redis | RedisCluster

# Short timeouts: hot state is an optimisation, so a slow Redis must not stall a request for long.
_TIMEOUT_S = 0.5


def tls_options(url: str, ca_cert: str | None) -> dict[str, Any]:
    """redis-py TLS keyword arguments for `url`: verification with `ca_cert` (PEM) when one is given.

    A private CA (Memorystore's is unique to one cluster) vouches for exactly that cluster's nodes, which
    clients reach at the IPs CLUSTER SLOTS announces; the certificates need not name those IPs, so with a
    private CA the chain is checked and the hostname is not. Without one, redis-py's defaults apply
    (system roots, hostname checked).
    """
    if urlsplit(url).scheme != "rediss" or not (ca_cert or "").strip():
        return {}
    return {"ssl_cert_reqs": "required", "ssl_ca_data": ca_cert, "ssl_check_hostname": False}


def ca_cert_from_environment() -> str | None:
    """The PEM at `$ISF_REDIS_CA_CERT_FILE` (the Redis Secret's `ca.crt`, mounted by the control plane)."""
    path = os.environ.get(environment.REDIS_CA_CERT_FILE)
    if not path or not Path(path).is_file():
        return None
    return Path(path).read_text()


def connect_redis(url: str, *, cluster: bool = False, ca_cert: str | None = None) -> RedisClient:
    """A client for `url`; a cluster-aware one when `cluster` is set (discovers shards, follows MOVED).

    `ca_cert` (PEM) defaults to the file the control plane mounts (`ca_cert_from_environment`).
    """
    ca = ca_cert_from_environment() if ca_cert is None else ca_cert
    options = {"socket_timeout": _TIMEOUT_S, "socket_connect_timeout": _TIMEOUT_S, "decode_responses": True}
    options |= tls_options(url, ca)
    if cluster:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options, health_check_interval=30)
