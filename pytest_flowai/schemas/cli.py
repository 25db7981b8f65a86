"""``flowai-validate``: check JSON or YAML files against the protocol schemas from the command line; a bot's
flow files (or folder) get every check the emulator's loader makes (``flowfiles``). Exit codes: 0 all valid,
1 some document breaks its schema or a bot rule, 2 bad usage or input that cannot be checked."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO, cast

import yaml

from pytest_flowai._json import JSON
from pytest_flowai.errors import Violation, display_path
from pytest_flowai.schemas.flowfiles import BotChecker, BotPathError, BotProblem, CheckedBot, check_path
from pytest_flowai.schemas.infer import infer_name
from pytest_flowai.schemas.jsondata import json_problems
from pytest_flowai.schemas.validate import UnknownSchemaError, names, raw, violations

PROG = "flowai-validate"
EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
STDIN = "-"
# A document meant for one of these is a bot's flow file: the emulator's own checks apply to it.
BOT_SCHEMAS = frozenset({"flow", "flows"})


class _UsageError(Exception):
    """Bad command-line arguments; argparse would print a usage block and exit, we want one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


class _JsonLoader(yaml.SafeLoader):
    """A YAML loader that keeps timestamps as strings, as a JSON document would hold them."""


def _timestamp_as_text(loader: _JsonLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(cast("yaml.ScalarNode", node)))


_JsonLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class _Unreadable(Exception):
    """A file that cannot be read or parsed, with the 1-based line and column where known."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The verdict on one document of one file."""

    file: str
    document: int | None
    schema: str | None = None
    violations: tuple[Violation, ...] = ()
    problems: tuple[BotProblem, ...] = ()  # a flow file's, from the emulator's checks
    error: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def label(self) -> str:
        """``file``, ``file[doc 2]`` in a file of several documents, ``file:3:7`` for a parse error."""
        if self.line is not None:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file if self.document is None else f"{self.file}[doc {self.document}]"

    @property
    def code(self) -> int:
        if self.error is not None or any(p.unreadable for p in self.problems):
            return EXIT_UNUSABLE
        return EXIT_INVALID if self.violations or self.problems else EXIT_VALID

    def as_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {"file": self.file, "document": self.document, "schema": self.schema}
        unreadable = next((p for p in self.problems if p.unreadable), None)
        if self.error is not None:
            data["error"] = self.error
            if self.line is not None:
                data["line"], data["column"] = self.line, self.column
        elif unreadable is not None:
            data["error"] = unreadable.render() if unreadable.path is not None else unreadable.message
            if unreadable.line is not None:
                data["line"], data["column"] = unreadable.line, unreadable.column
        else:
            data["valid"] = not self.violations and not self.problems
            found: list[JSON] = [{"path": v.path, "message": v.message} for v in self.violations]
            found += [_problem_json(p) for p in self.problems]
            data["violations"] = found
        return data


def _problem_json(problem: BotProblem) -> JSON:
    # A problem with the file as a whole (its shape) has no JSON path; "" is the root's path.
    data: dict[str, JSON] = {"path": problem.path or "", "message": problem.message}
    if problem.line is not None:
        data["line"], data["column"] = problem.line, problem.column
    return data


@dataclass(slots=True)
class _Options:
    files: list[str] = field(default_factory=list)
    schema: str | None = None
    list: bool = False
    json: bool = False


def _build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Check Flow.ai protocol payloads (JSON or YAML files) against the pytest-flowai schemas.",
        epilog="Exit status: 0 all valid, 1 a document is invalid, 2 usage error or unusable input.",
    )
    add = parser.add_argument
    add(
        "files",
        nargs="*",
        metavar="FILE",
        help="JSON or YAML files; '-' reads standard input; a folder is a bot: its flow files checked as one",
    )
    add("--schema", metavar="NAME", help="the schema to check against (default: inferred per document)")
    add("--list", action="store_true", help="list the schema names with their titles and exit")
    add("--json", action="store_true", help="print a machine-readable list of results")
    return parser


