"""What `isf serve warming|placement` act on when no cluster is configured: an embedded simulated cluster.

The process starts a `SimulatedCluster` (the default tiered nodes, a Knative Service per function in
the store, up to `MAX_SEEDED`) behind the Kubernetes-API facade on a free loopback port, and talks to
it with the ordinary `kubernetes` client, so leader election and every patch take the production code
path. Each process gets its own cluster; `isf loop` shares one across its services instead.
"""

from __future__ import annotations

import sys
from typing import Any

from runtime.cluster_sim.api_server import ClusterApiServer
from runtime.cluster_sim.knative import FunctionSpec, SimulatedCluster
from runtime.contract import Tier

MAX_SEEDED = 10_000
_SERVERS: list[ClusterApiServer] = []  # kept alive for the life of the process


def _stored_functions(database_url: str) -> list[FunctionSpec]:
    from sqlalchemy.exc import SQLAlchemyError

    from runtime.store.engine import open_engine
    from runtime.store.functions import list_functions

    try:
        engine = open_engine(database_url)
        try:
            _, functions = list_functions(engine, limit=MAX_SEEDED)
        finally:
            engine.dispose()
    except SQLAlchemyError:
        return []  # not migrated yet: the store has no functions to deploy
    return [FunctionSpec(f.id, f.memory_mb or 128.0, f.tier or Tier.REGIONAL) for f in functions]


def simulated_cluster_client(role: str, database_url: str, reason: str) -> Any:
    """A kubernetes `ApiClient` for a new embedded simulated cluster; prints the one line that says so."""
    cluster = SimulatedCluster()
    for spec in _stored_functions(database_url):
        cluster.deploy(spec)
    server = ClusterApiServer(cluster).start()
    _SERVERS.append(server)
    print(f"isf serve {role}: no Kubernetes cluster configured ({reason}); using an embedded simulated cluster"
          f" at {server.url} ({len(cluster.objects)} objects)", file=sys.stderr, flush=True)
    return server.api_client()
