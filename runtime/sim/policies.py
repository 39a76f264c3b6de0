"""Policy names the simulator and CLI accept, mapped to factories.

`fixed-N` works for any N >= 0. The predictive policies live in `runtime/warming` and are imported
only when asked for, so the baselines run even while those modules change.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from runtime.settings import RuntimeSettings
from runtime.warming.baselines import FixedKeepAlive, HybridHistogram, Oracle
from runtime.warming.policy import PoolPolicy, WarmingPolicy

Policy = WarmingPolicy | PoolPolicy
PolicyFactory = Callable[[RuntimeSettings], Policy]

_FIXED = re.compile(r"^fixed-(\d+)$")


def _predictive(settings: RuntimeSettings) -> Policy:
    from runtime.warming.predictive import make_predictive_policy

    return make_predictive_policy(settings)


def _predictive_deployed(settings: RuntimeSettings) -> Policy:
    from runtime.warming.deployed import IngestLagged
    from runtime.warming.predictive import make_predictive_policy

    return IngestLagged(make_predictive_policy(settings))


def _predictive_pool(settings: RuntimeSettings) -> Policy:
    from runtime.warming.pool import make_predictive_pool

    return make_predictive_pool(settings)


def _forecast_pool(settings: RuntimeSettings) -> Policy:
    from runtime.warming.pool import make_forecast_pool

    return make_forecast_pool(settings)


FACTORIES: dict[str, PolicyFactory] = {
    "fixed-2": lambda _: FixedKeepAlive(2),
    "fixed-10": lambda _: FixedKeepAlive(10),
    "fixed-60": lambda _: FixedKeepAlive(60),
    "fixed-120": lambda _: FixedKeepAlive(120),
    "hybrid-histogram": lambda _: HybridHistogram(),
    "oracle": lambda _: Oracle(),
    "predictive": _predictive,
    "predictive-deployed": _predictive_deployed,
    "forecast-pool": _forecast_pool,
    "predictive-pool": _predictive_pool,
}
SHIPPED = tuple(FACTORIES)
"""Every policy `isf simulate` runs by default."""


def make_policy(name: str, settings: RuntimeSettings | None = None) -> Policy:
    """Build the policy called `name` (a shipped name or any `fixed-N`)."""
    settings = settings or RuntimeSettings()
    if name in FACTORIES:
        return FACTORIES[name](settings)
    fixed = _FIXED.match(name)
    if fixed:
        return FixedKeepAlive(int(fixed.group(1)))
    raise ValueError(f"unknown policy {name!r}; choose from {list(SHIPPED)} or fixed-N (N minutes)")
