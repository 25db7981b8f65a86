"""The report's text, pure (no pytest, no I/O but the spec excerpt): transcripts, failure reports and the
objects pytest prints them through, the failure table's rows and lines. The runner's wording is `wording`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import (
    ConfigurationError,
    FlowaiError,
    Span,
    SpecRunError,
    TransportError,
    TurnFailed,
    cut,
    display_path,
    quote,
)
from pytest_flowai.report.wording import CREDENTIAL_HINTS
from pytest_flowai.secret import Secret
from pytest_flowai.secret import redact as redact_all
from pytest_flowai.transcript import Noted, Received, Sent, Transcript

if TYPE_CHECKING:
    from pytest_flowai.spec.model import Conversation, Turn

_EXCERPT_LINES = 12


def redact(text: str, secrets: Iterable[Secret | str]) -> str:
    """Replace every form of every secret in `text` (see ``secret.redact``, the one redaction function)."""
    return redact_all(text, secrets)


# -- transcript --


def render_transcript(transcript: Transcript) -> str:
    """The whole conversation, turn by turn: `>` sent, `<` received, `!` notes; `>>` marks a failed turn."""
    lines = [
        f"conversation {transcript.name!r} over {transcript.transport}, thread {transcript.thread_id}",
    ]
    current: int | None = None
    for event in transcript.events:
        # A turn that failed before sending anything (a refused connection) has only its TurnEnded.
        if event.turn != current:
            current = event.turn
            marker = ">>" if event.turn == transcript.failed_turn else "  "
            lines.append(f"{marker}turn {event.turn}")
        elapsed = f"+{event.at - transcript.started:6.2f}s"
        if isinstance(event, Sent):
            lines.append(f"    {elapsed} > {event.text}")
        elif isinstance(event, Received):
            lines.extend(f"    {elapsed} < {line}" for line in describe_payload(event.payload))
        elif isinstance(event, Noted):
            lines.append(f"    {elapsed} ! {event.text}")
        elif not event.ok:
            lines.append(f"    {elapsed} x turn {event.turn} failed")
    if len(lines) == 1:
        lines.append("  (nothing was sent)")
    return "\n".join(lines)


def describe_payload(payload: JSONObject) -> list[str]:
    """One line per response bubble of a reply payload, prefixed by the message's flow and step."""
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["(a reply with no messages)"]
    lines: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            lines.append(f"(not a message: {quote(message)})")
            continue
        where = _where(message)
        responses = message.get("responses")
        if not isinstance(responses, list) or not responses:
            lines.append(f"{where}(no responses)")
            continue
        lines.extend(f"{where}{describe_response(r)}" for r in responses)
    return lines


def _where(message: JSONObject) -> str:
    flow, step = message.get("flow"), message.get("step")
    flow_title = flow.get("title") if isinstance(flow, dict) else None
    step_title = step.get("title") if isinstance(step, dict) else None
    step_type = step.get("type") if isinstance(step, dict) else None
    if flow_title is None and step_title is None:
        return ""
    kind = f" {step_type}" if step_type and step_type != "INTENT" else ""
    return f"[{flow_title} / {step_title}{kind}] "


def describe_response(response: JSON) -> str:
    """A bubble in a few words: `text 'Hi!' | quick replies: Yes, No`."""
    if not isinstance(response, dict):
        return f"(not a response: {quote(response)})"
    kind = response.get("type")
    payload = response.get("payload")
    body = payload if isinstance(payload, dict) else {}
    delay = response.get("delay")
    suffix = f" (delay {delay}ms)" if isinstance(delay, int | float) and delay else ""
    parts: list[str]
    if kind == "text":
        parts = [f"text {quote(body.get('text'), 120)}"]
        labels = _labels(body.get("quickReplies"))
        if labels:
            parts.append(f"quick replies: {labels}")
    elif kind in ("image", "video", "audio", "file"):
        parts = [f"{kind} {quote(body.get('title'), 60)} {body.get('url') or '(no url)'}"]
    elif kind == "card":
        parts = [f"card {quote(body.get('title'), 60)}"]
        if body.get("subtitle"):
            parts.append(f"subtitle {quote(body.get('subtitle'), 60)}")
        labels = _labels(body.get("buttons"))
        if labels:
            parts.append(f"buttons: {labels}")
    elif kind == "buttons":
        parts = [f"buttons {quote(body.get('title'), 60)}: {_labels(body.get('buttons'))}"]
    elif kind in ("carousel", "list"):
        titles = _titles(body.get("cards" if kind == "carousel" else "items"))
        parts = [f"{kind} of {len(titles)}: {', '.join(titles)}"]
    elif kind == "location":
        parts = [f"location {quote(body.get('title'), 60)} ({body.get('lat')}, {body.get('long')})"]
    else:
        parts = [f"{kind} {_compact(payload)}"]
    return " | ".join(parts) + suffix


