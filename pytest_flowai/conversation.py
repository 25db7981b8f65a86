"""Runs one conversation: for each turn, interpolate, send, collect replies until matched or timed out.

Owns the transcript. Imports spec, expect, schemas and transports; never pytest.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

import httpx

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import (
    SchemaViolation,
    Span,
    SpecError,
    SpecRunError,
    TransportError,
    TurnFailed,
    UndefinedVariable,
    cut,
)
from pytest_flowai.expect import (
    Bubble,
    EntryTemplate,
    Expectation,
    ForbiddenReply,
    TurnMatcher,
    TurnResult,
    bubbles_of,
)
from pytest_flowai.report.wording import PATIENCE_HINT, failure_reason, undefined_hint, undefined_reason
from pytest_flowai.secret import SecretEnv
from pytest_flowai.spec.interpolate import interpolate
from pytest_flowai.spec.model import Conversation, ExtraMode, Handover, Pause, Resume, Turn, Wait
from pytest_flowai.transcript import Noted, Received, Sent, Transcript, TurnEnded
from pytest_flowai.transports import WEBHOOK_KINDS, open_transport
from pytest_flowai.transports.base import (
    Incoming,
    Listening,
    Notice,
    Outgoing,
    Transport,
    TransportConfig,
)
from pytest_flowai.transports.controls import Controls
from pytest_flowai.transports.outgoing import build_outgoing, describe_outgoing
from pytest_flowai.turn_message import message_of
from pytest_flowai.turn_plan import Message, Plan, Timing, plan_of

if TYPE_CHECKING:
    from pytest_flowai.transports.hub import WebhookHub

# -- settings --


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSettings:
    """What the plugin configures for every conversation; a spec's own keys override the timings."""

    config: TransportConfig
    transport: str = "socket"
    timeout: float = 10.0
    settle: float = 0.25
    silence: float = 1.0
    patience: float = 2.0
    # The environment for {env.NAME}: holds keys, so neither this repr nor its own shows a value.
    env: Mapping[str, str] = field(default_factory=lambda: SecretEnv(os.environ), repr=False)
    # The session's webhook receiver, for the transports in WEBHOOK_KINDS (None: not available).
    hub: WebhookHub | None = None


# -- the runner --


# Not frozen: one is made per turn and never changed, and a frozen init costs twice as much.
@dataclass(slots=True)
class _Ready:
    """A turn's message as it goes out, and its line in the transcript."""

    turn: Turn
    outgoing: Outgoing
    text: str


# A reading of the runner's clock in seconds; only differences between readings mean anything.
Clock = Callable[[], float]


