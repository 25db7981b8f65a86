"""Text a person reads: transcripts, failure reports, secret redaction, and the terminal summary section.

The render functions are pure; only `FlowaiReporter` talks to pytest.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.coverage import (
    Reached,
    StepHit,
    coverage_report,
    render_html,
    render_table,
    under,
    unknown_steps,
)
from pytest_flowai.errors import (
    ConfigurationError,
    FlowaiError,
    Span,
    SpecError,
    SpecRunError,
    TransportError,
    TurnFailed,
    cut,
    display_path,
    quote,
)
from pytest_flowai.options import CoverageOptions
from pytest_flowai.preflight import CREDENTIAL_HINTS
from pytest_flowai.secret import Secret
from pytest_flowai.secret import redact as redact_all
from pytest_flowai.spec.model import Conversation, Turn
from pytest_flowai.transcript import Noted, Received, Sent, Transcript

if TYPE_CHECKING:
    from pytest_flowai import html_report

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


# -- terminal --


class FlowaiReporter:
    """Prints the transcripts of passing conversations under -v, and the target in the header."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.passed: list[tuple[str, str]] = []
        self.reruns = RerunTracker()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self._name_junit_class(report)
        self.reruns.add(report)
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
        if self.config.getoption("flowai_flaky_report", False) and not _is_worker(self.config):
            # The progress line ends first, or the first line below the title would be blank.
            terminalreporter.ensure_newline()
            terminalreporter.section("flowai flaky specs (passed only after a rerun)")
            for line in self.reruns.lines():
                terminalreporter.write_line(line)
        if self.config.get_verbosity() < 1 or not self.passed:
            return
        terminalreporter.section("flowai transcripts (passed)")
        for nodeid, text in self.passed:
            terminalreporter.write_line(f"{nodeid}")
            for line in text.splitlines():
                terminalreporter.write_line(f"  {line}")


def _is_worker(config: pytest.Config) -> bool:
    """True in a pytest-xdist worker: the controller aggregates and reports."""
    return hasattr(config, "workerinput")


# -- flaky specs (reruns) --


