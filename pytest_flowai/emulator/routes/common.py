"""What every route shares: the ``Runtime``, the API-key check, bounded JSON bodies, the answer shapes."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.runtime import Runtime
from pytest_flowai.emulator.wire import ApiError, BadInput, check_thread_id, parse_json
from pytest_flowai.errors import EmulatorError, quote

MAX_PAGE = 1_000_000_000


def runtime_of(request: Request | WebSocket) -> Runtime:
    """The running emulator's ``Runtime``, set by the app's lifespan."""
    runtime = request.app.state.runtime
    if not isinstance(runtime, Runtime):  # pragma: no cover - only if the lifespan did not run
        raise EmulatorError("the emulator app was used without its lifespan")
    return runtime


def error_answer(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The protocol's error answer ``{"status": "error", "message": ...}``."""
    return JSONResponse({"status": "error", "message": message}, status_code=status, headers=headers)


def check_auth(request: Request) -> None:
    """``Authorization: KEY`` or ``Bearer KEY``; 401 otherwise. The key is never echoed."""
    header = request.headers.get("authorization", "").strip()
    if not header:
        raise ApiError(
            401, "missing Authorization header: send 'Authorization: <api key>' or 'Bearer <api key>'"
        )
    scheme, _, rest = header.partition(" ")
    given = rest.strip() if scheme.lower() == "bearer" and rest.strip() else header
    expected = runtime_of(request).settings.api_key or ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "invalid API key")


async def body_bytes(request: Request) -> bytes:
    """The request body, or 413 as soon as it passes the size limit (never read whole first)."""
    limit = runtime_of(request).settings.max_body
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, *, required: bool = True) -> JSON:
    """The body parsed as JSON (None when empty and not ``required``); ``BadInput`` saying why not."""
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        # 001's media example uploads the file as multipart/form-data; the emulator keeps no files.
        raise BadInput(
            "request body: multipart/form-data uploads are not supported by the emulator; "
            "send a JSON body, media by its url"
        )
    raw = await body_bytes(request)
    if not raw.strip():
        if required:
            raise BadInput("request body is empty; expected a JSON object")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("request body is not UTF-8 text") from None
    return parse_json(text, "request body")


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter such as ``?sync=true``."""
    return request.query_params.get(name, "").strip().lower() in ("true", "1", "yes")


def page_number(request: Request) -> int:
    """The ``page`` query parameter, 1 when absent."""
    text = request.query_params.get("page")
    if text is None or text == "":
        return 1
    # ASCII digits only ("²" is a digit to str.isdigit but not to int) and a cap, so the SQL offset fits.
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not 1 <= int(text) <= MAX_PAGE:
        raise BadInput(f"page: must be a whole number from 1 to {MAX_PAGE}, got {quote(text, 60)}")
    return int(text)


def page_count(total: int, size: int) -> int:
    """How many pages ``total`` entries fill (at least one, even when empty)."""
    return max(1, -(-total // size))


def path_thread(request: Request) -> str:
    """The ``:threadId`` path parameter, checked."""
    return check_thread_id(str(request.path_params.get("thread_id", "")))


def ok(extra: JSONObject | None = None, status: int = 200) -> JSONResponse:
    """The protocol's success answer ``{"status": "ok", ...}``."""
    return JSONResponse({"status": "ok", **(extra or {})}, status_code=status)


Endpoint = Callable[[Request], Awaitable[Response]]


def api(endpoint: Endpoint, *, auth: bool = True) -> Endpoint:
    """Wrap an endpoint: check the API key, turn ``ApiError`` into the JSON error answer."""

    async def handle(request: Request) -> Response:
        try:
            if auth:
                check_auth(request)
            return await endpoint(request)
        except ApiError as exc:
            return error_answer(exc.status, exc.message, exc.headers)

    handle.__name__ = endpoint.__name__
    handle.__doc__ = endpoint.__doc__
    return handle


__all__ = [
    "Endpoint",
    "api",
    "check_auth",
    "error_answer",
    "flag",
    "json_body",
    "ok",
    "page_count",
    "page_number",
    "path_thread",
    "runtime_of",
]
