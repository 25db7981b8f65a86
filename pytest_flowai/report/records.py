"""Record mode's writer (`--flowai-record`): gathers the replies the test reports carry and writes each spec
file once, at the end of the run. What to write, and how, is `pytest_flowai.record`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_flowai._json import JSONObject

if TYPE_CHECKING:
    import pytest


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


__all__ = ["RecordWriter"]
