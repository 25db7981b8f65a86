"""Reads a bot's flows from Flow.ai's Management API (`GET flows/list`, then `flows/info` for a flow listed
without its steps); every httpx error becomes a ``TransportError`` here. Blocking: used once per run.
"""

from __future__ import annotations

import json

import httpx

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import TransportError, quote
from pytest_flowai.secret import Secret
from pytest_flowai.transports.base import redact
from pytest_flowai.transports.http import describe_cause


def fetch_flows(url: str, key: Secret, *, timeout: float) -> list[JSONObject]:
    """Every flow of the bot behind the Management API at ``url``, with its steps.

    Raises:
        TransportError: the server cannot be reached, refuses the key or answers something else than flows.
    """
    base = url.rstrip("/")
    # The documents authenticate the Management API with the key as a bearer token.
    headers = {"Authorization": f"Bearer {key.reveal()}"}
    with httpx.Client(follow_redirects=False, timeout=timeout, headers=headers) as http:
        listed = _get(http, f"{base}/flows/list", None, key)
        if not isinstance(listed, list):
            raise TransportError(
                "flows/list: the answer is not a list of flow objects", url=f"{base}/flows/list"
            )
        flows: list[JSONObject] = []
        for flow in listed:
            if not isinstance(flow, dict):
                raise TransportError(
                    f"flows/list: not a flow object: {quote(flow)}", url=f"{base}/flows/list"
                )
            steps = flow.get("steps")
            if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
                # The documents' list shows steps; a flow listed without them is read on its own.
                info = _get(http, f"{base}/flows/info", {"flowId": str(flow.get("flowId"))}, key)
                if not isinstance(info, dict):
                    raise TransportError(
                        f"flows/info: the answer for flowId {quote(flow.get('flowId'))} is not a flow object",
                        url=f"{base}/flows/info",
                    )
                flow = info
            flows.append(flow)
    return flows


def _get(http: httpx.Client, url: str, params: dict[str, str] | None, key: Secret) -> JSON:
    what = url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1]
    try:
        response = http.get(url, params=params)
        text = response.text
    except httpx.TimeoutException as exc:
        raise TransportError(f"{what}: no answer in time", url=url) from exc
    except (httpx.HTTPError, OSError) as exc:
        raise TransportError(f"{what}: cannot connect: {redact(describe_cause(exc), key)}", url=url) from exc
    # The body is parsed as sent; only the messages hide the key, before they are cut.
    shown = redact(text, key)
    if not 200 <= response.status_code < 300:
        refused = " (the management key was refused)" if response.status_code in (401, 403) else ""
        raise TransportError(f"{what}: HTTP {response.status_code}{refused}: {quote(shown, 200)}", url=url)
    try:
        body: JSON = json.loads(text)
    except ValueError:
        raise TransportError(f"{what}: the answer is not JSON: {quote(shown, 200)}", url=url) from None
    return body


__all__ = ["fetch_flows"]
