"""Hot state in Redis: latest forecasts and decisions, rate limits; degrades to the database when down."""

from runtime.state.client import RedisClient, connect_redis
from runtime.state.hot_state import HotState

__all__ = ["HotState", "RedisClient", "connect_redis"]
