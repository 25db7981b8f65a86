"""The flowai sections of pytest's terminal summary (passing transcripts under -v, flaky specs, the failure
table), the header line, and the JUnit class name of spec items.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_flowai.report.reruns import RerunTracker


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
        if self.config.getoption("flowai_flaky_report", False) and not is_worker(self.config):
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


def is_worker(config: pytest.Config) -> bool:
    """True in a pytest-xdist worker: the controller aggregates and reports."""
    return hasattr(config, "workerinput")


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
        # Only once a spec failed: the plugin registers this class in every run, spec files or not.
        from pytest_flowai.report.text import render_failure_table

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


def _junit_xml(config: pytest.Config) -> Any:
    """pytest's JUnit writer when --junitxml is on, else None; it has no public handle, so read it softly."""
    junitxml = config.pluginmanager.getplugin("junitxml")
    key = getattr(junitxml, "xml_key", None)
    return config.stash.get(key, None) if key is not None else None


def header_lines(
    target: str, transport: str, spec_globs: Sequence[str], *, concurrency: int, dist: str
) -> list[str]:
    """The report header: where specs are sent and how; a hint when xdist's `--dist` starves concurrency."""
    lines = [f"flowai: target {target}, transport {transport}, specs {' '.join(spec_globs)}"]
    if dist == "load" and concurrency > 1:
        # xdist's load scheduler hands a worker whose tests take 0.1 s or more (a conversation does) new
        # ones only once it has fewer than two left, so the worker's window drains before each refill.
        lines.append(
            f"flowai: --flowai-concurrency {concurrency} under --dist load: xdist hands a worker more tests"
            " only once it has fewer than 2 left, so its conversations run in ever smaller batches;"
            " use --dist worksteal"
        )
    return lines


__all__ = ["FailureSummary", "FlowaiReporter", "header_lines", "is_worker"]
