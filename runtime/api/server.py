"""Running a service under uvicorn with JSON logs and a graceful SIGTERM (finish requests, then exit)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from runtime.api.json_logs import configure_json_logs

# Kubernetes sends SIGTERM, then SIGKILL after terminationGracePeriodSeconds (30 s by default).
GRACEFUL_SHUTDOWN_S = 20


def run_service(app: FastAPI, name: str, *, host: str, port: int, log_level: str = "INFO") -> None:
    """Serve `app` until SIGTERM/SIGINT; in-flight requests complete before the process exits."""
    configure_json_logs(name, log_level)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,  # keep the JSON handlers configured above
        access_log=False,  # the service middleware writes structured access lines
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        proxy_headers=True,
    )