class RerunTracker:
    """Remembers the attempts of rerun specs (pytest-rerunfailures), to list those that passed only after
    a rerun (`--flowai-flaky-report`)."""

    def __init__(self) -> None:
        self.failed_attempts: dict[str, list[str]] = {}
        self.flaky: list[tuple[str, list[str]]] = []

    def add(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        # pytest-rerunfailures marks a failed attempt that it runs again with this outcome.
        if str(report.outcome) == "rerun":
            row = getattr(report, "flowai_failure", None)
            why = row.get("headline", "") if isinstance(row, dict) else ""
            self.failed_attempts.setdefault(report.nodeid, []).append(str(why) or "failed")
        elif report.passed and report.nodeid in self.failed_attempts:
            self.flaky.append((report.nodeid, self.failed_attempts[report.nodeid]))

    def lines(self) -> list[str]:
        if not self.flaky:
            return ["no spec needed a rerun to pass"]
        out = []
        for nodeid, failures in self.flaky:
            out.append(f"{nodeid}: passed on attempt {len(failures) + 1}")
            out.extend(f"  attempt {n}: {why}" for n, why in enumerate(failures, start=1))
        return out


# -- failure summary --


class FailureSummary:
    """One line per failed spec, printed just before pytest's short test summary (plugin `flowai-summary`)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rows: list[dict[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        row = getattr(report, "flowai_failure", None)
        if report.when == "call" and report.outcome == "failed" and isinstance(row, dict):
            self.rows.append({str(k): str(v) for k, v in row.items()})

    # Last of the summary hooks: pytest's own wrapper prints the short test summary right after.
    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.rows:
            return
        count = len(self.rows)
        # The progress line ends first, or the first line below the title would be blank.
        terminalreporter.ensure_newline()
        terminalreporter.section(f"flowai failures ({count} spec{'s' * (count != 1)})")
        # Sorted by place, so a run under pytest-xdist lists them as a run in one process does.
        rows = sorted(self.rows, key=_place)
        for line in render_failure_table(rows, width=self.config.get_terminal_writer().fullwidth):
            terminalreporter.write_line(line)


def _place(row: dict[str, str]) -> tuple[str, int]:
    path, _, line = row.get("location", "").rpartition(":")
    return path, int(line) if line.isdigit() else 0


# -- coverage --


class CoverageCollector:
    """Gathers the steps each test's replies came from (on the controller under xdist: the reports carry
    them), then reports the bot's flow coverage and gates the run on `--flowai-cov-fail-under`."""

    def __init__(self, config: pytest.Config, options: CoverageOptions) -> None:
        self.config = config
        self.options = options
        self.reached = Reached()
        self._result: JSONObject | None = None
        self._flows: list[JSONObject] = []
        self._source = ""
        self.error: str | None = None
        self.written: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Every attempt counts (a rerun's failed first try reached its steps too).
        hits = getattr(report, "flowai_steps", None)
        if report.when == "call" and isinstance(hits, list):
            found = (StepHit.from_json(hit) for hit in hits)
            self.reached.add(report.nodeid, (hit for hit in found if hit is not None))

    def result(self) -> JSONObject | None:
        """The coverage dict (see `coverage.coverage_report`), computed once; None when it cannot be."""
        if self._result is None and self.error is None and not _is_worker(self.config):
            from pytest_flowai.botflows import coverage_flows
            from pytest_flowai.nodes import OPTIONS

            options = self.config.stash.get(OPTIONS, None)
            if options is None:
                return None
            try:
                self._source, self._flows = coverage_flows(self.options, options)
            except ConfigurationError as exc:
                self.error = str(exc)
                return None
            self._result = coverage_report(self._flows, self.reached.by_step, ignore=self.options.ignore)
        return self._result

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if _is_worker(self.config) or self.config.option.collectonly:
            return
        result = self.result()
        if result is not None:
            for kind, path in self.options.reports:
                if path is None:
                    continue
                target = self.config.invocation_params.dir / path
                target.parent.mkdir(parents=True, exist_ok=True)
                text = json.dumps(result, indent=2) + "\n" if kind == "json" else render_html(result)
                target.write_text(text, encoding="utf-8")
                self.written.append(f"{kind} coverage report written to {path}")
        if self.verdict() and session.exitstatus == 0:
            session.exitstatus = 1

    def verdict(self) -> str | None:
        """The line that fails the run: under the threshold, or no coverage to compare with it."""
        threshold = self.options.fail_under
        if threshold is None or self.config.option.collectonly:
            return None
        result = self._result
        if result is None:
            return f"flowai coverage could not be measured, so the required {threshold:g}% is not met"
        if under(result, threshold):
            total = result["total"]
            shown = total.get("percent") if isinstance(total, dict) else 0
            return f"flowai coverage {shown}% is under the required {threshold:g}%"
        return None

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if _is_worker(self.config) or self.config.option.collectonly:
            return
        result = self._result
        # The progress line ends first, or the first line below the title would be blank.
        terminalreporter.ensure_newline()
        terminalreporter.section("flowai coverage")
        if result is None:
            terminalreporter.write_line(f"ERROR: {self.error or 'coverage was not measured'}", red=True)
        else:
            total = result["total"]
            if isinstance(total, dict):
                terminalreporter.write_line(
                    f"{total.get('reached')} of {total.get('steps')} steps reached ({total.get('percent')}%),"
                    f" flows from {self._source}"
                )
            if any(kind == "term" for kind, _ in self.options.reports):
                for line in render_table(result, width=self.config.get_terminal_writer().fullwidth):
                    terminalreporter.write_line(line)
            strangers = unknown_steps(self._flows, self.reached)
            if strangers:
                names = ", ".join(f"{hit.flow_title} / {hit.step_title}" for hit in strangers[:3])
                terminalreporter.write_line(
                    f"note: replies came from {len(strangers)} step(s) that these flows do not have: {names}"
                )
        for line in self.written:
            terminalreporter.write_line(line)
        verdict = self.verdict()
        if verdict:
            terminalreporter.write_line(f"FAIL: {verdict}", red=True, bold=True)


COVERAGE = pytest.StashKey[CoverageCollector]()


def coverage_result(config: pytest.Config) -> JSONObject | None:
    """The run's coverage dict, for other reports (the HTML report): None when coverage is off, on an xdist
    worker, or when the bot's flows could not be read. Call it from pytest_sessionfinish or later."""
    collector = config.stash.get(COVERAGE, None)
    return collector.result() if collector is not None else None


def _junit_xml(config: pytest.Config) -> Any:
    """pytest's JUnit writer when --junitxml is on, else None; it has no public handle, so read it softly."""
    junitxml = config.pluginmanager.getplugin("junitxml")
    key = getattr(junitxml, "xml_key", None)
    return config.stash.get(key, None) if key is not None else None


def header_lines(target: str, transport: str, spec_globs: Sequence[str]) -> list[str]:
    """The report header: where specs are sent and how."""
    return [f"flowai: target {target}, transport {transport}, specs {' '.join(spec_globs)}"]


# -- HTML report --

# Set on every test report while the HTML report or pytest-html is on: what the page needs, as JSON values.
# A report attribute travels from xdist workers to the controller with the report (pytest serialises a
# report's attributes) and, unlike a user property, stays out of JUnit XML.
HTML_ATTRIBUTE = "flowai_html"


def attach_html_data(
    item: pytest.Item, call: pytest.CallInfo[None], test_report: pytest.TestReport, *, pytest_html: bool
) -> None:
    """Put the item's marks, and in the call phase its conversations and failure, on its report.

    With ``pytest_html``, the conversations also become an extra of pytest-html's row.
    """
    from pytest_flowai import (
        html_report,  # Jinja2-backed: loaded only for a report
        nodes,
    )
    from pytest_flowai.fixtures import CHATS

    marks: list[JSON] = [*sorted({mark.name for mark in item.iter_markers()})]
    data: JSONObject = {"marks": marks}
    if call.when == "call":
        session = item.config.stash.get(nodes.SESSION, None)
        secrets = session.secrets() if session is not None else []
        failure = None
        exc = call.excinfo.value if call.excinfo is not None else None
        if (
            isinstance(item, nodes.FlowItem)
            and isinstance(exc, FlowaiError)
            and (not isinstance(exc, SpecError) or isinstance(exc, SpecRunError))
        ):
            seed = session.options.emulator_seed if session is not None and session.embedded else None
            # The report without its transcript: the page shows the conversation itself.
            failure = redact(render_failure(exc, item.conversation, None, seed=seed), secrets)
        transcripts = [chat.transcript for chat in item.stash.get(CHATS, [])]
        spec_transcript = item.stash.get(nodes.TRANSCRIPT, None)
        if spec_transcript is not None:
            transcripts.insert(0, spec_transcript)
        chats: list[JSON] = [
            html_report.chat_data(t, secrets, failure if t is spec_transcript else None) for t in transcripts
        ]
        data["chats"] = chats
        if chats and pytest_html:
            _add_pytest_html_extra(test_report, [c for c in chats if isinstance(c, dict)], secrets)
    setattr(test_report, HTML_ATTRIBUTE, data)


def _add_pytest_html_extra(
    test_report: pytest.TestReport, chats: list[JSONObject], secrets: list[Secret]
) -> None:
    """pytest-html's row of this test gets the same chat (its `extras` API)."""
    from pytest_html import extras  # type: ignore[import-untyped]

    from pytest_flowai import html_report  # Jinja2-backed: loaded only for a report

    fragment = html_report.render_chats(chats, secrets=secrets)
    # pytest-html reads `extras` off the report; TestReport takes any extra attribute.
    setattr(test_report, "extras", [*getattr(test_report, "extras", []), extras.html(fragment)])  # noqa: B010


class HtmlReporter:
    """Collects every test report (on the xdist controller: all workers') and writes the page at the end."""

    def __init__(self, config: pytest.Config, path: Path) -> None:
        self.config = config
        self.path = path
        self.rows: dict[str, html_report.Row] = {}
        self.secrets: set[Secret] = set()
        self.started = time.monotonic()
        self.written: Path | None = None

    def pytest_sessionstart(self) -> None:
        self.started = time.monotonic()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            row = self._row(report.nodeid or str(report.fspath))
            row.outcome, row.failure = "error", report.longreprtext

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from pytest_flowai import nodes

        session = self.config.stash.get(nodes.SESSION, None)
        if session is not None:
            self.secrets.update(session.secrets())  # gone by sessionfinish: the session closes first
        row = self._row(report.nodeid)
        data = getattr(report, HTML_ATTRIBUTE, None)
        data = data if isinstance(data, dict) else {}
        marks = data.get("marks")
        if isinstance(marks, list):
            row.marks = [m for m in marks if isinstance(m, str) and m != "flowai"]
        if str(report.outcome) == "rerun":
            # pytest-rerunfailures' earlier tries: counted and kept; the test's own row shows the last try.
            row.reruns += 1
            tried = data.get("chats")
            row.attempts.append([c for c in tried if isinstance(c, dict)] if isinstance(tried, list) else [])
            row.chats, row.failure, row.outcome, row.duration = [], None, "passed", 0.0
            return
        row.duration += report.duration
        chats = data.get("chats")
        if report.when == "call" and isinstance(chats, list):
            row.chats = [c for c in chats if isinstance(c, dict)]
        if report.failed:
            if report.when == "call":
                row.outcome = "failed"
            elif row.outcome != "failed":
                row.outcome = "error"
            if not any(c.get("failure") for c in row.chats):
                row.failure = "\n\n".join(f for f in (row.failure, report.longreprtext) if f)
        elif report.skipped:
            row.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
            longrepr = report.longrepr
            if isinstance(longrepr, tuple) and len(longrepr) == 3:
                row.skip_reason = str(longrepr[2])
        elif report.when == "call" and hasattr(report, "wasxfail"):
            row.outcome = "xpassed"

    def _row(self, nodeid: str) -> html_report.Row:
        from pytest_flowai import html_report  # Jinja2-backed: loaded only for a report

        row = self.rows.get(nodeid)
        if row is None:
            row = self.rows[nodeid] = html_report.Row(nodeid=nodeid)
        return row

    def pytest_sessionfinish(self) -> None:
        from pytest_flowai import (
            html_report,  # Jinja2-backed: loaded only for a report
            nodes,
        )

        options = self.config.stash.get(nodes.OPTIONS, None)
        if options is not None and options.api_key:
            self.secrets.add(options.api_key)
        run = html_report.RunInfo(
            target=options.target if options else "",
            transport=options.transport if options else "",
            seed=options.emulator_seed if options and not options.url else None,
            duration=time.monotonic() - self.started,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        )
        page = html_report.render_page(
            list(self.rows.values()),
            run,
            coverage=coverage_result(self.config),
            secrets=list(self.secrets),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A bot may send lone surrogates (valid JSON escapes, not UTF-8): written as escapes, not a crash.
        self.path.write_text(page, encoding="utf-8", errors="backslashreplace")
        self.written = self.path

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.written is not None:
            terminalreporter.write_sep("-", f"flowai HTML report: {self.written}")


class RecordWriter:
    """Record mode, on the process that sees every report (the xdist controller, or the only process):
    gathers the replies the reports carry and writes each spec file once, at the end of the run.

    Writing here, not on the workers, means two workers that ran conversations of one file never write it
    at the same time, and a file is read and written once however many of its conversations were recorded.
    """

    def __init__(self) -> None:
        self._records: dict[str, JSONObject] = {}
        self._lines: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "flowai_record", None)
        if report.when == "call" and isinstance(data, dict):
            self._records[report.nodeid] = data  # a rerun's report replaces the earlier attempt's

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from pytest_flowai.record.capture import edits_from
        from pytest_flowai.record.yamledit import write_records

        for path, edits in sorted(edits_from(self._records.values()).items()):
            result = write_records(path, edits)
            shown = session.config.invocation_params.dir
            name = str(path.relative_to(shown)) if path.is_relative_to(shown) else str(path)
            if result.changed:
                extra = f", {result.placeholders} placeholder(s)" if result.placeholders else ""
                self._lines.append(f"{name}: recorded {result.written} turn(s){extra}")
            self._lines.extend(f"{name}: {note}" for note in result.notes)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.section("flowai record")
        for line in self._lines or ["nothing to record: every turn has its expectations"]:
            terminalreporter.write_line(line)


__all__ = [
    "COVERAGE",
    "HTML_ATTRIBUTE",
    "CoverageCollector",
    "FailureSummary",
    "FlowaiReporter",
    "HtmlReporter",
    "RecordWriter",
    "RerunTracker",
    "attach_html_data",
    "coverage_result",
    "describe_payload",
    "describe_response",
    "display_path",
    "failure_row",
    "header_lines",
    "redact",
    "render_failure",
    "render_failure_table",
    "render_transcript",
    "source_excerpt",
]
