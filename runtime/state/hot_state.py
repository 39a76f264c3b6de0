"""Hot state in Redis (latest forecasts, rate-limit counters) that degrades instead of failing.

Every operation returns a fallback (None / "allowed") when Redis is unreachable, flips the
`isf_redis_up` gauge to 0 and stops calling Redis for `retry_after_s`, so callers read PostgreSQL
instead and a dead Redis costs one timeout per interval, not one per request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry
from redis.exceptions import RedisClusterException, RedisError

from runtime.contract import metrics
from runtime.state.client import RedisClient, connect_redis

log = logging.getLogger(__name__)
T = TypeVar("T")


class HotState:
    """Latest forecasts plus fixed-window rate limits, under one key prefix."""

    def __init__(
        self,
        client: RedisClient | None,
        registry: CollectorRegistry,
        *,
        connect: Callable[[], RedisClient] | None = None,
        prefix: str = "isf:",
        retry_after_s: float = 5.0,
    ) -> None:
        """`client`, or `connect` to create one on first use (a cluster client contacts its nodes when built)."""
        self._client = client
        self._connect = connect
        self._prefix = prefix
        self._retry_after_s = retry_after_s
        self._down_until = 0.0
        self._up = metrics.REDIS_UP.gauge(registry)
        self._errors = metrics.REDIS_ERRORS.counter(registry)
        self._up.set(1 if self.configured else 0)

    @classmethod
    def from_url(
        cls, url: str | None, registry: CollectorRegistry, *, cluster: bool = False, prefix: str = "isf:"
    ) -> HotState:
        """Connect lazily to `url` (so a service starts even while Redis is down); None disables hot state."""
        if url is None:
            return cls(None, registry, prefix=prefix)
        return cls(None, registry, connect=lambda: connect_redis(url, cluster=cluster), prefix=prefix)

    @property
    def configured(self) -> bool:
        return self._client is not None or self._connect is not None

    @property
    def available(self) -> bool:
        """Whether calls currently go to Redis (configured and not in a back-off after an error)."""
        return self.configured and time.monotonic() >= self._down_until

    def check(self) -> bool:
        """Ping Redis now (ignoring any back-off); updates the gauge. For /readyz."""
        if not self.configured:
            return False
        self._down_until = 0.0
        return bool(self._call("ping", lambda client: client.ping(), False))

    def _call(self, operation: str, action: Callable[[RedisClient], T], fallback: T) -> T:
        if not self.available:
            return fallback
        try:
            if self._client is None:
                assert self._connect is not None
                self._client = self._connect()
            result = action(self._client)
        except (RedisError, RedisClusterException, OSError) as error:
            self._errors.labels(operation).inc()
            self._up.set(0)
            self._down_until = time.monotonic() + self._retry_after_s
            log.warning("redis unavailable, degrading to the database", extra={"operation": operation, "error": str(error)})
            return fallback
        self._up.set(1)
        return result

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    def put_forecasts(self, forecasts: Mapping[str, Mapping[str, Any]], ttl_s: int = 3600) -> bool:
        """Cache each function's latest forecast document; False if Redis was unavailable."""
        return self._put_many("forecast", forecasts, ttl_s)

    def get_forecast(self, function_id: str) -> dict[str, Any] | None:
        """A cached forecast, or None (not cached, or Redis unavailable)."""
        return self._get("forecast", function_id)

    def _put_many(self, kind: str, documents: Mapping[str, Mapping[str, Any]], ttl_s: int) -> bool:
        def write(client: RedisClient) -> bool:
            pipeline = client.pipeline(transaction=False)  # keys span cluster slots
            for name, document in documents.items():
                pipeline.set(self._key(kind, name), json.dumps(document, default=str), ex=ttl_s)
            pipeline.execute()
            return True

        return self._call(f"put_{kind}", write, False)

    def _get(self, kind: str, name: str) -> dict[str, Any] | None:
        raw = self._call(f"get_{kind}", lambda client: client.get(self._key(kind, name)), None)
        return None if raw is None else json.loads(str(raw))

    def allow(self, subject: str, limit: int, window_s: int = 60) -> bool:
        """Count one event for `subject` in the current window; False once `limit` is exceeded.

        Fails open: with Redis down, nothing is rate limited (ingest matters more than the limit).
        """
        hits = self.hits(subject, window_s)
        return hits is None or hits <= limit

    def hits(self, subject: str, window_s: int = 60) -> int | None:
        """Count one event for `subject` in the current fixed window; its count so far, None if Redis is unavailable."""
        window = int(time.time() // window_s)
        key = self._key("rate", f"{subject}:{window}")

        def count(client: RedisClient) -> int:
            pipeline = client.pipeline(transaction=False)
            pipeline.incr(key)
            pipeline.expire(key, window_s * 2)
            hits, _ = pipeline.execute()
            return int(hits)

        return self._call("rate_limit", count, None)

    def clear(self) -> None:
        """Delete every key under this prefix (tests and operators resetting a namespace)."""

        def delete(client: RedisClient) -> None:
            keys = list(client.scan_iter(match=f"{self._prefix}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])

        self._call("clear", delete, None)
