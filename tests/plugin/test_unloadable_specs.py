"""Spec files that cannot be loaded (control characters, other encodings, regex overflows, oversized files)
are collection errors with file:line, exit status 2, under --collect-only too, and never a traceback.
"""

from __future__ import annotations

import pytest

from tests.helpers.plugin import FlowaiTester, output

GOOD = b"name: x\nsteps:\n  - say: hello\n"
# (file bytes, the lines the error report must show, in order)
CASES = {
    "escape character": (
        b"name: x\nsteps:\n  - say: he\x1bllo\n",
        [
            "test_x.flowai.yaml:3:12: the file holds the control character U+001B (ESC), which YAML *",
            '  hint: remove it, or write it as an escape inside double quotes: "\\e"',
        ],
    ),
    "not utf-8": (
        b"name: x\nsteps:\n  - say: caf\xe9\n",
        ["test_x.flowai.yaml:3:13: the file is not UTF-8 text: byte 0xE9 (invalid continuation byte)"],
    ),
    "utf-16 without a mark": (
        GOOD.decode().encode("utf-16-le"),
        ["test_x.flowai.yaml:1:1: the file is not UTF-8 text: it is full of NUL bytes *"],
    ),
    "regex overflow": (
        b"name: x\nsteps:\n  - say: hello\n    expect:\n      - text: {regex: 'a{4294967296}'}\n",
        ["test_x.flowai.yaml:5:23: invalid regex 'a{4294967296}': the repetition number is too large"],
    ),
    "alias expansion": (
        b"vars: {s: &s " + b"x" * 200_000 + b"}\nsteps:\n" + b"  - say: *s\n" * 6,
        ["test_x.flowai.yaml:1:11: the document expands to more than 1000000 characters through aliases *"],
    ),
}


@pytest.mark.parametrize("collect_only", [False, True], ids=["run", "collect-only"])
@pytest.mark.parametrize(("data", "lines"), CASES.values(), ids=CASES.keys())
def test_unloadable_spec_is_a_located_collection_error(
    flowai: FlowaiTester, data: bytes, lines: list[str], collect_only: bool
) -> None:
    """Each kind of unloadable file is one collection error at file:line:col, with exit status 2."""
    (flowai.pytester.path / "test_x.flowai.yaml").write_bytes(data)
    result = flowai.run(*(["--collect-only"] if collect_only else []))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting test_x.flowai.yaml*", *lines], consecutive=True)
    assert "Traceback" not in output(result)


def test_size_limit_from_ini_and_command_line(flowai: FlowaiTester) -> None:
    """flowai_max_spec_bytes refuses a larger file by name; --flowai-max-spec-bytes overrides the ini."""
    (flowai.pytester.path / "test_x.flowai.yaml").write_bytes(GOOD)
    flowai.pytester.makeini("[pytest]\nflowai_max_spec_bytes = 20\n")
    result = flowai.run("--collect-only")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            f"test_x.flowai.yaml:1:1: the spec file is {len(GOOD)} bytes, over the limit of 20 bytes",
            "  hint: split it into smaller spec files, or raise the ini option flowai_max_spec_bytes",
        ],
        consecutive=True,
    )
    result = flowai.run("--collect-only", "-q", f"--flowai-max-spec-bytes={len(GOOD)}")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["test_x.flowai.yaml::x"])


def test_bad_size_limit_is_a_usage_error(flowai: FlowaiTester) -> None:
    """A size limit that is not a whole number >= 1 is said once, as a usage error."""
    flowai.spec("name: x\nsteps:\n  - say: hello\n")
    result = flowai.run("--collect-only", "--flowai-max-spec-bytes=1MB")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "flowai_max_spec_bytes must be a whole number, got '1MB'" in output(result)
