"""The example suite in example_specs/, run as a user runs it (pytest in a subprocess, once per transport),
and the README that documents it: its set-up commands, spec snippets, options and example files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_flowai import SpecError, load_spec_text
from pytest_flowai.emulator.flows import load_bot
from pytest_flowai.errors import EmulatorError
from tests.helpers.paths import DEMO_BOT, EXAMPLES
from tests.helpers.paths import REPO as ROOT

README = ROOT / "README.md"
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


@pytest.mark.parametrize("transport", ["socket", "rest", "webhook", "messaging"])
def test_example_suite_passes(transport: str, tmp_path: Path) -> None:
    """Every example conversation passes against the embedded emulator over the given transport (the
    example ini runs eight at once); over webhook and messaging on a copy whose `transport: rest` specs
    (location and media turns) name that transport instead, so they run over it too."""
    junit = tmp_path / "junit.xml"
    where = "example_specs"
    if transport in ("webhook", "messaging"):
        copy = tmp_path / "example_specs"
        shutil.copytree(EXAMPLES, copy)
        for spec in copy.glob("*.flowai.yaml"):
            text = spec.read_text(encoding="utf-8")
            spec.write_text(
                text.replace("\ntransport: rest\n", f"\ntransport: {transport}\n"), encoding="utf-8"
            )
        where = str(copy)
    result = _pytest(where, "--flowai-transport", transport, f"--junitxml={junit}", cwd=ROOT)
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
    if transport in ("webhook", "messaging"):
        # The location and media specs ran over it too.
        assert {_property(case, "flowai_transport") for case in cases} == {transport}


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
    # A step the bot has (collection checks names against the bot), but not the one that answers.
    broken = source.replace("        step: hello\n", "        step: Menu\n")
    (tmp_path / "test_greeting.flowai.yaml").write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("        step: Menu") + 1

    # `--option=value`: pytest would otherwise take the flows path for a test path when it looks for rootdir.
    result = _pytest(f"--flowai-emulator-flows={DEMO_BOT}", "--flowai-transport=rest", cwd=tmp_path)
    output = result.stdout + result.stderr

    assert result.returncode == 1, output
    assert "1 failed" in output
    assert f"test_greeting.flowai.yaml:{line}:" in output
    assert "> say 'hello'" in output
    assert "< [Greeting / Hello] text 'H" in output
    assert "expected 'Menu' (title or id), got 'Hello' (id 'hello')" in output


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands() -> None:
    """The README opens with the title, one sentence and exactly the two set-up commands a new user runs."""
    lines = _readme().splitlines()
    assert lines[0] == "# pytest-flowai"
    commands = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/pytest example_specs",
        'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/pytest',
    ]


def test_readme_lists_every_example_spec() -> None:
    """Every example spec file has a row in the README's table of what each example shows."""
    readme = _readme()
    missing = [
        spec.name
        for spec in sorted(EXAMPLES.glob("test_*.flowai.yaml"))
        if f"| `{spec.name.removesuffix('.flowai.yaml')}` |" not in readme
    ]
    assert missing == []


# The first key of a snippet's first item says what it is: a turn, else an expect entry.
_TURN_KEY = re.compile(r"^- (say|event|location|media|pause|resume|handover|wait):")


# A README block that starts with this comment is a bot's flow file, named by the comment; others are specs.
_FLOW_FILE = re.compile(r"# (bot/[\w.-]+\.ya?ml)\n")
# A spec block may name the file it is meant to be saved as.
_SPEC_FILE = re.compile(r"# (test_[\w.-]+\.flowai\.yaml)\n")


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", _readme(), flags=re.DOTALL)


def _yaml_snippets() -> list[str]:
    blocks = [b for b in _yaml_blocks() if not _FLOW_FILE.match(b)]
    # A block of comments only (the editor-support line) is no spec.
    return [b for b in blocks if any(line and not line.startswith("#") for line in b.splitlines())]


