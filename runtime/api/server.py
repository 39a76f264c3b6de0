"""Running a service under uvicorn with JSON logs and a graceful SIGTERM (finish requests, then exit).

Start-up order matters: uvicorn on its own runs the app's lifespan (our loops start there) before it
binds the port (`uvicorn/server.py`, `Server.startup`: `lifespan.startup()` then `create_server`), so a
taken port used to surface after the loops had started, and the exit then waited on them. Here the port
is bound first, then the service is prepared (migrations, loops built), and only then does uvicorn
serve on the bound socket; each failure is a `StartupError`: one line, exit 2, no loop started.
"""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from runtime.api.json_logs import configure_json_logs
from runtime.api.startup import StartupError

# Kubernetes sends SIGTERM, then SIGKILL after terminationGracePeriodSeconds (30 s by default).
GRACEFUL_SHUTDOWN_S = 20


def bind_port(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, as uvicorn's `Config.bind_socket` makes one; `StartupError` if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


def run_service(app: FastAPI, name: str, *, host: str, port: int, log_level: str = "INFO") -> None:
    """Serve `app` until SIGTERM/SIGINT; in-flight requests complete before the process exits."""
    configure_json_logs(name, log_level)
    sock = bind_port(host, port)
    try:
        startup = getattr(app.state, "startup", None)
        if startup is not None:
            startup.prepare()  # StartupError before any loop runs; the lifespan then only starts them
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # keep the JSON handlers configured above
            access_log=False,  # the service middleware writes structured access lines
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            proxy_headers=True,
        )
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise StartupError("the server did not start (see the log line above)")
