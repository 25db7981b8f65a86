"""flowai-validate: exit codes, output lines, stdin, --schema, --json, --list, YAML documents, bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_flowai import schemas
from pytest_flowai.schemas.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = Path(__file__).parent / "examples"

VALID_REPLY = '{"status": "ok", "result": {"threadId": "t", "messages": [{"responses": []}]}}'
INVALID_REPLY = json.dumps(
    {
        "status": "ok",
        "result": {"threadId": "t", "messages": [{"responses": [{"type": "image", "payload": {}}]}]},
    }
)
TWO_DOCUMENTS = """\
type: message.send
payload: {threadId: t1, speech: hello, traceId: 1}
---
type: message.send
payload: {threadId: t1, traceId: "2"}
"""


def run_cli(*args: str, stdin: str = "", cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """flowai-validate as a user runs it: a separate process, bounded in time."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pytest_flowai.schemas.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding a valid, an invalid, a two-document and an unparseable file."""
    (tmp_path / "good.json").write_text(VALID_REPLY, encoding="utf-8")
    (tmp_path / "bad.json").write_text(INVALID_REPLY, encoding="utf-8")
    (tmp_path / "frames.yaml").write_text(TWO_DOCUMENTS, encoding="utf-8")
    (tmp_path / "broken.json").write_text('{"status": "ok",\n  "result": }\n', encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("type: ping\npayload: [1, 2\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_subprocess_valid_file_exits_0_silently(workdir: Path) -> None:
    """A valid file gives exit status 0 and no output."""
    result = run_cli("good.json", cwd=workdir)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_subprocess_invalid_file_exits_1_with_one_line_per_violation(workdir: Path) -> None:
    """An invalid file gives exit status 1 and one 'file: path: message' line per violation."""
    result = run_cli("good.json", "bad.json", cwd=workdir)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "bad.json: result.messages[0].responses[0].payload.title: required",
        "bad.json: result.messages[0].responses[0].payload.url: required",
    ]
    assert result.stderr == ""


def test_subprocess_reads_stdin(workdir: Path) -> None:
    """'-' reads the document from standard input, JSON or YAML."""
    assert run_cli("-", stdin='{"type": "ping"}', cwd=workdir).returncode == 0
    result = run_cli("-", stdin="type: error\n", cwd=workdir)
    assert (result.returncode, result.stdout) == (1, "-: message: required\n")


def test_subprocess_unparseable_file_exits_2_naming_line_and_column(workdir: Path) -> None:
    """A file that does not parse gives exit status 2 and one line naming where, without a traceback."""
    result = run_cli("broken.json", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr == "broken.json:2:13: invalid JSON: Expecting value\n"
    assert result.stdout == ""


def test_subprocess_missing_file_exits_2(workdir: Path) -> None:
    """A file that does not exist gives exit status 2 and a one-line reason."""
    result = run_cli("nowhere.json", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr == "nowhere.json: cannot read: No such file or directory\n"


# Documented examples whose schema cannot be inferred (test_schema_examples.py names it).
NO_INFERENCE = ("params-", "rest-handover", "rest-originator", "rest-empty-body", "socket-common-format")


def test_subprocess_documented_examples_are_all_inferred(workdir: Path) -> None:
    """The valid documented examples pass without --schema; the flawed ones are reported."""
    files = sorted(
        str(p)
        for p in EXAMPLES.glob("*.json")
        if not p.name.startswith(NO_INFERENCE) and p.name != "sources.json"
    )
    result = run_cli(*files, cwd=workdir)
    assert result.stderr == ""
    # Flow files are named with their line and column (file:line:col).
    flagged = sorted({Path(line.split(": ")[0]).name.split(":")[0] for line in result.stdout.splitlines()})
    assert flagged == [
        "management-flows-list.json",
        "messaging-media-as-written.json",
    ]
    assert result.returncode == 1


def test_yaml_file_with_two_documents_checks_each(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each YAML document is checked on its own and labelled with its number."""
    assert main(["frames.yaml"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "frames.yaml[doc 2]: payload.speech: required",
        "frames.yaml[doc 2]: payload.traceId: expected number, got '2'",
    ]


def test_explicit_schema_overrides_inference(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--schema checks every document against the named schema (a .json suffix is fine)."""
    assert main(["--schema", "rest.ok.json", "good.json"]) == 0
    assert main(["--schema", "rest.error", "good.json"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "good.json: message: required",
        "good.json: status: must be 'error', got 'ok'",
    ]


def test_unknown_schema_exits_2_with_suggestion(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --schema name is a usage error with a did-you-mean, before any file is read."""
    assert main(["--schema", "rest.okay", "nowhere.json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        "flowai-validate: error: unknown schema 'rest.okay'; did you mean 'rest.ok'"
    )
    assert len(captured.err.splitlines()) == 1


def test_uninferable_document_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A document whose schema cannot be told exits 2 and asks for --schema."""
    (workdir / "mystery.json").write_text('{"hello": "world"}', encoding="utf-8")
    assert main(["mystery.json", "good.json"]) == 2
    assert capsys.readouterr().err == (
        "mystery.json: cannot tell which schema applies; pass --schema NAME (--list shows the names)\n"
    )


def test_unparseable_yaml_names_line_and_column(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A YAML syntax error is reported at its 1-based line and column with exit status 2."""
    assert main(["broken.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("broken.yaml:3:1: invalid YAML: ")
    assert len(err.splitlines()) == 1


def test_worst_outcome_decides_exit_status(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every file is checked; unusable input (2) outranks an invalid document (1)."""
    assert main(["bad.json", "broken.json"]) == 2
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert captured.err.startswith("broken.json:2:13:")


def test_json_output_lists_every_document(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one machine-readable record per document instead of text lines."""
    assert main(["--json", "good.json", "frames.yaml", "broken.json"]) == 2
    records = json.loads(capsys.readouterr().out)
    assert records == [
        {
            "file": "good.json",
            "document": None,
            "schema": "rest.sync-result",
            "valid": True,
            "violations": [],
        },
        {"file": "frames.yaml", "document": 1, "schema": "message.send", "valid": True, "violations": []},
        {
            "file": "frames.yaml",
            "document": 2,
            "schema": "message.send",
            "valid": False,
            "violations": [
                {"path": "payload.speech", "message": "required"},
                {"path": "payload.traceId", "message": "expected number, got '2'"},
            ],
        },
        {
            "file": "broken.json",
            "document": None,
            "schema": None,
            "error": "invalid JSON: Expecting value",
            "line": 2,
            "column": 13,
        },
    ]


def test_list_prints_every_schema_with_its_title(capsys: pytest.CaptureFixture[str]) -> None:
    """--list prints each schema name with its title and exits 0."""
    assert main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == schemas.names()
    assert any(line.startswith("server-frame ") and line.endswith("Server frame") for line in lines)


def test_no_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a file (and without --list) the command exits 2 with a one-line reason."""
    assert main([]) == 2
    assert capsys.readouterr().err == (
        "flowai-validate: error: no FILE given (use '-' for standard input; see --help)\n"
    )


def test_unknown_option_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option exits 2 with one line, not argparse's usage block."""
    assert main(["--bogus", "x.json"]) == 2
    assert capsys.readouterr().err == "flowai-validate: error: unrecognized arguments: --bogus (see --help)\n"


def test_help_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help prints the usage and returns 0 instead of exiting the interpreter."""
    assert main(["--help"]) == 0
    assert "--schema NAME" in capsys.readouterr().out


def test_stdin_in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """main() reads '-' from sys.stdin and labels its violations '-'."""
    frame = '{"type": "message.delivered", "payload": {"traceId": "1"}}'
    monkeypatch.setattr(sys, "stdin", io.StringIO(frame))
    assert main(["-"]) == 1
    assert capsys.readouterr().out == "-: payload.traceId: expected number, got '1'\n"


def test_yaml_timestamps_stay_strings(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unquoted YAML date is checked as the string JSON would carry, not as a date object."""
    (workdir / "msg.yaml").write_text(
        "createdAt: 2019-06-25T12:45:11.857Z\nresponses: []\n", encoding="utf-8"
    )
    assert main(["msg.yaml"]) == 0
    assert capsys.readouterr().out == ""


def test_empty_yaml_documents_are_skipped(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Empty YAML documents (a doubled or trailing '---') are skipped; the others keep their numbers."""
    (workdir / "tail.yaml").write_text("type: ping\n---\n---\ntype: error\n---\n", encoding="utf-8")
    assert main(["tail.yaml"]) == 1
    assert capsys.readouterr().out == "tail.yaml[doc 3]: message: required\n"


def test_empty_file_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file with no document at all is unusable input."""
    (workdir / "empty.yaml").write_text("", encoding="utf-8")
    assert main(["empty.yaml"]) == 2
    assert capsys.readouterr().err == "empty.yaml: holds no document\n"


def test_absurdly_nested_json_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON nested past what the parser can handle is reported in one line, not a traceback."""
    (workdir / "deep.json").write_text("[" * 100_000, encoding="utf-8")
    assert main(["deep.json"]) == 2
    assert capsys.readouterr().err == "deep.json: nested too deeply to parse\n"


def test_yaml_tags_that_build_objects_are_refused(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """YAML is loaded safely: a python/object tag is a parse error, never executed."""
    (workdir / "evil.yaml").write_text("a: !!python/object/apply:os.getcwd []\n", encoding="utf-8")
    assert main(["evil.yaml"]) == 2
    assert "invalid YAML: could not determine a constructor" in capsys.readouterr().err


def test_non_string_yaml_keys_are_quoted_in_paths(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A YAML key that is a number still gets a readable path instead of a crash."""
    (workdir / "params.yaml").write_text("1.5: one\ntrue: [{value: x}]\n", encoding="utf-8")
    assert main(["--schema", "params", "params.yaml"]) == 1
    assert capsys.readouterr().out == "params.yaml: [\"1.5\"]: expected array, got 'one'\n"


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("nan.json", '{"type": "message.send", "payload": {"traceId": NaN}}', "payload.traceId: NaN is not"),
        ("huge.json", '{"type": "ping", "x": 1e999}', "x: infinity"),
        ("inf.yaml", "type: ping\nx: [.inf]\n", "x[0]: infinity"),
        ("set.yaml", "type: ping\npayload: !!set {a, b}\n", "payload: a YAML !!set value"),
        ("bin.yaml", "type: ping\npayload: {b: !!binary aGk=}\n", "payload.b: a YAML !!binary value"),
        ("loop.yaml", "type: ping\npayload: &me {again: *me}\n", "payload.again: holds itself"),
    ],
)
def test_data_json_cannot_carry_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, reason: str
) -> None:
    """NaN, infinity, YAML sets, binaries and self-containing aliases are unusable input, named by path."""
    (workdir / name).write_text(text, encoding="utf-8")
    assert main([name]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{name}: not JSON data: {reason}")
    assert err.count("\n") == 1


def test_yaml_alias_bomb_is_refused_quickly(workdir: Path) -> None:
    """Aliases that expand a small file into billions of values are refused, not expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    (workdir / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # In a process of its own with a deadline: expanding the aliases would take hours.
    result = run_cli("--schema", "params", "bomb.yaml", cwd=workdir, timeout=20)
    assert result.returncode == 2
    assert "values once its YAML aliases are expanded" in result.stderr


def test_a_shared_alias_is_checked_not_refused(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An anchor used twice (no cycle, small) is ordinary YAML and is validated as usual."""
    text = "type: message.send\npayload: {threadId: &t t1, speech: *t, originator: {name: *t}}\n"
    (workdir / "alias.yaml").write_text(text, encoding="utf-8")
    assert main(["alias.yaml"]) == 0
    assert capsys.readouterr() == ("", "")


def test_byte_order_mark_is_ignored(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A UTF-8 byte order mark at the start of a JSON file (Windows editors) does not make it unreadable."""
    (workdir / "bom.json").write_bytes(b'\xef\xbb\xbf{"type": "ping"}')
    assert main(["bom.json"]) == 0
    assert capsys.readouterr() == ("", "")
