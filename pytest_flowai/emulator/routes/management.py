"""The Management API routes: ``GET /flows/list`` and ``GET /flows/info``, answered from the loaded bot."""

from __future__ import annotations

import copy

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pytest_flowai._json import JSON
from pytest_flowai.emulator.routes.common import runtime_of
from pytest_flowai.emulator.wire import ApiError, BadInput
from pytest_flowai.errors import quote


async def flows_list(request: Request) -> Response:
    """GET /flows/list: every flow as a Management-API object."""
    return JSONResponse(list[JSON](runtime_of(request).bot.raw_flows()))


async def flows_info(request: Request) -> Response:
    """GET /flows/info?flowId=...: one flow, 404 when unknown."""
    flow_id = request.query_params.get("flowId", "")
    if not flow_id:
        raise BadInput("flowId: required query parameter, e.g. /flows/info?flowId=<id>")
    flow = runtime_of(request).bot.flow(flow_id)
    if flow is None:
        raise ApiError(404, f"no flow with flowId {quote(flow_id, 80)}")
    return JSONResponse(copy.deepcopy(flow.raw))


__all__ = ["flows_info", "flows_list"]
