"""Text a person reads: transcripts, failure reports, secret redaction, and the terminal summary section.

The render functions are pure; only `FlowaiReporter` talks to pytest.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import FlowaiError, Span, TransportError, TurnFailed, cut, display_path, quote
from pytest_flowai.spec.model import Conversation, Turn
from pytest_flowai.transcript import Noted, Received, Sent, Transcript
from pytest_flowai.transports.base import redact as redact_secret

# Which setting gives the server the credential it asked for.
CREDENTIAL_HINTS = {
    "client id": "set flowai_client_id in the ini file or pass --flowai-client-id",
    "API key": "set the FLOWAI_API_KEY environment variable, or pass --flowai-api-key",
}
_EXCERPT_LINES = 12


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text`; the longest first, so a key containing another is fully hidden."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = redact_secret(text, secret)
    return text


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
    elif isinstance(exc, TransportError):
        span = turn.span if turn else conversation.span
        lines.append(f"{span}: {_turn_label(turn, conversation)} failed: transport error: {exc}")
        if exc.credential in CREDENTIAL_HINTS:
            lines.append(f"  hint: {CREDENTIAL_HINTS[exc.credential]}")
        if turn is not None:
            lines.extend(source_excerpt(turn, span))
    else:
        lines.append(f"{conversation.span}: conversation {conversation.name!r} failed: {exc}")
    if seed is not None:
        lines.append(
            f"  the embedded emulator ran with seed {seed}:"
            f" --flowai-emulator-seed {seed} gives the same replies"
        )
    if transcript is not None:
        lines.append("")
        lines.append(render_transcript(transcript))
    return "\n".join(lines)


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


# -- terminal --


class FlowaiReporter:
    """Prints the transcripts of passing conversations under -v, and the target in the header."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.passed: list[tuple[str, str]] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self._name_junit_class(report)
        if report.when != "call" or not report.passed:
            return
        for key, text in report.user_properties:
            if key == "flowai_transcript" and isinstance(text, str):
                self.passed.append((report.nodeid, text))

    def _name_junit_class(self, report: pytest.TestReport) -> None:
        """JUnit's classname of a spec item: its file as a dotted path without the spec suffix.

        pytest would make `example_specs.test_menu.flowai.yaml` of it, which CI viewers read as a class
        `yaml` in a package `example_specs.test_menu.flowai`; `example_specs.test_menu` groups as expected.
        """
        path, _, _ = report.nodeid.partition("::")
        patterns: list[str] = self.config.getini("flowai_spec_glob")
        if not any(fnmatch.fnmatch(Path(path).name, pattern) for pattern in patterns):
            return
        xml = _junit_xml(self.config)
        if xml is None:
            return
        stem = path
        for suffix in (".yaml", ".yml", ".flowai"):
            stem = stem.removesuffix(suffix)
        classname = stem.replace("/", ".")
        prefix = getattr(xml, "prefix", None)
        # Attributes set before pytest records the report survive it (junitxml keeps "user" attributes).
        # Keyed by the report, as junitxml keys it (node id and xdist worker).
        xml.node_reporter(report).add_attribute("classname", f"{prefix}.{classname}" if prefix else classname)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.config.get_verbosity() < 1 or not self.passed:
            return
        terminalreporter.section("flowai transcripts (passed)")
        for nodeid, text in self.passed:
            terminalreporter.write_line(f"{nodeid}")
            for line in text.splitlines():
                terminalreporter.write_line(f"  {line}")


def _junit_xml(config: pytest.Config) -> Any:
    """pytest's JUnit writer when --junitxml is on, else None; it has no public handle, so read it softly."""
    junitxml = config.pluginmanager.getplugin("junitxml")
    key = getattr(junitxml, "xml_key", None)
    return config.stash.get(key, None) if key is not None else None


def header_lines(target: str, transport: str, spec_globs: Sequence[str]) -> list[str]:
    """The report header: where specs are sent and how."""
    return [f"flowai: target {target}, transport {transport}, specs {' '.join(spec_globs)}"]


__all__ = [
    "FlowaiReporter",
    "describe_payload",
    "describe_response",
    "display_path",
    "header_lines",
    "redact",
    "render_failure",
    "render_transcript",
    "source_excerpt",
]
