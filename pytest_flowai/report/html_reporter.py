"""The HTML report's pytest side: each test report carries its page data (`attach_html_data`, also
pytest-html's extras), and `HtmlReporter` collects them and writes the page (`html_page`) at the end.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import FlowaiError, SpecError, SpecRunError
from pytest_flowai.report.coverage import coverage_result
from pytest_flowai.report.text import redact, render_failure
from pytest_flowai.secret import Secret

if TYPE_CHECKING:
    from pytest_flowai.report import html_page

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
    from pytest_flowai import nodes
    from pytest_flowai.fixtures import CHATS
    from pytest_flowai.report import html_page  # loaded only for a report

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
            html_page.chat_data(t, secrets, failure if t is spec_transcript else None) for t in transcripts
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

    from pytest_flowai.report import html_page  # loaded only for a report

    fragment = html_page.render_chats(chats, secrets=secrets)
    # pytest-html reads `extras` off the report; TestReport takes any extra attribute.
    setattr(test_report, "extras", [*getattr(test_report, "extras", []), extras.html(fragment)])  # noqa: B010


class HtmlReporter:
    """Collects every test report (on the xdist controller: all workers') and writes the page at the end."""

    def __init__(self, config: pytest.Config, path: Path) -> None:
        self.config = config
        self.path = path
        self.rows: dict[str, html_page.Row] = {}
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

    def _row(self, nodeid: str) -> html_page.Row:
        from pytest_flowai.report import html_page  # loaded only for a report

        row = self.rows.get(nodeid)
        if row is None:
            row = self.rows[nodeid] = html_page.Row(nodeid=nodeid)
        return row

    def pytest_sessionfinish(self) -> None:
        from pytest_flowai import nodes
        from pytest_flowai.report import html_page  # loaded only for a report

        options = self.config.stash.get(nodes.OPTIONS, None)
        if options is not None and options.api_key:
            self.secrets.add(options.api_key)
        run = html_page.RunInfo(
            target=options.target if options else "",
            transport=options.transport if options else "",
            seed=options.emulator_seed if options and not options.url else None,
            duration=time.monotonic() - self.started,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        )
        page = html_page.render_page(
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


__all__ = ["HTML_ATTRIBUTE", "HtmlReporter", "attach_html_data"]
