"""`/docs` without a CDN: Swagger UI's assets served by the service itself, from the `swagger-ui-bundle`
package, so the page works offline and inside a cluster without egress.

FastAPI's own `/docs` and `/redoc` pages load their JavaScript and CSS from jsDelivr and are blank
without internet access; `serve_docs_offline(app)` replaces them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
_OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def serve_docs_offline(app: FastAPI) -> None:
    """Serve Swagger UI at `/docs` with local assets; drop FastAPI's CDN-backed `/docs` and `/redoc`."""
    replaced = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    app.router.routes[:] = [route for route in app.router.routes if getattr(route, "path", None) not in replaced]
    app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url = DOCS_URL, None, _OAUTH2_REDIRECT_URL
    app.mount(ASSETS_URL, StaticFiles(directory=swagger_ui_path), name="swagger-ui-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=f"{root}{_OAUTH2_REDIRECT_URL}",
        )

    @app.get(_OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
