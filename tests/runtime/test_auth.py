"""The API's authentication and authorisation: every route needs a token of its one scope, or is open.

The routes are enumerated from the apps themselves, so a new route without a scope fails here (and
`create_service_app` refuses to build it at all).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from runtime.api.app import create_api_app
from runtime.api.auth import OPEN_PATHS, Authenticator, api_routes, ensure_local_token
from runtime.api.config import ServiceSettings
from runtime.api.service import create_service_app
from runtime.contract.auth import LOCAL_TOKEN_ID, Scope
from runtime.services.apps import create_predictor_app
from runtime.store.functions import FunctionInfo, get_function, upsert_functions
from runtime.store.schema import AuditEntry, AuditOutcome

TOKENS = {scope: f"{scope.value}-token-{uuid.uuid4().hex}" for scope in Scope}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens_dir(tmp_path: Path) -> Path:
    """The tokens Secret as Kubernetes mounts it: one file per key, plus its `..data` bookkeeping."""
    folder = tmp_path / "tokens"
    (folder / "..data").mkdir(parents=True)
    for scope, token in TOKENS.items():
        (folder / scope.value).write_text(token + "\n")
    return folder


def settings_for(database_url: str, tokens_dir: Path, **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "database_url": database_url, "redis_url": os.environ.get("REDIS_URL"),
        "redis_prefix": f"isf-test-{uuid.uuid4().hex[:10]}:", "migrate_on_start": False,
        "api_tokens_dir": tokens_dir,
    }
    return ServiceSettings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture(params=["api", "predictor"])
def app(request: pytest.FixtureRequest, engine: Engine, database_url: str, tokens_dir: Path) -> Iterator[FastAPI]:
    factory = create_api_app if request.param == "api" else create_predictor_app
    built = factory(settings_for(database_url, tokens_dir, api_requests_per_minute=0))
    yield built
    built.state.context.hot_state.clear()


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "f", path)


def test_every_route_is_open_by_name_or_requires_exactly_one_scope(app: FastAPI) -> None:
    routes = api_routes(app)
    assert any(route.path == "/v1/functions/{function_id}/forecast" for route in routes)
    for route in routes:
        assert route.path in OPEN_PATHS or len(route.scopes) == 1, route


def test_every_guarded_route_refuses_a_missing_a_wrong_and_a_wrong_scope_token_and_admits_its_own(
    app: FastAPI,
) -> None:
    guarded = [route for route in api_routes(app) if route.path not in OPEN_PATHS]
    assert guarded
    with TestClient(app) as client:
        for route in guarded:
            (scope,) = route.scopes
            for method in route.methods:
                url = concrete(route.path)
                missing = client.request(method, url)
                assert missing.status_code == 401, (method, url)
                assert missing.headers["WWW-Authenticate"].startswith("Bearer")
                assert client.request(method, url, headers=bearer("not-a-token")).status_code == 401, (method, url)
                assert client.request(method, url, headers={"Authorization": f"Basic {TOKENS[scope]}"}).status_code == 401
                for other in set(Scope) - {scope}:
                    wrong = client.request(method, url, headers=bearer(TOKENS[other]))
                    assert wrong.status_code == 403, (method, url, other)
                    assert scope.value in wrong.json()["detail"]
                right = client.request(method, url, headers=bearer(TOKENS[scope]), json={})
                assert right.status_code not in (401, 403), (method, url, right.text)


def test_probes_and_metrics_are_open(app: FastAPI) -> None:
    with TestClient(app) as client:
        for path in ("/healthz", "/metrics", "/openapi.json"):
            assert client.get(path).status_code == 200, path
        # Open, but its answer is the service's state: a predictor still training on what other tests stored
        # in the shared database is not ready yet (503), which is not a refusal.
        ready = client.get("/readyz")
        assert ready.status_code in (200, 503) and "WWW-Authenticate" not in ready.headers, ready.text


def test_a_route_added_without_a_scope_is_refused_when_the_app_is_built(database_url: str, tokens_dir: Path) -> None:
    router = APIRouter(prefix="/v1")
    router.add_api_route("/secrets", lambda: {"all": "of them"}, methods=["GET"])
    with pytest.raises(RuntimeError, match="GET /v1/secrets"):
        create_service_app("leaky", settings_for(database_url, tokens_dir), routers=[router])


@pytest.mark.parametrize("redis", ["in-process", "redis"])
def test_a_token_over_its_rate_limit_gets_429_with_retry_after(
    redis: str, engine: Engine, database_url: str, tokens_dir: Path
) -> None:
    if redis == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set")
    redis_url = os.environ.get("REDIS_URL") if redis == "redis" else None
    app = create_api_app(settings_for(database_url, tokens_dir, api_requests_per_minute=3, redis_url=redis_url))
    with TestClient(app) as client:
        statuses = [client.get("/v1/functions", headers=bearer(TOKENS[Scope.READ])).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/v1/functions", headers=bearer(TOKENS[Scope.READ]))
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
        # The limit is per token: another client is not throttled by this one.
        assert client.get("/v1/decisions", headers=bearer(TOKENS[Scope.ADMIN])).status_code == 403
        assert client.post("/v1/invocations", headers=bearer(TOKENS[Scope.INGEST]),
                           json={"source": "s", "records": []}).status_code == 200
    app.state.context.hot_state.clear()


def test_an_admin_deletion_is_audited_with_the_token_that_made_it(
    engine: Engine, database_url: str, tokens_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upsert_functions(engine, [FunctionInfo("doomed")])
    app = create_api_app(settings_for(database_url, tokens_dir))
    with TestClient(app) as client, caplog.at_level(logging.INFO, logger="runtime.api.operator_reads"):
        assert client.delete("/v1/functions/doomed", headers=bearer(TOKENS[Scope.READ])).status_code == 403
        response = client.delete("/v1/functions/doomed", headers=bearer(TOKENS[Scope.ADMIN]))
        assert response.status_code == 200 and response.json() == {"function_id": "doomed", "deleted": True}
        assert client.delete("/v1/functions/doomed", headers=bearer(TOKENS[Scope.ADMIN])).status_code == 404
        audit = client.get("/v1/audit", headers=bearer(TOKENS[Scope.READ])).json()
    app.state.context.hot_state.clear()
    assert get_function(engine, "doomed") is None
    with engine.connect() as connection:
        rows = connection.execute(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.actor, r.action, r.target, r.outcome) for r in rows] == [
        ("api:admin", "delete_function", "function doomed", AuditOutcome.APPLIED),
        ("api:admin", "delete_function", "function doomed", AuditOutcome.SKIPPED),
    ]
    assert audit[0]["actor"] == "api:admin"
    logged = [r for r in caplog.records if r.getMessage() == "admin action"]
    assert [r.__dict__["actor"] for r in logged] == ["api:admin", "api:admin"]


def test_a_token_file_name_names_its_scopes_and_client(tmp_path: Path) -> None:
    (tmp_path / "ingest.collector-eu").write_text("x" * 32)
    (tmp_path / "read+admin").write_text("y" * 32)
    authenticator = Authenticator.from_folder(tmp_path)
    collector, operator = authenticator.identify("x" * 32), authenticator.identify("y" * 32)
    assert collector is not None and collector.id == "ingest.collector-eu" and collector.scopes == {Scope.INGEST}
    assert operator is not None and operator.scopes == {Scope.READ, Scope.ADMIN}
    assert authenticator.identify("z" * 32) is None
    (tmp_path / "superuser").write_text("z" * 32)
    with pytest.raises(ValueError, match="superuser"):
        Authenticator.from_folder(tmp_path)


def test_the_local_token_is_generated_once_private_and_grants_every_scope(tmp_path: Path) -> None:
    path = tmp_path / ".isf-token"
    assert ensure_local_token(path) is True
    first = path.read_text()
    assert ensure_local_token(path) is False and path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = Authenticator.local(path).identify(first.strip())
    assert token is not None and token.id == LOCAL_TOKEN_ID and token.scopes == set(Scope)
    assert Authenticator.local(tmp_path / "absent").tokens == ()


def test_a_deployed_api_without_mounted_tokens_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    from runtime.api.auth import announce_local_token
    from runtime.api.startup import StartupError

    with pytest.raises(StartupError, match="ISF_API_TOKENS_DIR is unset"):
        announce_local_token(ServiceSettings(service="api", local_token_file=tmp_path / "t"))  # type: ignore[call-arg]
    assert not (tmp_path / "t").exists()