def _labels(items: JSON) -> str:
    if not isinstance(items, list):
        return ""
    return ", ".join(str(i.get("label")) if isinstance(i, dict) else quote(i) for i in items)


def _titles(items: JSON) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(item.get("title")) for item in items if isinstance(item, dict)]


def _compact(value: JSON, limit: int = 100) -> str:
    return cut(json.dumps(value, ensure_ascii=False, separators=(",", ":")), limit)


# -- failures --


def render_failure(
    exc: FlowaiError, conversation: Conversation, transcript: Transcript | None, *, seed: int | None = None
) -> str:
    """The failure report: where, the spec's lines, what was expected and what came, then the transcript.

    ``seed`` is the embedded emulator's, when it answered: the same seed gives the same replies.
    """
    lines: list[str] = []
    turn = _turn(conversation, getattr(exc, "turn", None))
    if isinstance(exc, TurnFailed):
        span = exc.span or (turn.span if turn else conversation.span)
        lines.append(f"{span}: {_turn_label(turn, conversation)} failed: {exc.reason}")
        if turn is not None:
            lines.extend(source_excerpt(turn, span))
        if exc.detail:
            lines.extend(exc.detail.splitlines())
        elif exc.mismatches:
            lines.extend(f"  {m}" for m in exc.mismatches)
    elif isinstance(exc, SpecRunError):
        # The spec author's mistake, found as the turn ran: said as a spec error, not as the bot's failure.
        span = exc.span or (turn.span if turn else conversation.span)
        lines.append(f"{span}: spec error in {_turn_label(turn, conversation)}: {exc.message}")
        if turn is not None:
            lines.extend(source_excerpt(turn, span))
        if exc.hint:
            lines.append(f"  hint: {exc.hint}")
    elif isinstance(exc, ConfigurationError):
        lines.append(f"{conversation.span}: configuration error: {exc.message}")
        hint = exc.hint or CREDENTIAL_HINTS.get(exc.credential or "")
        if hint:
            lines.append(f"  hint: {hint}")
    elif isinstance(exc, TransportError):
        span = turn.span if turn else conversation.span
        lines.append(f"{span}: {_turn_label(turn, conversation)} failed: transport error: {exc}")
        if exc.credential in CREDENTIAL_HINTS:
            lines.append(f"  hint: {CREDENTIAL_HINTS[exc.credential]}")
        if turn is not None:
            lines.extend(source_excerpt(turn, span))
    else:
        lines.append(f"{conversation.span}: conversation {conversation.name!r} failed: {exc}")
    if seed is not None and not isinstance(exc, ConfigurationError):
        lines.append(
            f"  the embedded emulator ran with seed {seed}:"
            f" --flowai-emulator-seed {seed} gives the same replies"
        )
    if transcript is not None:
        lines.append("")
        lines.append(render_transcript(transcript))
    return "\n".join(lines)


def failure_row(
    exc: FlowaiError, conversation: Conversation, transcript: Transcript | None = None
) -> dict[str, str]:
    """A failure in short strings for the summary table: where, which conversation and turn, what was
    expected and what came closest (read from the lines the turn matcher wrote; else the turn's first
    reply in the transcript; else the reason)."""
    turn = _turn(conversation, getattr(exc, "turn", None))
    own_span = exc.span if isinstance(exc, TurnFailed | SpecRunError) else None
    span = own_span or (turn.span if turn else conversation.span)
    expected = closest = ""
    detail = exc.detail if isinstance(exc, TurnFailed) else None
    for line in (detail or "").splitlines():
        text = line.strip()
        if text.startswith("expected: ") and not expected:
            expected = text.removeprefix("expected: ")
        elif text.startswith("closest: ") and not closest:
            closest = text.removeprefix("closest: ")
            bubble = _BUBBLE.fullmatch(closest)
            closest = bubble.group(1) if bubble else closest
        elif text == "no reply arrived" and not closest:
            closest = "no reply"
    reason = exc.reason if isinstance(exc, TurnFailed) else str(exc).split("\n", 1)[0]
    if isinstance(exc, SpecRunError):
        reason = f"spec error: {exc.message}"
    elif isinstance(exc, ConfigurationError):
        reason = f"configuration error: {exc.message}"
    if not expected and reason.startswith("expected silence"):
        expected = "silence"
    if not closest and transcript is not None and turn is not None:
        replies = [e for e in transcript.events if isinstance(e, Received) and e.turn == turn.index]
        closest = describe_payload(replies[0].payload)[0] if replies else ""
    return {
        "location": f"{display_path(span.path)}:{span.line}",
        "conversation": conversation.name,
        "turn": str(turn.index) if turn else "-",
        "expected": expected or "-",
        "closest": closest or reason,
    }


