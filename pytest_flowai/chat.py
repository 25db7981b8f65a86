"""One conversation driven from Python: `Chat`, what the `flowai` fixture yields, and the `Reply` to a turn.

No pytest: the fixture (`fixtures.py`) imports this module when a test first uses it, so a run that uses no
fixture loads neither the spec model nor the runner.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.bridge import run_sync
from pytest_flowai.errors import FlowaiError, Span
from pytest_flowai.spec.model import (
    Action,
    Conversation,
    Event,
    ExpectEntry,
    ExtraMode,
    Handover,
    Location,
    Media,
    Pause,
    Resume,
    Say,
    Turn,
)
from pytest_flowai.transcript import Received, Transcript

if TYPE_CHECKING:
    from pytest_flowai.session import FlowaiSession

ExpectArg = Sequence[Mapping[str, JSON]] | None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot answered to one turn: the reply payloads as they arrived."""

    payloads: tuple[JSONObject, ...]

    @property
    def messages(self) -> list[JSONObject]:
        """Every message of every payload, in order."""
        return [m for p in self.payloads for m in _objects(p.get("messages"))]

    @property
    def responses(self) -> list[JSONObject]:
        """Every response (bubble) of every message, in order."""
        return [r for m in self.messages for r in _objects(m.get("responses"))]

    @property
    def texts(self) -> list[str]:
        """The texts of the text bubbles."""
        texts = []
        for response in self.responses:
            payload = response.get("payload")
            if response.get("type") == "text" and isinstance(payload, dict):
                text = payload.get("text")
                if isinstance(text, str):
                    texts.append(text)
        return texts

    def __bool__(self) -> bool:
        return bool(self.payloads)


def _objects(value: JSON) -> list[JSONObject]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class Chat:
    """One conversation (one thread) with the bot under test, driven from Python."""

    def __init__(self, session: FlowaiSession, *, key: str, name: str, transport: str) -> None:
        from pytest_flowai.conversation import ConversationRunner

        self._session = session
        self.transcript = Transcript(name=name, thread_id=session.thread_id(key), transport=transport)
        conversation = Conversation.adhoc(name=name, transport=transport, path="<python>")
        # A client of its own, as every spec conversation has (see FlowaiSession.http_client).
        self._http = session.http_client()
        self._runner = ConversationRunner(
            conversation,
            session.settings(),
            thread_id=self.transcript.thread_id,
            transcript=self.transcript,
            http=self._http,
        )
        self._turns = 0

    @property
    def thread_id(self) -> str:
        return self.transcript.thread_id

    @property
    def variables(self) -> Mapping[str, JSON]:
        """Variables set so far (by `save` and regex groups)."""
        return MappingProxyType(self._runner.variables)

    def say(self, text: str, *, expect: ExpectArg = None, forbid: ExpectArg = None, **options: JSON) -> Reply:
        """Send a text; with `expect`, check the replies as a YAML turn would (raises TurnFailed).

        `expect` is a list of entries written as in YAML (`[{"text": {"contains": "Hi"}}]`); an empty list
        means the bot must stay silent. `forbid` lists entries no reply may match (`[{"fallback": True}]`).
        `options`: timeout, settle, silence, patience, extra, unordered.
        """
        __tracebackhide__ = True
        return self._turn(Say(text=text), expect=expect, forbid=forbid, options=options)

    def event(
        self,
        name: str,
        params: Mapping[str, JSON] | None = None,
        *,
        expect: ExpectArg = None,
        forbid: ExpectArg = None,
        **options: JSON,
    ) -> Reply:
        """Trigger an event, with params written simply (`{"orderId": "42"}`)."""
        __tracebackhide__ = True
        return self._turn(Event(name=name), params=params, expect=expect, forbid=forbid, options=options)

    def location(
        self,
        lat: float | str,
        long: float | str,
        title: str | None = None,
        *,
        expect: ExpectArg = None,
        forbid: ExpectArg = None,
    ) -> Reply:
        """Share a location (REST only, as in Flow.ai)."""
        __tracebackhide__ = True
        action = Location(lat=str(lat), long=str(long), title=title)
        return self._turn(action, expect=expect, forbid=forbid, options={})

    def media(
        self,
        media_type: str,
        url: str,
        mime_type: str | None = None,
        *,
        expect: ExpectArg = None,
        forbid: ExpectArg = None,
    ) -> Reply:
        """Send a media message (REST only, as in Flow.ai)."""
        __tracebackhide__ = True
        action = Media(media_type=media_type, url=url, mime_type=mime_type)
        return self._turn(action, expect=expect, forbid=forbid, options={})

    def pause(self) -> None:
        """Pause the bot for this thread."""
        self._turn(Pause(), expect=None, options={})

    def resume(self) -> None:
        """Resume the bot for this thread."""
        self._turn(Resume(), expect=None, options={})

    def handover(self, seconds_to_pause: float | None = None) -> None:
        """Hand the thread over to a human, pausing the bot (for `seconds_to_pause`, if given)."""
        self._turn(Handover(seconds_to_pause=seconds_to_pause), expect=None, options={})

    def _turn(
        self,
        action: Action,
        *,
        expect: ExpectArg,
        options: Mapping[str, JSON],
        params: Mapping[str, JSON] | None = None,
        forbid: ExpectArg = None,
    ) -> Reply:
        __tracebackhide__ = True
        self._turns += 1
        span = _caller_span()
        entries = None
        if expect is not None:
            entries = tuple(ExpectEntry(data=dict(e), span=span, key_spans={}) for e in expect)
        turn = Turn.adhoc(
            index=self._turns,
            action=action,
            span=span,
            params=params,
            expect=entries,
            expect_none=expect is not None and not expect,
            forbid=tuple(ExpectEntry(data=dict(e), span=span, key_spans={}) for e in forbid or ()),
            timeout=_seconds(options.get("timeout")),
            settle=_seconds(options.get("settle")),
            silence=_seconds(options.get("silence")),
            patience=_seconds(options.get("patience")),
            extra=ExtraMode(str(options["extra"])) if "extra" in options else None,
            unordered=bool(options.get("unordered", False)),
        )
        try:
            run_sync(self._session.runner, self._runner.run_turn, turn)
        except FlowaiError as exc:
            # The runner's frames say nothing the message does not: point at the test's own line.
            raise exc.with_traceback(None)  # noqa: B904
        return Reply(
            tuple(
                e.payload for e in self.transcript.events if isinstance(e, Received) and e.turn == turn.index
            )
        )

    def close(self) -> None:
        try:
            run_sync(self._session.runner, self._runner.aclose)
        finally:
            run_sync(self._session.runner, self._http.aclose)


def _seconds(value: JSON) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _caller_span() -> Span:
    """The line of the test that made the call, so a failure points at it."""
    frame = sys._getframe(1)
    here = __file__
    while frame.f_back is not None and frame.f_code.co_filename == here:
        frame = frame.f_back
    return Span(frame.f_code.co_filename, frame.f_lineno)


__all__ = ["Chat", "ExpectArg", "Reply"]