def _flow_snippets() -> dict[str, str]:
    return {m.group(1): b for b in _yaml_blocks() if (m := _FLOW_FILE.match(b))}


def _as_spec(snippet: str) -> str:
    if re.search(r"^steps:", snippet, flags=re.MULTILINE):
        return snippet
    if _TURN_KEY.match(snippet):
        # Location and media turns need the REST transport.
        return "name: turns\ntransport: rest\nsteps:\n" + textwrap.indent(snippet, "  ")
    return "name: entries\nsteps:\n  - say: hello\n    expect:\n" + textwrap.indent(snippet, "      ")


def test_readme_yaml_snippets_are_valid_specs() -> None:
    """Every YAML example in the README (a whole spec, or a list of turns or expect entries) is valid."""
    snippets = _yaml_snippets()
    assert len(snippets) >= 8
    for number, snippet in enumerate(snippets, start=1):
        try:
            load_spec_text(_as_spec(snippet), path=f"README yaml block {number}")
        except SpecError as exc:
            pytest.fail(f"{exc}\n--- the block:\n{snippet}")


def test_readmes_refer_to_no_file_outside_the_repository() -> None:
    """The README and the demo bot's README name no file outside the repository, and their links resolve."""
    for readme in (README, DEMO_BOT / "README.md"):
        text = readme.read_text(encoding="utf-8")
        assert [word for word in ("DESIGN.md", "PROTOCOL-NOTES", "STYLE.md", "shared/") if word in text] == []
        links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)
        missing = [link for link in links if not (readme.parent / link).resolve().is_relative_to(ROOT)]
        missing += [link for link in links if not (readme.parent / link).exists()]
        assert missing == [], readme.name


def test_readme_flow_snippets_load_in_the_emulator(tmp_path: Path) -> None:
    """Every flow file shown in the README loads in the emulator's flow loader without a problem."""
    flows = _flow_snippets()
    assert flows, "the README shows no flow file"
    for name, text in flows.items():
        file = tmp_path / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
        try:
            load_bot(file)
        except EmulatorError as exc:
            pytest.fail(f"{exc}\n--- the block:\n{text}")


def test_readme_example_flow_passes_its_spec(tmp_path: Path) -> None:
    """The README's example bot and the spec written for it pass when run as the README says."""
    for name, text in _flow_snippets().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    specs = {m.group(1): b for b in _yaml_snippets() if (m := _SPEC_FILE.match(b))}
    assert specs, "the README shows no spec saved under a file name"
    for name, text in specs.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nflowai_emulator_flows = bot\n", encoding="utf-8")
    result = _pytest("--flowai-transport=rest", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(specs)} passed" in result.stdout


def _help(*command: str) -> str:
    result = subprocess.run(
        [sys.executable, *command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_readme_documents_every_flowai_option() -> None:
    """Each --flowai-* flag and flowai_* ini option that `pytest --help` shows is in the README."""
    shown = _help("-m", "pytest", "-p", "no:cacheprovider")
    flags = set(re.findall(r"(--flowai-[a-z-]+)=", shown))
    inis = set(re.findall(r"^  (flowai_[a-z_]+) \(", shown, flags=re.MULTILINE))
    assert len(flags) >= 6
    assert len(inis) >= 8
    readme = _readme()
    assert sorted(f for f in flags if f"`{f} " not in readme and f"`{f}`" not in readme) == []
    assert sorted(i for i in inis if f"`{i}`" not in readme) == []


def test_readme_documents_every_emulator_flag() -> None:
    """Each flag of `flowai-emulator --help` has a row in the README's emulator table."""
    shown = _help("-m", "pytest_flowai.emulator.cli")
    flags = set(re.findall(r"(--[a-z][a-z-]+)", shown)) - {"--help"}
    assert len(flags) >= 8
    readme = _readme()
    assert sorted(f for f in flags if f"| `{f}" not in readme) == []
