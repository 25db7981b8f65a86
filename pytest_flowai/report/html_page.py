"""The HTML report: a run's tests and conversations as one self-contained page, rendered with Jinja2.

Pure: data in, HTML text out. Imports no pytest (the wiring is `html_reporter`) and loads Jinja2 on first use;
the template's view models are `html_views`, the templates and their CSS and JS are in `templates/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.report.html_views import chat_view, coverage_view, row_view
from pytest_flowai.secret import Secret
from pytest_flowai.secret import redact as redact_secret
from pytest_flowai.transcript import Noted, Received, Sent, Transcript, TurnEnded

if TYPE_CHECKING:
    import jinja2

INSTALL_HINT = "pip install pytest-flowai[html]"
# Outcomes in the order the summary and the filters list them.
OUTCOMES = ("failed", "error", "passed", "skipped", "xfailed", "xpassed", "rerun")
# C0 and C1 controls but newline and tab: shown as \xNN, as node ids show them (HTML cannot show them).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class JinjaMissing(ImportError):
    """Jinja2 is not installed: the `html` extra is needed for the HTML report."""

    def __str__(self) -> str:
        return f"the flowai HTML report needs Jinja2: {INSTALL_HINT}"


def check_available() -> None:
    """Raise JinjaMissing when Jinja2 cannot be imported."""
    try:
        import jinja2  # noqa: F401
    except ImportError as exc:
        raise JinjaMissing() from exc


# -- data: what travels from the test process to the page (JSON values only) --


def chat_data(
    transcript: Transcript, secrets: Iterable[Secret | str], failure: str | None = None
) -> JSONObject:
    """A transcript as JSON for the page, every string redacted; `failure` is the failed turn's report."""
    events: list[JSON] = []
    for event in transcript.events:
        at = round(event.at - transcript.started, 3)
        if isinstance(event, Sent):
            events.append({"kind": "sent", "turn": event.turn, "at": at, "text": event.text})
        elif isinstance(event, Received):
            events.append({"kind": "received", "turn": event.turn, "at": at, "payload": event.payload})
        elif isinstance(event, Noted):
            events.append({"kind": "noted", "turn": event.turn, "at": at, "text": event.text})
        elif isinstance(event, TurnEnded):
            events.append({"kind": "ended", "turn": event.turn, "at": at, "ok": event.ok})
    data: JSONObject = {
        "name": transcript.name,
        "transport": transcript.transport,
        "threadId": transcript.thread_id,
        "failedTurn": transcript.failed_turn,
        "failure": failure,
        "events": events,
    }
    redacted: JSONObject = redact_json(data, list(secrets))
    return redacted


def redact_json(value: Any, secrets: Sequence[Secret | str]) -> Any:
    """`value` with every secret blanked in every string (keys included), see ``secret.redact``."""

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return redact_secret(item, secrets)
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        return item

    return walk(value)


@dataclass(slots=True, kw_only=True)
class Row:
    """One test, a row of the page: outcome, time, marks, its conversations and its failure text."""

    nodeid: str
    outcome: str = "passed"
    duration: float = 0.0
    marks: list[str] = field(default_factory=list)
    chats: list[JSONObject] = field(default_factory=list)
    failure: str | None = None
    reruns: int = 0
    skip_reason: str | None = None
    # pytest-rerunfailures' earlier tries, oldest first: each try's conversations (their failures inside).
    attempts: list[list[JSONObject]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """The report header: where the specs went and how, and the run's totals."""

    target: str
    transport: str
    seed: int | None
    duration: float
    generated: str
    title: str = "pytest-flowai report"


# -- rendering --


def render_page(
    tests: Sequence[Row],
    run: RunInfo,
    *,
    coverage: Mapping[str, Any] | None = None,
    secrets: Sequence[Secret | str] = (),
) -> str:
    """The whole page, CSS and JS inline, every text HTML-escaped and redacted."""
    env = _environment(secrets)
    entries = sorted(tests, key=lambda t: 0 if t.outcome in ("failed", "error") else 1)
    views = [row_view(entry) for entry in entries]
    counts = {outcome: 0 for outcome in OUTCOMES}
    for entry in tests:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        counts["rerun"] += entry.reruns
    marks = sorted({mark for entry in tests for mark in entry.marks})
    transports = sorted({str(chat.get("transport")) for entry in tests for chat in entry.chats})
    template = env.get_template("report.html.j2")
    return template.render(
        run=run,
        tests=views,
        counts=counts,
        statuses=[o for o in OUTCOMES if o != "rerun" and (counts[o] or o in ("failed", "passed"))],
        marks=marks,
        transports=transports,
        coverage=coverage_view(coverage),
        css=_asset("chat.css") + _asset("report.css"),
        js=_asset("report.js"),
    )


def render_chats(chats: Sequence[JSONObject], *, secrets: Sequence[Secret | str] = ()) -> str:
    """The conversations of one test as an HTML fragment with its own CSS (for pytest-html's extras)."""
    env = _environment(secrets)
    return env.get_template("fragment.html.j2").render(
        chats=[chat_view(chat, None) for chat in chats], css=_asset("chat.css")
    )


def _environment(secrets: Sequence[Secret | str]) -> jinja2.Environment:
    try:
        import jinja2
        import markupsafe
    except ImportError as exc:
        raise JinjaMissing() from exc

    def finalize(value: object) -> object:
        # Every {{ }} passes here before escaping: no secret and no control character reaches the page.
        if value is None or isinstance(value, jinja2.runtime.Undefined):
            return ""
        if isinstance(value, markupsafe.Markup):
            return value  # our own inline CSS and JS
        text = redact_secret(str(value), secrets)
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_flowai.report", "templates"),
        autoescape=True,
        finalize=finalize,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seconds"] = _seconds
    return env


def _asset(name: str) -> Any:
    from importlib import resources  # on first use: importing it costs every pytest run ~15 ms

    from markupsafe import Markup

    text = resources.files("pytest_flowai.report").joinpath("templates", name).read_text(encoding="utf-8")
    # Inside <style>/<script> only a closing tag could end the block; our assets have none.
    return Markup(text)


def _seconds(value: object) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{value:.2f}s" if value < 60 else f"{int(value // 60)}m {value % 60:04.1f}s"


__all__ = [
    "INSTALL_HINT",
    "JinjaMissing",
    "Row",
    "RunInfo",
    "chat_data",
    "check_available",
    "redact_json",
    "render_chats",
    "render_page",
]