class ConversationRunner:
    """Runs the turns of one conversation over one transport, recording into a transcript.

    ``clock`` is read for every deadline and timestamp the runner takes; a test that injects one makes the
    transcript's ``started`` a reading of it too. Arrivals the transports stamp are carried over by their age.
    """

    def __init__(
        self,
        conversation: Conversation,
        settings: RunSettings,
        *,
        thread_id: str,
        transcript: Transcript,
        http: httpx.AsyncClient | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.conversation = conversation
        self._clock = clock
        self.settings = settings
        self.thread_id = thread_id
        self.transcript = transcript
        # The HTTP client the session made for this conversation (REST, socket.info, controls).
        self._http = http
        self._transport: Transport | None = None
        self._controls: Controls | None = None
        self.variables: dict[str, JSON] = dict(conversation.vars)
        # This turn's replies that no expectation may match (another thread's, a duplicate), and the close
        # of the connection that lost its replies, if one happened.
        self._unasked: list[str] = []
        self._turn_drop: str | None = None
        self._upcoming: Turn | None = None  # the turn `run` runs next, planned once this one is sent
        # Its plan, and its message when no variable can change it, made once this turn's message is sent.
        self._planned: tuple[Turn, Plan] | None = None
        self._ready: _Ready | None = None

    @property
    def transport_kind(self) -> str:
        return self.transcript.transport

    async def run(self) -> Transcript:
        turns = self.conversation.turns
        try:
            for index, turn in enumerate(turns):
                self._upcoming = turns[index + 1] if index + 1 < len(turns) else None
                await self.run_turn(turn)
        finally:
            await self.aclose()
        return self.transcript

    async def aclose(self) -> None:
        transport, controls = self._transport, self._controls
        self._transport = self._controls = None
        if transport is not None:
            await transport.aclose()
        if controls is not None:
            await controls.aclose()

    # -- one turn --

    async def run_turn(self, turn: Turn) -> None:
        """Run one turn: send, collect and check; raises TurnFailed, TransportError or SpecRunError."""
        plan = self._plan(turn)
        timing = plan.timing
        self._unasked = []
        self._turn_drop = None
        ready, self._ready = self._ready, None
        try:
            if ready is not None and ready.turn is turn:
                outgoing: _Ready | None = ready
            else:
                variables, env = self.variables, self.settings.env
                message = plan.message if plan.fixed else message_of(turn.action, variables, env)
                outgoing = self._ready_of(
                    turn,
                    message,
                    params=self._filled(turn.params),
                    originator=self._filled(turn.originator),
                    metadata=self._filled(turn.metadata),
                )
            entries = plan.entries if plan.entries is not None else self._compile(plan.expect_templates)
            forbid = plan.forbid if plan.forbid is not None else self._compile(plan.forbid_templates)
        # The spec's mistake, not the bot's: said as a spec error, with what the bot said so far.
        except UndefinedVariable as exc:
            self._spec_mistake(turn, undefined_reason(exc.name), exc, hint=undefined_hint(exc.name))
        except SpecError as exc:
            self._spec_mistake(turn, exc.message, exc, span=exc.span, hint=exc.hint)

        try:
            await self._act(turn, outgoing, timing)
            self._plan_upcoming()  # a control action sends no message: plan the next turn now
            if turn.action.kind.is_control and turn.expect is None and not turn.expect_none:
                self._end(turn, ok=True)
                return
            matcher = TurnMatcher(entries, forbid=forbid, unordered=timing.unordered, extra=timing.extra)
            if turn.expect_none:
                await self._listen_for_silence(turn, timing, matcher)
                self._pass(turn, timing)
                return
            fell_quiet = await self._collect(turn, matcher, timing, expect_given=turn.expect is not None)
        except SchemaViolation as exc:
            self._record_invalid(turn, exc)
            self._fail(
                turn,
                f"the bot's reply breaks the protocol schema {exc.schema!r}",
                mismatches=exc.violations,
            )
        except TransportError as exc:
            exc.turn = turn.index
            self.transcript.failed_turn = turn.index
            self._end(turn, ok=False)
            raise

        if matcher.forbidden is not None:
            self._fail_forbidden(turn, matcher.forbidden)
        if turn.expect is None:
            # No expectations: the replies were recorded and schema-checked, nothing more is asked of them.
            self._pass(turn, timing)
            return
        self._settle_result(turn, matcher.result(), timing, fell_quiet=fell_quiet)

    def _plan(self, turn: Turn) -> Plan:
        """The turn's plan: made while the previous turn's message was with the server, else now."""
        planned, self._planned = self._planned, None
        if planned is not None and planned[0] is turn:
            return planned[1]
        return plan_of(turn, self.conversation, self.settings)

    def _plan_upcoming(self) -> None:
        """Plan the turn ``run`` runs next (timings, message, compiled entries), and build its message when
        no variable can change it: called while the server works on this turn's message, so the next send
        does not wait for either."""
        upcoming, self._upcoming = self._upcoming, None
        if upcoming is None:
            return
        plan = plan_of(upcoming, self.conversation, self.settings)
        self._planned = (upcoming, plan)
        if plan.fixed and not (upcoming.params or upcoming.originator or upcoming.metadata):
            with contextlib.suppress(ValueError):  # the turn builds it again and reports it when it runs
                self._ready = self._ready_of(upcoming, plan.message, params={}, originator={}, metadata={})
            if self._ready is not None and self._transport is not None:
                self._transport.prepare(self._ready.outgoing)

    def _ready_of(
        self, turn: Turn, message: Message, *, params: JSON, originator: JSON, metadata: JSON
    ) -> _Ready | None:
        """A message action's outgoing message and its transcript line; None for a control action."""
        if message is None:
            return None
        kind, value = message
        outgoing = build_outgoing(
            kind,
            value,
            thread_id=self.thread_id,
            params=_as_object(params),
            originator=_as_object(originator),
            metadata=_as_object(metadata),
        )
        return _Ready(turn=turn, outgoing=outgoing, text=describe_outgoing(outgoing))

    def _filled(self, mapping: Mapping[str, JSON]) -> JSON:
        """A turn's mapping (params, originator, metadata) with this conversation's variables filled in."""
        if not mapping:
            return {}  # most turns give none: nothing to copy or walk
        return interpolate(dict(mapping), self.variables, self.settings.env)

    def _compile(self, templates: tuple[EntryTemplate, ...]) -> tuple[Expectation, ...]:
        """Entries with this conversation's variables filled in, compiled."""
        return tuple(template.fill(self.variables, self.settings.env) for template in templates)

    async def _act(self, turn: Turn, ready: _Ready | None, timing: Timing) -> None:
        now = self._clock()
        if ready is not None:
            transport = self._transport or await self._ensure_transport(timing.timeout)
            self.transcript.add(Sent(turn=turn.index, text=ready.text, at=now))
            await transport.send(ready.outgoing, timeout=timing.timeout, on_sent=self._plan_upcoming)
            return
        match turn.action:
            case Wait(seconds=seconds):
                self.transcript.add(Sent(turn=turn.index, text=f"wait {seconds:g}s", at=now))
                await self._wait_collecting(turn, seconds)
                return
            case Pause():
                await (await self._controls_for(timing)).pause(self.thread_id, timeout=timing.timeout)
                text = "pause the bot"
            case Resume():
                await (await self._controls_for(timing)).resume(self.thread_id, timeout=timing.timeout)
                text = "resume the bot"
            case Handover(seconds_to_pause=given):
                pause = float(given) if given is not None else None
                controls = await self._controls_for(timing)
                await controls.handover(self.thread_id, pause, timeout=timing.timeout)
                text = "hand over to a human" + (f" for {pause:g}s" if pause is not None else "")
            case _:
                return  # a message action, sent above
        self.transcript.add(Sent(turn=turn.index, text=text, at=now))

    async def _controls_for(self, timing: Timing) -> Controls:
        if self.transport_kind in WEBHOOK_KINDS:
            # Its webhook events (paused, resumed, takeover) come through the transport's inbox.
            await self._ensure_transport(timing.timeout)
        controls = self._controls or Controls(self.settings.config, http=self._http)
        self._controls = controls
        return controls

    async def _ensure_transport(self, timeout: float) -> Transport:  # noqa: ASYNC109
        if self._transport is None:
            self._transport = await open_transport(
                self.transport_kind,
                self.settings.config,
                http=self._http,
                timeout=timeout,
                hub=self.settings.hub,
            )
            if isinstance(self._transport, Listening):
                self._transport.listen(self.thread_id)
        return self._transport

    # -- collecting replies --

    async def _next(self, turn: Turn, wait: float) -> Incoming | None:
        """The next reply within `wait` seconds, recording it (and any notice) in the transcript."""
        transport = self._transport
        if transport is None:
            return None
        deadline = self._clock() + max(wait, 0.0)
        while True:
            left = max(deadline - self._clock(), 0.0)
            if not left and not transport.has_queued():
                return None  # no time to wait and nothing at hand (a settle of 0): spare a loop round
            item = await transport.receive(left)
            if item is not None and self._clock is not time.monotonic:
                # Transports stamp arrivals with time.monotonic(): carry the stamp over as its age, read now.
                item = dataclasses.replace(item, at=self._clock() - (time.monotonic() - item.at))
            if isinstance(item, Notice):
                self.transcript.add(Noted(turn=turn.index, text=item.text, at=item.at))
                if item.drop is not None:
                    self._turn_drop = item.drop
                continue
            if item is None:
                return None
            self.transcript.add(Received(turn=turn.index, payload=item.payload, at=item.at))
            if item.foreign:
                thread = cut(item.thread_id, 100)
                self._note(
                    turn,
                    f"a reply for thread {thread} arrived on this conversation's connection; not matched",
                )
                self._unasked.append(f"a reply for thread {thread}")
                continue
            if item.duplicate:
                self._note(turn, "the reply above arrived twice (delivered again); not matched a second time")
                self._unasked.append("a duplicate of an earlier reply")
                continue
            return item

    async def _collect(self, turn: Turn, matcher: TurnMatcher, timing: Timing, *, expect_given: bool) -> bool:
        """Feed replies to the matcher until it is satisfied and nothing new came for `settle`, the bot fell
        quiet for `patience` with expectations unmet (returns True), or the timeout passed."""
        transport = self._transport
        if transport is None:
            return False
        bubbles_fed = 0
        deadline = self._clock() + timing.timeout
        if not transport.streaming:
            # Sync REST: the HTTP answer was the whole reply.
            while (item := await self._next(turn, 0.0)) is not None:
                bubbles_fed = self._feed(matcher, item, bubbles_fed)
            return False
        got_any = False
        # When the bot last spoke: the last arrival, or later when a reply announced delayed bubbles.
        quiet_from = 0.0
        while (remaining := deadline - self._clock()) > 0:
            if not expect_given:
                # No expectations: wait for a first reply as long as a silent bot may take, then settle.
                wait = timing.settle if got_any else timing.silence
            elif matcher.satisfied:
                wait = timing.settle
            elif got_any:
                wait = quiet_from + timing.patience - self._clock()
            else:
                wait = remaining
            item = await self._next(turn, min(wait, remaining))
            if self._turn_drop is not None and expect_given and not matcher.satisfied:
                raise TransportError(
                    f"the connection closed mid-turn ({self._turn_drop}) before the expected reply came;"
                    " it was reopened, but what the bot sent meanwhile is lost"
                )
            if item is None:
                if not expect_given or matcher.satisfied:
                    return False
                if got_any and self._clock() >= quiet_from + timing.patience:
                    return True
                continue
            got_any = True
            quiet_from = max(quiet_from, item.at + announced_delay(item.payload))
            bubbles_fed = self._feed(matcher, item, bubbles_fed)
            if matcher.forbidden is not None:
                return False  # the turn has failed the moment a forbidden reply came: no settle or patience
        return False

    def _feed(self, matcher: TurnMatcher, item: Incoming, start: int) -> int:
        bubbles: list[Bubble] = bubbles_of([item.payload], start=start)
        matcher.feed(bubbles)
        return start + len(bubbles)

    async def _listen_for_silence(self, turn: Turn, timing: Timing, matcher: TurnMatcher) -> None:
        deadline = self._clock() + timing.silence
        while True:
            item = await self._next(turn, deadline - self._clock())
            if item is None:
                return
            # The sync REST answer to a message the bot ignores is a payload without messages: silence.
            if _has_messages(item):
                break
        fed = self._feed(matcher, item, 0)
        # Keep listening briefly so the failure shows everything the bot said (unless a reply was forbidden).
        while matcher.forbidden is None and (item := await self._next(turn, timing.settle)) is not None:
            fed = self._feed(matcher, item, fed)
        if matcher.forbidden is not None:
            self._fail_forbidden(turn, matcher.forbidden)
        self._fail(turn, f"expected silence for {timing.silence:g}s, but the bot replied")

    async def _wait_collecting(self, turn: Turn, seconds: float) -> None:
        """`wait:` sleeps, but replies that arrive meanwhile are still recorded (and checked)."""
        if self._transport is None or not self._transport.streaming:
            await asyncio.sleep(seconds)
            return
        deadline = self._clock() + seconds
        while (remaining := deadline - self._clock()) > 0:
            await self._next(turn, remaining)

    # -- outcome --

    def _note(self, turn: Turn, text: str) -> None:
        self.transcript.add(Noted(turn=turn.index, text=text, at=self._clock()))

    def _check_unasked(self, turn: Turn, timing: Timing, result: TurnResult | None = None) -> None:
        """Replies no expectation may match (another thread's, duplicates) count as extras: under
        `extra: fail` they fail the turn, under `warn` they are a warning."""
        if not self._unasked:
            return
        what = ", ".join(self._unasked)
        if timing.extra is ExtraMode.FAIL:
            count = len(self._unasked)
            came = (
                "a reply the turn did not ask for"
                if count == 1
                else f"{count} replies the turn did not ask for"
            )
            detail = result.describe_failure() if result is not None and not result.ok else None
            self._fail(turn, f"{came} arrived ({what}) (extra: fail)", detail=detail)
        if timing.extra is ExtraMode.WARN:
            self._note(turn, f"warning: {what} arrived and matched no expectation")

    def _pass(self, turn: Turn, timing: Timing) -> None:
        self._check_unasked(turn, timing)
        self._end(turn, ok=True)

    def _settle_result(self, turn: Turn, result: TurnResult, timing: Timing, *, fell_quiet: bool) -> None:
        self._check_unasked(turn, timing, result)
        if not result.ok:
            failure = result.failures[0] if result.failures else None
            streaming = self._transport.streaming if self._transport is not None else True
            quiet = fell_quiet and bool(result.failures)
            reason = failure_reason(
                result, streaming, timeout=timing.timeout, patience=timing.patience, fell_quiet=quiet
            )
            if not result.received and isinstance(self._transport, Listening):
                reason = self._transport.quiet_reason(timing.timeout) or reason
            self._fail(
                turn,
                reason,
                span=failure.span if failure is not None else None,
                mismatches=failure.mismatches if failure is not None else (),
                detail=result.describe_failure(),
                hint=PATIENCE_HINT if quiet else None,
            )
        if result.extras and result.extra_mode is ExtraMode.WARN:
            self.transcript.add(
                Noted(
                    turn=turn.index,
                    text=f"warning: {len(result.extras)} reply bubble(s) matched no expectation",
                    at=self._clock(),
                )
            )
        for name, value in result.captures.items():
            self.variables[name] = value
            text = f"captured {name} = {value!r}"
            self.transcript.add(Noted(turn=turn.index, text=text, at=self._clock()))
        self._end(turn, ok=True)

    def _fail_forbidden(self, turn: Turn, forbidden: ForbiddenReply) -> None:
        self._fail(turn, forbidden.reason(), span=forbidden.span, detail=forbidden.describe())

    def _record_invalid(self, turn: Turn, exc: SchemaViolation) -> None:
        now = self._clock()
        reply = _reply_payload(exc.instance)
        if reply is not None:
            # Show what the bot sent, so the reader sees the broken bubble beside the schema's complaint.
            self.transcript.add(Received(turn=turn.index, payload=reply, at=now))
        text = f"the reply above breaks the schema {exc.schema!r}" if reply else "an invalid frame arrived"
        self.transcript.add(Noted(turn=turn.index, text=text, at=now))

    def _end(self, turn: Turn, *, ok: bool) -> None:
        self.transcript.add(TurnEnded(turn=turn.index, ok=ok, at=self._clock()))

    def _spec_mistake(
        self, turn: Turn, message: str, cause: SpecError, *, span: Span | None = None, hint: str | None = None
    ) -> NoReturn:
        self.transcript.failed_turn = turn.index
        self._end(turn, ok=False)
        raise SpecRunError(
            message, turn=turn.index, span=span or turn.span, hint=hint, transcript=self.transcript
        ) from cause

    def _fail(
        self,
        turn: Turn,
        reason: str,
        *,
        span: Span | None = None,
        mismatches: tuple[object, ...] = (),
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.transcript.failed_turn = turn.index
        self._end(turn, ok=False)
        raise TurnFailed(
            reason,
            turn=turn.index,
            span=span or turn.span,
            mismatches=mismatches,
            transcript=self.transcript,
            detail="\n".join(part for part in (detail, hint and f"  hint: {hint}") if part) or None,
        )


def _reply_payload(instance: JSON) -> JSONObject | None:
    """The `{threadId, messages, ...}` in an invalid socket frame (`payload`) or sync REST body (`result`)."""
    if not isinstance(instance, dict):
        return None
    if isinstance(instance.get("messages"), list):
        return instance
    for key in ("payload", "result"):
        inner = instance.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("messages"), list):
            return inner
    return None


def _has_messages(item: Incoming) -> bool:
    messages = item.payload.get("messages")
    return not isinstance(messages, list) or bool(messages)


def announced_delay(payload: JSONObject) -> float:
    """Seconds until the last bubble of a reply is due: its responses' `delay`s (milliseconds) in a row.

    Over the socket Flow.ai sends a step's bubbles together and the client shows each `delay` ms after the
    one before (docs/PROTOCOL.md, "Delays"), so a bot is not quiet before the last one is due.
    """
    total = 0.0
    messages = payload.get("messages")
    for message in messages if isinstance(messages, list) else ():
        responses = message.get("responses") if isinstance(message, dict) else None
        for response in responses if isinstance(responses, list) else ():
            delay = response.get("delay") if isinstance(response, dict) else None
            if isinstance(delay, int | float) and not isinstance(delay, bool) and 0 < delay < math.inf:
                total += delay / 1000
    return total


def _as_object(value: JSON) -> JSONObject:
    return value if isinstance(value, dict) else {}


async def run(
    conversation: Conversation,
    settings: RunSettings,
    *,
    thread_id: str,
    transcript: Transcript,
    http: httpx.AsyncClient | None = None,
) -> Transcript:
    """Run every turn of `conversation`; raises `TurnFailed` (bot), `TransportError` (network),
    `SpecRunError` (the spec) or `ConfigurationError` (a setting)."""
    runner = ConversationRunner(conversation, settings, thread_id=thread_id, transcript=transcript, http=http)
    return await runner.run()
