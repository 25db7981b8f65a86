"""What a person reads of a run: the text of failures and transcripts, pytest's terminal and JUnit output,
the HTML report, coverage and record mode's writing, and the secret scrubbing of pytest's reports.

One job per module; an arrow means "may import". `text`, `wording`, `html_page` and `html_views` are pure
(no pytest: the runner says `wording`'s reasons); the rest are pytest plugins the plugin registers:

    wording                         the runner's failure reasons and hints (leaf: spec.interpolate)
    text            → wording       transcripts, failure reports, the failure table, the spec excerpt
    reruns                          flaky specs: the attempts pytest-rerunfailures ran again
    terminal        → text, reruns  the terminal summary's sections, the header, JUnit class names
    coverage        → terminal      --flowai-coverage: the collector, its report files and gate
    html_views                      the HTML page's view models (from JSON data to clean dicts)
    html_page       → html_views    the HTML page, rendered with Jinja2 from templates/
    html_reporter   → text, coverage, html_page (lazily)   page data on each report, the page at the end
    records                         --flowai-record: writes the recorded replies into the spec files
    scrub                           hides registered secrets in pytest's report objects

This init imports none of its modules (the runner imports `wording`, and so this init, without pytest):
the names below load from their module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_flowai._lazy import load_lazily

if TYPE_CHECKING:
    from pytest_flowai.report.coverage import COVERAGE, CoverageCollector, coverage_result
    from pytest_flowai.report.html_reporter import HTML_ATTRIBUTE, HtmlReporter, attach_html_data
    from pytest_flowai.report.records import RecordWriter
    from pytest_flowai.report.reruns import RerunTracker
    from pytest_flowai.report.scrub import scrub_report
    from pytest_flowai.report.terminal import FailureSummary, FlowaiReporter, header_lines
    from pytest_flowai.report.text import (
        describe_payload,
        describe_response,
        failure_row,
        redact,
        render_failure,
        render_failure_table,
        render_transcript,
        source_excerpt,
    )

_HOMES = {
    "COVERAGE": "coverage",
    "CoverageCollector": "coverage",
    "FailureSummary": "terminal",
    "FlowaiReporter": "terminal",
    "HTML_ATTRIBUTE": "html_reporter",
    "HtmlReporter": "html_reporter",
    "RecordWriter": "records",
    "RerunTracker": "reruns",
    "attach_html_data": "html_reporter",
    "coverage_result": "coverage",
    "describe_payload": "text",
    "describe_response": "text",
    "failure_row": "text",
    "header_lines": "terminal",
    "redact": "text",
    "render_failure": "text",
    "render_failure_table": "text",
    "render_transcript": "text",
    "scrub_report": "scrub",
    "source_excerpt": "text",
}


def __getattr__(name: str) -> object:
    return load_lazily(__name__, _HOMES, name)


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
    "failure_row",
    "header_lines",
    "redact",
    "render_failure",
    "render_failure_table",
    "render_transcript",
    "scrub_report",
    "source_excerpt",
]
