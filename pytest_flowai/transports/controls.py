"""Bot control over the REST API (pause, resume, handover, status), whatever transport a conversation uses.
Actions carry ``?writeConcern=true`` so the bot is paused or resumed when the call returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from pytest_flowai.errors import ConfigurationError, TransportError
from pytest_flowai.transports.base import TransportConfig
from pytest_flowai.transports.http import HttpAnswer, new_http_client, request, thread_path

if TYPE_CHECKING:
    from pytest_flowai._json import JSON

DEFAULT_TIMEOUT = 10.0


class Controls:
    """Pause, resume, hand over and query the bot for one thread, through ``rest/v1``."""

    def __init__(
        self,
        config: TransportConfig,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._config = config
        self._owns_http = http is None
        self._http = http if http is not None else new_http_client()
        self._timeout = timeout
        self._closed = False

    def __repr__(self) -> str:
        return f"Controls(url={self._config.url!r})"

    async def pause(self, thread_id: str, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Pause the bot for ``thread_id`` (``POST rest/v1/pause/:threadId``)."""
        await self._act("POST", "pause", thread_id, {}, "pausing the bot", timeout)

    async def resume(self, thread_id: str, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Resume the bot for ``thread_id`` (``DELETE rest/v1/pause/:threadId``)."""
        await self._act("DELETE", "pause", thread_id, {}, "resuming the bot", timeout)

    async def handover(
        self,
        thread_id: str,
        seconds_to_pause: float | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:
        """Hand ``thread_id`` over to a human; with ``seconds_to_pause`` the bot pauses that long."""
        body: JSON = {} if seconds_to_pause is None else {"secondsToPause": seconds_to_pause}
        await self._act("POST", "handover", thread_id, body, "handing over", timeout)

    async def status(self, thread_id: str, *, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Whether the bot is paused for ``thread_id`` (``GET rest/v1/pause/:threadId?sync=true``)."""
        what = "asking the bot status"
        answer = await self._call("GET", "pause", thread_id, None, {"sync": "true"}, what, timeout)
        body = answer.checked_body(what, "rest.pause-status")
        if isinstance(body, dict):
            # The documents spell it "isPaued"; the emulator sends both spellings.
            for key in ("isPaused", "isPaued"):
                value = body.get(key)
                if isinstance(value, bool):
                    return value
        raise TransportError(f"{what}: the answer has no isPaused flag: {answer.excerpt()}", url=answer.url)

    async def aclose(self) -> None:
        """Close the HTTP client when this object created it; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Controls:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _act(
        self,
        method: str,
        route: str,
        thread_id: str,
        body: JSON,
        what: str,
        timeout: float | None,  # noqa: ASYNC109
    ) -> None:
        answer = await self._call(method, route, thread_id, body, {"writeConcern": "true"}, what, timeout)
        answer.checked_body(what, "rest.ok")

    async def _call(
        self,
        method: str,
        route: str,
        thread_id: str,
        body: JSON,
        params: dict[str, str],
        what: str,
        timeout: float | None,  # noqa: ASYNC109
    ) -> HttpAnswer:
        if self._closed:
            raise TransportError("the bot controls are closed", url=self._config.url)
        if not self._config.api_key:
            raise ConfigurationError(
                "bot control uses the REST API, which needs an API key; none is configured",
                credential="API key",
            )
        return await request(
            self._http,
            method,
            f"{self._config.url}/rest/v1/{route}/{thread_path(thread_id)}",
            timeout=self._timeout if timeout is None else timeout,
            max_bytes=self._config.max_reply_bytes,
            api_key=self._config.api_key,
            params=params,
            body=body,
            what=what,
        )


__all__ = ["DEFAULT_TIMEOUT", "Controls"]
