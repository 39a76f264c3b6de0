"""`/docs` works without internet access (issue 14, item 12): every asset the page loads is served locally."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from runtime.api.docs import serve_docs_offline


def test_the_docs_page_loads_every_asset_from_the_service_itself() -> None:
    app = FastAPI(title="isf test")
    serve_docs_offline(app)
    client = TestClient(app)
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:href|src|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assets = [u for u in urls if u.endswith((".js", ".css", ".png"))]
    assert len(assets) >= 2
    assert not [u for u in urls if u.startswith(("http://", "https://", "//"))], urls
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/redoc").status_code == 404  # FastAPI's redoc page needs a CDN; it is not offered


def test_every_service_serves_the_offline_docs(tmp_path: Path) -> None:
    from runtime.api.app import create_api_app
    from runtime.api.config import ServiceSettings

    app = create_api_app(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'x.db'}", redis_url=None))
    with TestClient(app) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and "cdn.jsdelivr.net" not in page.text
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
