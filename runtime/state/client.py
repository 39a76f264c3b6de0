"""Connecting to Redis: a single node or a Redis Cluster (the production data component runs a cluster)."""

from __future__ import annotations

from redis import Redis
from redis.cluster import RedisCluster

RedisClient = Redis | RedisCluster

# Short timeouts: hot state is an optimisation, so a slow Redis must not stall a request for long.
_TIMEOUT_S = 0.5


def connect_redis(url: str, *, cluster: bool = False) -> RedisClient:
    """A client for `url`; a cluster-aware one when `cluster` is set (discovers shards, follows MOVED)."""
    options = {"socket_timeout": _TIMEOUT_S, "socket_connect_timeout": _TIMEOUT_S, "decode_responses": True}
    if cluster:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options, health_check_interval=30)
