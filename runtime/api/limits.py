"""Request limits and short validation errors for the HTTP API.

A request body above `MAX_BODY_BYTES` is refused with 413 (Content-Length checked up front, streamed
bytes counted: FastAPI's per-route `max_body_size`). A 422 lists at most `MAX_LISTED_ERRORS` errors,
says how many there were, and echoes an input only when it is a short scalar: a 7 MB batch with a
bad field gets a few hundred bytes back, not its own body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

MAX_BODY_BYTES = 10 * 1024 * 1024
"""10 MiB: a full 50,000-record batch of 64-character ids is about 7.5 MB."""
MAX_LISTED_ERRORS = 5
_MAX_ECHOED_CHARS = 80


def _short_input(value: Any) -> tuple[bool, Any]:
    if value is None or isinstance(value, (bool, int, float)):
        return True, value
    if isinstance(value, str):
        return True, value if len(value) <= _MAX_ECHOED_CHARS else value[:_MAX_ECHOED_CHARS] + "…"
    return False, None


def compact_validation_errors(errors: Sequence[Any], limit: int = MAX_LISTED_ERRORS) -> dict[str, Any]:
    """The body of a short 422: the first `limit` errors (loc, msg, type, a short input) and the total."""
    detail = []
    for error in list(errors)[:limit]:
        item: dict[str, Any] = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""),
                                "type": error.get("type", "")}
        shown, value = _short_input(error.get("input"))
        if shown:
            item["input"] = value
        detail.append(item)
    return {"detail": jsonable_encoder(detail), "error_count": len(errors)}


def compact_validation_response(error: RequestValidationError) -> Response:
    # ASCII escapes: an invalid id may hold lone surrogates, which cannot be encoded as UTF-8.
    body = json.dumps(compact_validation_errors(error.errors()), ensure_ascii=True, default=str)
    return Response(body, status_code=422, media_type="application/json")


class CompactErrorsRoute(APIRoute):
    """A route whose request validation errors are answered by `compact_validation_response`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def compact(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                return compact_validation_response(error)

        return compact
