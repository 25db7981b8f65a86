"""The emulator's own admin routes (``/emulator/v1/...``): reset everything, and list webhook deliveries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pytest_flowai._json import JSON
from pytest_flowai.emulator.routes.common import ok, runtime_of


async def admin_reset(request: Request) -> Response:
    """POST /emulator/v1/reset: forget threads, history, pauses, webhooks and deliveries."""
    runtime_of(request).reset()
    return ok()


async def admin_deliveries(request: Request) -> Response:
    """GET /emulator/v1/deliveries: webhook deliveries still being retried, and those that gave up."""
    runtime = runtime_of(request)
    records = [record.to_wire() for record in runtime.store.deliveries()]
    return ok({"result": {"deliveries": list[JSON](records), "busy": runtime.dispatcher.busy()}})


__all__ = ["admin_deliveries", "admin_reset"]
