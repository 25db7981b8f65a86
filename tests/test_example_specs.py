"""The example suite in example_specs/, run as a user runs it: pytest in a subprocess, once per transport."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_specs"
MIN_SPECS = 14
# Generous: the socket run takes about 15 s on a laptop; a hang must still end the test.
RUN_TIMEOUT = 180.0


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("transport", ["socket", "rest"])
def test_example_suite_passes(transport: str, tmp_path: Path) -> None:
    """Every example conversation passes against the embedded emulator over the given transport."""
    junit = tmp_path / "junit.xml"
    result = _pytest("example_specs", "--flowai-transport", transport, f"--junitxml={junit}", cwd=ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None, output
    assert int(suite.get("tests", "0")) >= MIN_SPECS, output
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "0", "0"), output
    # Each test case carries its transcript, and the specs that name no transport ran over this one.
    cases = suite.findall("testcase")
    assert all(_property(case, "flowai_transcript") for case in cases), output
    assert transport in {_property(case, "flowai_transport") for case in cases}


def _property(case: ET.Element, name: str) -> str | None:
    found = [p.get("value") for p in case.iter("property") if p.get("name") == name]
    return found[0] if found else None


def test_example_suite_has_every_spec_file() -> None:
    """The example folder holds at least 14 spec files, each pointing editors at the spec schema."""
    specs = sorted(EXAMPLES.glob("test_*.flowai.yaml"))
    assert len(specs) >= MIN_SPECS
    for spec in specs:
        first = spec.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../pytest_flowai/spec/schema.json", spec.name


def test_broken_example_shows_what_was_said_and_where(tmp_path: Path) -> None:
    """A copy of a spec with one wrong expectation fails showing the utterance, the reply and file:line."""
    shutil.copy(EXAMPLES / "pytest.ini", tmp_path / "pytest.ini")
    source = (EXAMPLES / "test_greeting.flowai.yaml").read_text(encoding="utf-8")
    assert "        step: hello\n" in source
    broken = source.replace("        step: hello\n", "        step: goodbye\n")
    (tmp_path / "test_greeting.flowai.yaml").write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("        step: goodbye") + 1

    # `--option=value`: pytest would otherwise take the flows path for a test path when it looks for rootdir.
    result = _pytest(f"--flowai-emulator-flows={EXAMPLES / 'bot'}", "--flowai-transport=rest", cwd=tmp_path)
    output = result.stdout + result.stderr

    assert result.returncode == 1, output
    assert "1 failed" in output
    assert f"test_greeting.flowai.yaml:{line}:" in output
    assert "> say 'hello'" in output
    assert "< [Greeting / Hello] text 'H" in output
    assert "expected 'goodbye' (title or id), got 'Hello' (id 'hello')" in output