_BUBBLE = re.compile(r"bubble #\d+ \((.*)\)")
SUMMARY_COLUMNS = (
    ("location", "spec"),
    ("conversation", "conversation"),
    ("turn", "turn"),
    ("expected", "expected"),
    ("closest", "closest actual"),
)


def render_failure_table(rows: Sequence[dict[str, str]], *, width: int) -> list[str]:
    """One line per failed spec, its columns aligned, every line cut to ``width``.

    Where, which and the turn keep their width (up to a cap); expected and closest share what is left.
    """
    caps = {"location": 50, "conversation": 30, "turn": 4}
    widths = {
        key: min(max(len(title), *(len(_one_line(row.get(key, ""))) for row in rows)), caps[key])
        for key, title in SUMMARY_COLUMNS
        if key in caps
    }
    rest = max(width - sum(widths.values()) - 2 * (len(SUMMARY_COLUMNS) - 1), 20)
    expected_width = max(min(rest // 2, max(len(_one_line(r.get("expected", ""))) for r in rows)), 8)
    widths["expected"] = expected_width
    widths["closest"] = max(rest - expected_width, 8)
    lines = []
    for row in [{key: title for key, title in SUMMARY_COLUMNS}, *rows]:
        cells = [_cell(_one_line(row.get(key, "")), widths[key]) for key, _ in SUMMARY_COLUMNS]
        lines.append("  ".join(cells).rstrip()[:width])
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str, width: int) -> str:
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def _turn(conversation: Conversation, index: int | None) -> Turn | None:
    if index is None:
        return None
    for turn in conversation.turns:
        if turn.index == index:
            return turn
    return None


def _turn_label(turn: Turn | None, conversation: Conversation) -> str:
    if turn is None:
        return f"conversation {conversation.name!r}"
    return f"turn {turn.index} of {conversation.name!r}"


def source_excerpt(turn: Turn, focus: Span) -> list[str]:
    """The turn's lines from the spec file, numbered, with `>` on the line that failed."""
    try:
        text = Path(turn.span.path).read_text(encoding="utf-8")
    except OSError:
        return []
    source = text.splitlines()
    first = turn.span.line
    last = min(max(turn.end_line, first), len(source), first + _EXCERPT_LINES - 1)
    width = len(str(last))
    out = []
    for number in range(first, last + 1):
        mark = ">" if number == focus.line else " "
        out.append(f"{mark} {number:>{width}} | {source[number - 1]}")
    if turn.end_line > last:
        out.append(f"  {'':>{width}} | … ({turn.end_line - last} more lines)")
    return out


class _Writer(Protocol):
    def line(self, s: str = "") -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Crash:
    """A failure in one line: what `--tb=line`, the short summary and JUnit's `message` show."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return self.message  # the headline starts with the spec's file:line already


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureRepr:
    """A spec failure as pytest prints it: the whole report, plus its headline as the `reprcrash`.

    Without a `reprcrash` pytest sums a text report up by its first 50 characters.
    """

    text: str
    reprcrash: Crash
    one_line: bool

    def toterminal(self, tw: _Writer) -> None:
        if self.one_line:
            return  # pytest prints the reprcrash line itself
        for line in self.text.split("\n"):
            tw.line(line)

    def __str__(self) -> str:
        # What xdist sends to the controller and JUnit stores as the failure's body.
        return self.reprcrash.message if self.one_line else self.text


__all__ = [
    "SUMMARY_COLUMNS",
    "Crash",
    "FailureRepr",
    "describe_payload",
    "describe_response",
    "failure_row",
    "redact",
    "render_failure",
    "render_failure_table",
    "render_transcript",
    "source_excerpt",
]
