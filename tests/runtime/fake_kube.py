"""A small in-memory Kubernetes API server on 127.0.0.1 for actuation tests.

The real `kubernetes` client talks to it over HTTP, so tests see the exact requests (method, path,
content type, body) the services would send to a cluster. It implements what actuation and leader
election use: get / list / create / replace (with resourceVersion conflicts) / JSON merge patch.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs

from kubernetes import client

from runtime.cluster_sim.kube_api import (
    in_collection,
    list_kind,
    matches,
    merge_patch,
    metadata_only,
    status,
    wants_metadata_only,
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    content_type: str
    body: Any
    query: str = ""
    accept: str = ""


class FakeKube:
    """Objects keyed by their API path, e.g. /apis/serving.knative.dev/v1/namespaces/fn/routes/hello."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[Request] = []
        self.failing: set[str] = set()  # paths whose writes answer 500, to test how failures are handled
        self._version = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def _reply(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path, _, query = self.path.partition("?")
                request = Request(self.command, path, self.headers.get("Content-Type", ""), body, query,
                                  self.headers.get("Accept", ""))
                code, reply = fake.handle(request)
                self._reply(code, reply)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def api_client(self) -> client.ApiClient:
        configuration = client.Configuration(host=self.url)
        return client.ApiClient(configuration)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def put(self, path: str, obj: dict[str, Any]) -> None:
        """Seed an object at its API path."""
        with self._lock:
            self._store(path, copy.deepcopy(obj))

    def get(self, path: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.objects[path])

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in {"POST", "PUT", "PATCH", "DELETE"}]

    def _store(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        self._version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._version)
        self.objects[path] = obj
        return obj

    def handle(self, request: Request) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(request)
            path, body = request.path.rstrip("/"), request.body
            if request.method == "GET":
                if path in self.objects:
                    return 200, self.objects[path]
                items = [o for p, o in sorted(self.objects.items()) if in_collection(p, path)]
                items = [o for o in items if matches(o, parse_qs(request.query).get("labelSelector", [""])[0])]
                if items or path.endswith(("/nodes", "/leases", "/revisions")):
                    metadata = wants_metadata_only(request.accept)
                    kind, api_version = list_kind(path, metadata)
                    listed = [metadata_only(o) for o in items] if metadata else items
                    return 200, {"kind": kind, "apiVersion": api_version, "metadata": {}, "items": listed}
                return 404, status(404, "NotFound", f"{path} not found")
            if request.method == "POST":
                name = body["metadata"]["name"]
                target = f"{path}/{name}"
                if target in self.objects:
                    return 409, status(409, "AlreadyExists", f"{target} already exists")
                return 201, self._store(target, body)
            if path not in self.objects:
                return 404, status(404, "NotFound", f"{path} not found")
            if path in self.failing:
                return 500, status(500, "InternalError", f"{path}: the test made this write fail")
            current = self.objects[path]
            if request.method == "PUT":
                sent = body.get("metadata", {}).get("resourceVersion")
                if sent != current["metadata"]["resourceVersion"]:
                    return 409, status(409, "Conflict", "the object has been modified")
                return 200, self._store(path, body)
            if request.method == "PATCH":
                if request.content_type != "application/merge-patch+json":
                    return 415, status(415, "UnsupportedMediaType", request.content_type)
                return 200, self._store(path, merge_patch(current, body))
            del self.objects[path]
            return 200, status(200, "Success", "deleted")