def _read(file: str, stdin: TextIO) -> str:
    if file == STDIN:
        text = stdin.read()
    else:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise _Unreadable(f"cannot read: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise _Unreadable(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    # Editors on Windows start UTF-8 files with a byte order mark; it is no part of the document.
    return text.removeprefix("\ufeff")


def _parse(file: str, text: str) -> dict[int, JSON]:
    """The documents of a file by 1-based number: one for JSON, any number for YAML (empty ones skipped)."""
    try:
        if file.endswith(".json"):
            return {1: json.loads(text)}
        loaded: list[JSON] = list(yaml.load_all(text, Loader=_JsonLoader))
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is None:
            raise _Unreadable(f"invalid YAML: {problem}") from exc
        raise _Unreadable(f"invalid YAML: {problem}", mark.line + 1, mark.column + 1) from exc
    except RecursionError as exc:
        raise _Unreadable("nested too deeply to parse") from exc
    # A YAML stream ending in '---' holds an empty (null) document: not a payload anyone meant to check.
    documents: dict[int, JSON] = {n: doc for n, doc in enumerate(loaded, start=1) if doc is not None}
    if not documents:
        raise _Unreadable("holds no document")
    return documents


def _check(file: str, index: int | None, document: JSON, schema: str | None) -> Outcome:
    # YAML keys that are not strings (1.5: x) are let through: the schema then names them at their path.
    problems = json_problems(document, string_keys=False)
    if problems:
        return Outcome(file=file, document=index, schema=schema, error=f"not JSON data: {problems[0]}")
    name = schema or infer_name(document)
    if name is None:
        reason = "cannot tell which schema applies; pass --schema NAME (--list shows the names)"
        return Outcome(file=file, document=index, error=reason)
    try:
        found = violations(document, name)
    except UnknownSchemaError as exc:
        return Outcome(file=file, document=index, schema=name, error=str(exc))
    return Outcome(file=file, document=index, schema=name, violations=tuple(found))


def _bot_outcomes(checked: CheckedBot) -> list[Outcome]:
    """One outcome per flow file of a bot, its problems sorted by line (those of the whole file first)."""
    outcomes = []
    for source in checked.sources:
        mine = sorted((p for p in checked.problems if p.source == source), key=lambda p: p.line or 0)
        outcomes.append(Outcome(file=source, document=None, schema="flows", problems=tuple(mine)))
    return outcomes


def _check_folder(folder: str, schema: str | None) -> list[Outcome]:
    """A folder is a bot, as ``flowai-emulator --flows FOLDER`` loads it: all its flow files together."""
    shown = display_path(folder)
    if schema is not None and schema.removesuffix(".json") not in BOT_SCHEMAS:
        reason = f"a folder is checked as a bot (schema 'flows'), not against --schema {schema}"
        return [Outcome(file=shown, document=None, error=reason)]
    try:
        return _bot_outcomes(check_path(folder))
    except BotPathError as exc:
        return [Outcome(file=exc.path, document=None, error=exc.reason)]


def _check_file(file: str, schema: str | None, stdin: TextIO) -> list[Outcome]:
    if file != STDIN and Path(file).is_dir():
        return _check_folder(file, schema)
    shown = file if file == STDIN else display_path(file)
    try:
        text = _read(file, stdin)
        documents = _parse(file, text)
    except _Unreadable as exc:
        return [Outcome(file=shown, document=None, error=exc.reason, line=exc.line, column=exc.column)]
    meant = {schema.removesuffix(".json") if schema else infer_name(doc) for doc in documents.values()}
    if meant & BOT_SCHEMAS:
        # One file is a whole bot, as `--flows FILE` loads it: read again with the emulator's own parser.
        checker = BotChecker()
        checker.add_text(text, source=shown, as_json=file.lower().endswith(".json"))
        return _bot_outcomes(checker.result())
    if len(documents) == 1:
        return [_check(shown, None, doc, schema) for doc in documents.values()]
    return [_check(shown, number, doc, schema) for number, doc in documents.items()]


def _print_list(out: TextIO) -> None:
    all_names = names()
    width = max(len(n) for n in all_names)
    for name in all_names:
        title = raw(name).get("title", "")
        out.write(f"{name:<{width}}  {title}\n")


def _report(outcomes: Sequence[Outcome], as_json: bool, out: TextIO, err: TextIO) -> None:
    for outcome in outcomes:
        if outcome.error is not None:
            err.write(f"{outcome.label}: {outcome.error}\n")
            continue
        for problem in outcome.problems:
            if problem.unreadable:
                err.write(f"{problem.render(column=True)}\n")
            elif not as_json:
                out.write(f"{problem.render(column=True)}\n")
        if not as_json:
            for violation in outcome.violations:
                out.write(f"{outcome.label}: {violation}\n")
    if as_json:
        out.write(json.dumps([o.as_json() for o in outcomes], indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run ``flowai-validate``; returns the exit status."""
    parser = _build_parser()
    try:
        options = parser.parse_args(argv, namespace=_Options())
    except _UsageError as exc:
        sys.stderr.write(f"{PROG}: error: {exc} (see --help)\n")
        return EXIT_UNUSABLE
    except SystemExit as exc:  # --help prints and asks to exit; we return the code instead
        return exc.code if isinstance(exc.code, int) else EXIT_VALID
    if options.list:
        return _write_or_drop(lambda: _print_list(sys.stdout), EXIT_VALID)
    if not options.files:
        sys.stderr.write(f"{PROG}: error: no FILE given (use '-' for standard input; see --help)\n")
        return EXIT_UNUSABLE
    if options.schema is not None:
        try:
            raw(options.schema)
        except UnknownSchemaError as exc:
            sys.stderr.write(f"{PROG}: error: {exc}\n")
            return EXIT_UNUSABLE
    outcomes = [o for file in options.files for o in _check_file(file, options.schema, sys.stdin)]
    code = max(o.code for o in outcomes)
    return _write_or_drop(lambda: _report(outcomes, options.json, sys.stdout, sys.stderr), code)


def _write_or_drop(write: Callable[[], None], code: int) -> int:
    """Run ``write``; a reader that went away (``| head``) ends the output quietly, not with a traceback."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return code


if __name__ == "__main__":
    raise SystemExit(main())
