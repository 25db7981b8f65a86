"""The emulator's Starlette app: its route table, JSON error handlers, and ``build_app`` with its lifespan.

The lifespan opens the store and the webhook client; the endpoints live in ``routes/``. Nothing is built at
import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from pytest_flowai.emulator.flows import load_bot
from pytest_flowai.emulator.routes import admin, management, messaging, rest, socket_session
from pytest_flowai.emulator.routes.common import api, error_answer
from pytest_flowai.emulator.runtime import EndpointTokens, Runtime
from pytest_flowai.emulator.settings import EmulatorSettings
from pytest_flowai.emulator.store import Store
from pytest_flowai.emulator.webhooks import RetryPolicy, WebhookDispatcher
from pytest_flowai.errors import EmulatorError

if TYPE_CHECKING:
    from pytest_flowai.emulator.flows import Bot


def _routes() -> list[BaseRoute]:
    thread = "{thread_id:path}"
    return [
        Route("/socket.info", api(socket_session.socket_info, auth=False), methods=["GET"]),
        # The socket document's own examples ask for socket.info/?clientId=... (with the slash).
        Route("/socket.info/", api(socket_session.socket_info, auth=False), methods=["GET"]),
        WebSocketRoute("/ws/{token}", socket_session.socket_endpoint),
        Route(f"/rest/v1/messages/{thread}", api(rest.rest_send), methods=["POST"]),
        Route(f"/rest/v1/messages/{thread}", api(rest.rest_history), methods=["GET"]),
        Route("/rest/v1/threads", api(rest.rest_threads), methods=["GET"]),
        Route(f"/rest/v1/takeover/{thread}", api(rest.rest_takeover), methods=["POST"]),
        Route(f"/rest/v1/handover/{thread}", api(rest.rest_handover), methods=["POST"]),
        Route("/rest/v1/trigger/event", api(rest.rest_events), methods=["GET"]),
        Route(f"/rest/v1/trigger/event/{thread}", api(rest.rest_trigger), methods=["POST"]),
        Route("/rest/v1/businesshours", api(rest.rest_business_hours), methods=["GET"]),
        Route(f"/rest/v1/pause/{thread}", api(rest.rest_pause), methods=["POST"]),
        Route(f"/rest/v1/pause/{thread}", api(rest.rest_resume), methods=["DELETE"]),
        Route(f"/rest/v1/pause/{thread}", api(rest.rest_pause_status), methods=["GET"]),
        Route("/v1/messaging/message", api(messaging.messaging_send), methods=["POST"]),
        Route("/v1/messaging/webhooks", api(messaging.webhooks_create), methods=["POST"]),
        Route("/v1/messaging/webhooks", api(messaging.webhooks_list), methods=["GET"]),
        Route("/v1/messaging/webhooks/{webhook_id}", api(messaging.webhooks_get), methods=["GET"]),
        Route("/v1/messaging/webhooks/{webhook_id}", api(messaging.webhooks_update), methods=["POST", "PUT"]),
        Route("/v1/messaging/webhooks/{webhook_id}", api(messaging.webhooks_delete), methods=["DELETE"]),
        Route("/flows/list", api(management.flows_list), methods=["GET"]),
        Route("/flows/info", api(management.flows_info), methods=["GET"]),
        Route("/emulator/v1/reset", api(admin.admin_reset), methods=["POST"]),
        Route("/emulator/v1/deliveries", api(admin.admin_deliveries), methods=["GET"]),
    ]


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no route, wrong method) as JSON errors."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    if status == 404:
        message = f"no such route: {request.method} {request.url.path}"
    elif status == 405:
        allowed = (headers or {}).get("Allow", "")
        message = f"method {request.method} not allowed on {request.url.path} (allowed: {allowed})"
    else:
        message = str(exc.detail) if isinstance(exc, HTTPException) else "error"
    return error_answer(status, message, headers)


async def _on_bug(request: Request, exc: Exception) -> Response:
    """Only our own bugs get here: counted, logged (by Starlette, with traceback), answered 500 JSON."""
    runtime = getattr(request.app.state, "runtime", None)
    if isinstance(runtime, Runtime):
        runtime.internal_errors += 1
    return error_answer(500, f"internal emulator error ({type(exc).__name__}); this is a bug in the emulator")


def build_app(settings: EmulatorSettings, bot: Bot | None = None) -> Starlette:
    """A new emulator app; its lifespan opens the store and the webhook HTTP client.

    ``settings.api_key`` None is filled with a random key, readable as ``app.state.settings.api_key``.
    ``bot`` defaults to loading ``settings.flows`` (``EmulatorError`` when they are invalid).
    """
    settings = settings.resolved()
    if bot is None:
        bot = settings.flows if not isinstance(settings.flows, str | Path) else load_bot(settings.flows)
    the_bot = bot

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            store = Store(settings.db)
        except EmulatorError as exc:
            app.state.startup_error = str(exc)
            raise
        policy = RetryPolicy(
            attempts=settings.webhook_attempts,
            backoff=settings.webhook_backoff,
            backoff_max=settings.webhook_backoff_max,
            timeout=settings.webhook_timeout,
        )
        try:
            # trust_env=False: no proxy from the environment may route our loopback calls elsewhere.
            async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
                runtime = Runtime(
                    settings=settings,
                    bot=the_bot,
                    store=store,
                    dispatcher=WebhookDispatcher(store, client, policy),
                    tokens=EndpointTokens(settings.endpoint_ttl),
                )
                app.state.runtime = runtime
                try:
                    yield
                finally:
                    runtime.begin_shutdown()
                    await runtime.dispatcher.aclose()
        finally:
            store.close()

    app = Starlette(
        routes=_routes(),
        lifespan=lifespan,
        # "Our messaging API supports cross-origin resource sharing" (001_*.txt): a browser web chat on any
        # origin may ask socket.info with the SDK's x-flowai-* headers, which takes a CORS preflight.
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["Location"],
            )
        ],
        exception_handlers={HTTPException: _on_http_exception, Exception: _on_bug},
    )
    # No 307 to the path with(out) a trailing slash: every answer is JSON, an unknown path a 404.
    app.router.redirect_slashes = False
    app.state.settings = settings
    return app


__all__ = ["build_app"]
