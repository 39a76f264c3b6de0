"""The simulated cluster behind an HTTP facade of the Kubernetes API on 127.0.0.1, plus the clock.

Only what the controllers call is served, with the real API's paths and shapes, so the `kubernetes`
client (through a generated kubeconfig) takes exactly its production code path:

- `GET /api/v1/nodes` (`CoreV1Api.list_node`, `runtime.services.kube.list_nodes`);
- Knative `services`, `routes`, `revisions`: list (cluster-wide or per namespace, `labelSelector`, whole
  objects or `PartialObjectMetadataList`: `runtime.cluster_sim.kube_api`),
  get, and JSON merge patch (`CustomObjectsApi`, `runtime.actuation.patches.KnativeActuator`);
- `coordination.k8s.io/v1` Leases: get, create, replace with resourceVersion conflicts (the
  client's `LeaseLock`, `runtime.actuation.leader`).

Outside the Kubernetes paths: `GET /isf/v1/clock`, `POST /isf/v1/clock/wait` (the simulated clock,
`runtime.cluster_sim.clock`), `GET /isf/v1/metrics` (the cluster's series) and
`GET /prometheus/api/v1/query` (what Prometheus holds of the cluster's Knative series,
`runtime.cluster_sim.prometheus`: the collector's base URL is `<server>/prometheus`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs

from kubernetes import client

from runtime.cluster_sim.clock import BarrierClock
from runtime.cluster_sim.knative import SimulatedCluster
from runtime.cluster_sim.kube_api import (
    in_collection,
    list_kind,
    matches,
    metadata_only,
    status,
    wants_metadata_only,
)
from runtime.cluster_sim.prometheus import SimulatedPrometheus

CLOCK_PATH = "/isf/v1/clock"
METRICS_PATH = "/isf/v1/metrics"
PROMETHEUS_PATH = "/prometheus"


_LISTABLE = ("/nodes", "/leases", "/services", "/routes", "/revisions")


class ClusterApiServer:
    """Serves `cluster` (and `clock`, when given) on 127.0.0.1:`port` (0: any free port) until closed."""

    def __init__(
        self, cluster: SimulatedCluster, clock: BarrierClock | None = None, *, port: int = 0,
        metrics: Callable[[], bytes] | None = None, prometheus: SimulatedPrometheus | None = None,
    ) -> None:
        self.cluster, self.clock, self._metrics, self.prometheus = cluster, clock, metrics, prometheus
        self._encoded: dict[tuple[str, bool], tuple[str, bytes]] = {}  # (path, metadata only) -> (resourceVersion, JSON)
        self._collections: dict[str, tuple[int, list[str]]] = {}  # list path -> (objects stored, member paths)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def _reply(self, code: int, body: Any, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    self._reply(400, status(400, "BadRequest", "body is not JSON"))
                    return
                path, _, query = self.path.partition("?")
                if path == METRICS_PATH and server._metrics is not None:
                    self._reply(200, server._metrics(), "text/plain; version=0.0.4")
                    return
                if path == f"{PROMETHEUS_PATH}/api/v1/query" and server.prometheus is not None:
                    self._reply(*server.prometheus.http_answer(parse_qs(query)))
                    return
                code, reply = server.handle(self.command, path.rstrip("/"), query,
                                            self.headers.get("Content-Type", ""), body,
                                            accept=self.headers.get("Accept", ""))
                self._reply(code, reply)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="cluster-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def api_client(self) -> client.ApiClient:
        return client.ApiClient(client.Configuration(host=self.url))

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig pointing at this server (plain HTTP on loopback, no credentials)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "isf-simulated",
            "clusters": [{"name": "isf-simulated", "cluster": {"server": self.url}}],
            "users": [{"name": "isf-simulated", "user": {}}],
            "contexts": [{"name": "isf-simulated", "context": {"cluster": "isf-simulated", "user": "isf-simulated"}}],
        }), encoding="utf-8")
        return path

    def _clock(self, method: str, body: Any) -> tuple[int, Any]:
        assert self.clock is not None
        if method == "GET":
            return 200, {"now": self.clock.now.isoformat()}
        if method != "POST" or not isinstance(body, dict):
            return 405, status(405, "MethodNotAllowed", "POST {loop, until, timeout_s}")
        until = datetime.fromisoformat(str(body["until"]))
        now, due = self.clock.wait(str(body["loop"]), until, min(float(body.get("timeout_s", 2.0)), 30.0))
        return 200, {"now": now.isoformat(), "due": due}

    def _json(self, path: str, obj: dict[str, Any], metadata: bool = False) -> bytes:
        """`obj` (or its metadata) as JSON, encoded once per resourceVersion: a pass lists hundreds of unchanged objects."""
        version = str(obj.get("metadata", {}).get("resourceVersion", ""))
        cached = self._encoded.get((path, metadata))
        if cached is None or cached[0] != version:
            encoded = json.dumps(metadata_only(obj) if metadata else obj).encode()
            cached = self._encoded[(path, metadata)] = (version, encoded)
        return cached[1]

    def _members(self, collection: str, objects: dict[str, dict[str, Any]]) -> list[str]:
        """The sorted paths of `collection`'s objects, recomputed only when an object was added (none is deleted)."""
        cached = self._collections.get(collection)
        if cached is None or cached[0] != len(objects):
            cached = self._collections[collection] = (
                len(objects), sorted(p for p in objects if in_collection(p, collection)))
        return cached[1]

    def handle(
        self, method: str, path: str, query: str, content_type: str, body: Any, *, accept: str = ""
    ) -> tuple[int, Any]:
        if path.startswith(CLOCK_PATH) and self.clock is not None:
            return self._clock(method, body)
        cluster = self.cluster
        with cluster.lock:
            objects = cluster.objects
            if method == "GET":
                if path in objects:
                    return 200, self._json(path, objects[path])
                if not path.endswith(_LISTABLE):
                    return 404, status(404, "NotFound", f"{path} not found")
                selector = parse_qs(query).get("labelSelector", [""])[0]
                metadata = wants_metadata_only(accept)
                items = [self._json(p, objects[p], metadata) for p in self._members(path, objects)
                         if matches(objects[p], selector)]
                kind, api_version = list_kind(path, metadata)
                return 200, b'{"kind": "%s", "apiVersion": "%s", "metadata": {}, "items": [%s]}' % (
                    kind.encode(), api_version.encode(), b", ".join(items))
            if method == "POST":
                if not isinstance(body, dict) or "name" not in body.get("metadata", {}):
                    return 400, status(400, "BadRequest", "metadata.name is required")
                target = f"{path}/{body['metadata']['name']}"
                if target in objects:
                    return 409, status(409, "AlreadyExists", f"{target} already exists")
                return 201, cluster.store(target, body)
            if path not in objects:
                return 404, status(404, "NotFound", f"{path} not found")
            if method == "PUT":
                sent = (body or {}).get("metadata", {}).get("resourceVersion")
                if sent != objects[path]["metadata"]["resourceVersion"]:
                    return 409, status(409, "Conflict", "the object has been modified")
                return 200, cluster.store(path, body)
            if method == "PATCH":
                if content_type != "application/merge-patch+json":
                    return 415, status(415, "UnsupportedMediaType", content_type)
                return 200, cluster.patch(path, body or {})
            return 405, status(405, "MethodNotAllowed", f"{method} is not served by the simulated cluster")
