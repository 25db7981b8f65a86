"""Broken spec files are collection errors reported as `file:line:col: message`, never a traceback."""

from __future__ import annotations

import pytest

from tests.helpers.plugin import FlowaiTester, output

# (spec text, the lines the error report must show, in order)
ERRORS = {
    "yaml syntax": (
        "name: x\nsteps:\n  - say: [hello\n",
        ["test_x.flowai.yaml:4:1: invalid YAML: did not find expected ',' or ']' *"],
    ),
    "unknown key": (
        "name: x\nsteps:\n  - say: hello\n    expct:\n      - text: Hi\n",
        ["test_x.flowai.yaml:4:5: unknown key 'expct' in turn 1", "  hint: did you mean 'expect'?"],
    ),
    "two actions": (
        "name: x\nsteps:\n  - say: hello\n    event: INTRO\n",
        [
            "test_x.flowai.yaml:4:5: turn 1 has both 'say' and 'event': a turn holds exactly one action",
            "  hint: split it into one turn per action",
        ],
    ),
    "location over socket": (
        "name: x\nsteps:\n  - location: {lat: 52.3, long: 4.8}\n",
        [
            "test_x.flowai.yaml:3:5: location turns need transport: rest, webhook or messaging *",
            "  hint: add transport: rest (or webhook, messaging) to this spec, *",
        ],
    ),
    "bad regex": (
        'name: x\nsteps:\n  - say: hello\n    expect:\n      - text: {regex: "Hi ("}\n',
        ["test_x.flowai.yaml:5:23: invalid regex 'Hi (': missing ), unterminated subpattern at position 3"],
    ),
    "undefined variable": (
        'name: x\nsteps:\n  - say: "hello {who}"\n',
        [
            "test_x.flowai.yaml:3:5: undefined variable 'who' in turn 1",
            "  hint: define it under vars, or capture it in an earlier turn *",
        ],
    ),
    "unregistered mark": (
        "name: x\nmarks: [nightly]\nsteps:\n  - say: hello\n",
        [
            "test_x.flowai.yaml:1:1: mark 'nightly' is not registered (strict markers are on)",
            "  hint: add 'nightly: <description>' to the `markers` ini option",
        ],
    ),
}


@pytest.mark.parametrize("collect_only", [False, True], ids=["run", "collect-only"])
@pytest.mark.parametrize(("text", "lines"), ERRORS.values(), ids=ERRORS.keys())
def test_spec_error_is_a_located_collection_error(
    flowai: FlowaiTester, text: str, lines: list[str], collect_only: bool
) -> None:
    """Each kind of spec error is reported as file:line:col with its hint, without a traceback."""
    flowai.spec(text)
    result = flowai.run("--strict-markers", *(["--collect-only"] if collect_only else []))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting test_x.flowai.yaml*", *lines], consecutive=True)
    assert "Traceback" not in output(result)
    assert "pytest_flowai" not in output(result).replace("flowai-0.1.0", "")


def test_every_broken_file_is_reported(flowai: FlowaiTester) -> None:
    """Several broken files each get their own error, and a good file beside them is still collected."""
    flowai.spec("name: x\nsteps:\n  - say: [hello\n", name="test_a")
    flowai.spec("name: x\nsteps:\n  - sya: hello\n", name="test_b")
    flowai.spec("name: fine\nsteps:\n  - say: hello\n", name="test_c")
    result = flowai.run("--collect-only", "-q")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["test_a.flowai.yaml:4:1: invalid YAML:*", "test_b.flowai.yaml:3:5: *"])
    result.stdout.fnmatch_lines(["test_c.flowai.yaml::fine"])


def test_unregistered_mark_without_strict_markers_is_allowed(flowai: FlowaiTester) -> None:
    """Without --strict-markers an unknown mark warns at the spec's line, and -m still selects by it."""
    flowai.spec("name: x\nmarks: [nightly]\nsteps:\n  - say: hello\n")
    result = flowai.run("--collect-only", "-q", "-m", "nightly")
    result.stdout.fnmatch_lines(["test_x.flowai.yaml::x"])
    result.stdout.fnmatch_lines(
        ["*test_x.flowai.yaml:1: PytestUnknownMarkWarning: unknown mark 'nightly' in 'x'; register it *"]
    )
