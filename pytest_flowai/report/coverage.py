"""The coverage plugin (`--flowai-coverage`): gathers the steps each test's replies came from, writes the
coverage reports and gates the run. What coverage is, and its table and HTML, are `pytest_flowai.coverage`.
"""

from __future__ import annotations

import json

import pytest

from pytest_flowai._json import JSONObject
from pytest_flowai.coverage import (
    Reached,
    StepHit,
    coverage_report,
    render_html,
    render_table,
    under,
    unknown_steps,
)
from pytest_flowai.errors import ConfigurationError
from pytest_flowai.nodes import COVERAGE, OPTIONS
from pytest_flowai.options import CoverageOptions
from pytest_flowai.report.terminal import is_worker


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
        if self._result is None and self.error is None and not is_worker(self.config):
            from pytest_flowai.botflows import coverage_flows

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
        if is_worker(self.config) or self.config.option.collectonly:
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
        if is_worker(self.config) or self.config.option.collectonly:
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


def coverage_result(config: pytest.Config) -> JSONObject | None:
    """The run's coverage dict, for other reports (the HTML report): None when coverage is off, on an xdist
    worker, or when the bot's flows could not be read. Call it from pytest_sessionfinish or later."""
    collector = config.stash.get(COVERAGE, None)
    return collector.result() if collector is not None else None


__all__ = ["COVERAGE", "CoverageCollector", "coverage_result"]
