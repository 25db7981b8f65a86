"""Every fault of the hostile server, through the plugin: a clear failure naming the cause, no traceback,
a bounded run, one JUnit entry per test, and a control spec in the same run that passes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.helpers.hostile_cases import API_KEY, CASES, Case, expected_lines, files, ini
from tests.helpers.hostile_server import HostileThread


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault_is_a_clear_bounded_failure(
    case: Case, hostile: HostileThread, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fault spec fails (or, for a retried 429, passes) with a message naming the cause; the control
    spec beside it passes; nothing prints a traceback; JUnit has one entry per test."""
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    pytester.makeini(ini(hostile.url))
    pytester.makefile(".flowai.yaml", **files(case))
    result = pytester.runpytest("--junitxml=junit.xml", "-rA")
    if case.outcome == "clear failure":
        result.assert_outcomes(passed=1, failed=1)
    else:
        result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(expected_lines(case))
    text = "\n".join([*result.outlines, *result.errlines])
    assert "Traceback" not in text
    assert "INTERNALERROR" not in text
    assert API_KEY not in text
    cases = ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    assert sorted(entry.get("name", "") for entry in cases) == ["control", "fault"]


def test_a_503_is_not_retried(
    hostile: HostileThread, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5xx answer fails the turn after one request: only a 429 with Retry-After is tried again."""
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    pytester.makeini(ini(hostile.url))
    (case,) = [c for c in CASES if c.fault == "status 503"]
    pytester.makefile(".flowai.yaml", **files(case))
    before = sum(n for (_, speech), n in hostile.server.posts.items() if speech == "status 503")
    pytester.runpytest().assert_outcomes(passed=1, failed=1)
    after = sum(n for (_, speech), n in hostile.server.posts.items() if speech == "status 503")
    assert after - before == 1


def test_a_smaller_cap_fails_a_reply_the_default_allows(
    hostile: HostileThread, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`flowai_max_reply_bytes` lowers the cap: an ordinary answer over it fails, naming the limit."""
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    pytester.makeini(ini(hostile.url) + "flowai_max_reply_bytes = 50\n")
    (case,) = [c for c in CASES if c.id == "rest-hang"]
    pytester.makefile(".flowai.yaml", **files(case))
    result = pytester.runpytest("-k", "control")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*turn 1 of 'control' failed: transport error: sending a text message:"
            " the answer is * bytes, over the size limit of 50 bytes *"
        ]
    )
