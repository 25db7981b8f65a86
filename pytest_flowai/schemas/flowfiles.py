"""Bot flow files read and checked: every rule a bot definition must follow, in one place, for the emulator's
loader and for ``flowai-validate`` alike. Imports only our leaf modules and ``schemas``; never the emulator.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import display_path
from pytest_flowai.schemas.jsondata import json_problems
from pytest_flowai.schemas.validate import violations

FLOW_FILE_SUFFIXES = (".json", ".yaml", ".yml")


class BotPathError(Exception):
    """The path given for a bot is neither a file nor a folder holding flow files."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class BotProblem:
    """One thing wrong with a bot: where (file, JSON path, 1-based line and column) and what.

    ``path`` is None for a problem with the file as a whole; ``unreadable`` marks a file that could not be
    read or parsed at all, or data that JSON cannot hold.
    """

    source: str
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None
    unreadable: bool = False

    def render(self, *, column: bool = False) -> str:
        """``file:line[:column]: path: message``; the column of a JSON path only when asked for."""
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            # A parse error always had its column; a path's column is flowai-validate's addition.
            if self.column is not None and (column or self.path is None):
                where += f":{self.column}"
        if self.path is None:
            return f"{where}: {self.message}"
        return f"{where}: {self.path or '(root)'}: {self.message}"

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedBot:
    """The result of checking a bot: its schema-valid flows in file order, with derived ``flowId`` and
    ``stepId`` filled in (deep copies), every problem found, and the sources read, in order."""

    flows: tuple[JSONObject, ...]
    problems: tuple[BotProblem, ...]
    sources: tuple[str, ...]


def flow_files(path: str | Path) -> list[Path]:
    """The flow files of a bot: the file itself, or a folder's ``*.json``/``*.yaml``/``*.yml`` sorted by name.

    Raises:
        BotPathError: the path does not exist, or the folder holds no flow file.
    """
    root = Path(path)
    if root.is_dir():
        try:
            entries = list(root.iterdir())
        except OSError as exc:
            raise BotPathError(display_path(root), f"cannot read: {exc.strerror or exc}") from exc
        files = sorted(p for p in entries if p.is_file() and p.suffix.lower() in FLOW_FILE_SUFFIXES)
        if not files:
            raise BotPathError(display_path(root), "no flow files (*.json, *.yaml, *.yml) in this folder")
        return files
    if root.is_file():
        return [root]
    raise BotPathError(display_path(root), "no such file or folder")


def check_path(path: str | Path) -> CheckedBot:
    """Read and check the bot at ``path`` (a flow file or a folder of them), as ``--flows`` loads it.

    Raises:
        BotPathError: see ``flow_files``.
    """
    checker = BotChecker()
    for file in flow_files(path):
        checker.add_file(file)
    return checker.result()


# --- parsing ---

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _BotLoader(yaml.SafeLoader):
    """YAML 1.2-like scalars: only true/false are booleans (a quick reply labelled No stays a string) and
    dates stay strings (``createdAt`` is a string in the Management API)."""


_BotLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BotLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


class _Lines:
    """Finds the 1-based line and column of a JSON path in a composed node tree; a path that goes past
    what the file holds (a missing key) ends at the deepest node it reached."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def position_of(self, path: str) -> tuple[int, int] | None:
        node = self._root
        if node is None:
            return None
        for index, key in _PATH_PART.findall(path):
            child = self._child(node, int(index) if index else key)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1, node.start_mark.column + 1

    @staticmethod
    def _child(node: yaml.Node, key: int | str) -> yaml.Node | None:
        if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child: yaml.Node = node.value[key]
            return child
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    found: yaml.Node = value_node
                    return found
        return None


class _ParseError(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _parse_yaml(text: str) -> tuple[object, _Lines]:
    loader = _BotLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = f"YAML parse error: {_yaml_problem(exc)}"
        if mark is None:
            raise _ParseError(problem) from exc
        raise _ParseError(problem, mark.line + 1, mark.column + 1) from exc
    except yaml.YAMLError as exc:
        raise _ParseError(f"YAML parse error: {exc}") from exc
    except RecursionError as exc:
        raise _ParseError("YAML parse error: nested too deeply to parse") from exc
    finally:
        loader.dispose()
    return data, _Lines(node)


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    # "but found another document" alone says little; its context says what was expected.
    if exc.problem and exc.context and exc.problem.startswith("but "):
        return f"{exc.context}, {exc.problem}"
    return exc.problem or exc.context or "invalid YAML"


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(text: str) -> tuple[object, _Lines]:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _ParseError(f"JSON parse error: {exc.msg}", exc.lineno, exc.colno) from exc
    except ValueError as exc:
        raise _ParseError(f"JSON parse error: {exc}") from exc
    except RecursionError as exc:
        raise _ParseError("JSON parse error: nested too deeply to parse") from exc
    # JSON is YAML for nearly every real file, which gives line numbers for free. A tab in valid JSON can
    # only be whitespace between tokens (inside a string it must be escaped), so a space keeps every
    # position; a file YAML still refuses (a key over 1024 characters) just has no line numbers.
    try:
        node = yaml.compose(text.replace("\t", " "), Loader=_BotLoader)
    except (yaml.YAMLError, RecursionError):
        node = None
    return data, _Lines(node)


# --- checking ---

_SLUG_JUNK = re.compile(r"[\W_]+")


def slug(title: str) -> str:
    """The id derived from a title: lower case, each run of non-letters/digits becomes one dash."""
    return _SLUG_JUNK.sub("-", title.casefold()).strip("-") or "untitled"


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    if not prefix or path.startswith("["):
        return f"{prefix}{path}"
    return f"{prefix}.{path}"


@dataclass(slots=True)
class _Where:
    """Where a flow or step came from, to place its problems by file, JSON path, line and column."""

    source: str
    prefix: str
    lines: _Lines | None

    def below(self, path: str) -> _Where:
        return _Where(self.source, _join(self.prefix, path), self.lines)

    def place(self, path: str = "") -> str:
        """``file:line`` of a path below this one (``file`` alone when the line is unknown)."""
        position = self.lines.position_of(_join(self.prefix, path)) if self.lines else None
        return f"{self.source}:{position[0]}" if position else self.source

    def __call__(self, path: str, message: str) -> BotProblem:
        full = _join(self.prefix, path)
        line, column = (self.lines.position_of(full) if self.lines else None) or (None, None)
        return BotProblem(source=self.source, path=full, message=message, line=line, column=column)


class BotChecker:
    """Collects flows from files, text or data, then checks what crosses flows and files; keeps every
    problem instead of stopping at the first."""

    def __init__(self) -> None:
        self._flows: list[tuple[JSONObject, _Where]] = []
        self._problems: list[BotProblem] = []
        self._sources: list[str] = []

    def add_file(self, file: Path) -> None:
        """Read one flow file (JSON when its name ends in ``.json``, else YAML) and check it."""
        source = display_path(file)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._sources.append(source)
            self._problems.append(BotProblem(source=source, message=f"cannot read: {exc}", unreadable=True))
            return
        self.add_text(text, source=source, as_json=file.suffix.lower() == ".json")

    def add_text(self, text: str, *, source: str, as_json: bool) -> None:
        """Parse the text of one flow file and check it; ``source`` names it in problems."""
        self._sources.append(source)
        # Editors on Windows start UTF-8 files with a byte order mark; it is no part of the document.
        text = text.removeprefix("\ufeff")
        try:
            data, lines = (_parse_json if as_json else _parse_yaml)(text)
        except _ParseError as exc:
            problem = BotProblem(
                source=source, message=exc.message, line=exc.line, column=exc.column, unreadable=True
            )
            self._problems.append(problem)
            return
        self._add(data, source=source, lines=lines)

    def add_data(self, data: object, *, source: str) -> None:
        """Check already parsed data (one flow, a list of flows, or ``{"flows": [...]}``) without lines."""
        self._sources.append(source)
        self._add(data, source=source, lines=None)

    def _add(self, data: object, *, source: str, lines: _Lines | None) -> None:
        bad = json_problems(data)
        if bad:
            self._problems.extend(
                BotProblem(source=source, message=str(problem), unreadable=True) for problem in bad
            )
            return
        for prefix, flow in self._split(data, source):
            where = _Where(source=source, prefix=prefix, lines=lines)
            found = violations(flow, "flow")
            if found:
                self._problems.extend(where(v.path, v.message) for v in found)
            elif isinstance(flow, dict):
                self._flows.append((flow, where))

    def _split(self, data: object, source: str) -> Iterator[tuple[str, JSON]]:
        """The flows of one file with their JSON paths; a shape problem is recorded, not raised."""
        if isinstance(data, dict) and "flows" in data and "steps" not in data:
            flows = data["flows"]
            if isinstance(flows, list):
                yield from ((f"flows[{i}]", flow) for i, flow in enumerate(flows))
                return
            self._problems.append(BotProblem(source=source, message="flows: must be a list of flows"))
        elif isinstance(data, dict):
            yield "", data
        elif isinstance(data, list):
            yield from ((f"[{i}]", flow) for i, flow in enumerate(data))
        else:
            got = "an empty file" if data is None else f"a {type(data).__name__}"
            message = f"expected a flow, a list of flows or {{flows: [...]}}, got {got}"
            self._problems.append(BotProblem(source=source, message=message))

    def result(self) -> CheckedBot:
        """The flows with derived ids and every problem, those of single flows first, in file order."""
        flows = [(_with_ids(flow), where) for flow, where in self._flows]
        problems = [*self._problems, *_bot_problems(flows)]
        return CheckedBot(
            flows=tuple(flow for flow, _ in flows), problems=tuple(problems), sources=tuple(self._sources)
        )


def _with_ids(flow: JSONObject) -> JSONObject:
    """A deep copy of a schema-valid flow whose flow and steps all carry their ids, derived or given."""
    raw = copy.deepcopy(flow)
    raw["flowId"] = text_of(raw.get("flowId")) or slug(text_of(raw["title"]))
    for step in objects_of(raw["steps"]):
        step["stepId"] = text_of(step.get("stepId")) or slug(text_of(step["title"]))
    return raw


def _bot_problems(flows: list[tuple[JSONObject, _Where]]) -> Iterator[BotProblem]:
    """Problems no single flow shows: repeated ids, contexts naming no step, empty intents, lone SLOTs."""
    seen_flows: dict[str, str] = {}
    seen_steps: dict[str, str] = {}
    for flow, where in flows:
        flow_id = text_of(flow["flowId"])
        if flow_id in seen_flows:
            yield where("flowId", f"duplicate flowId {flow_id!r} (also {seen_flows[flow_id]})")
        seen_flows.setdefault(flow_id, where.place())
        for index, step in enumerate(objects_of(flow["steps"])):
            step_id, step_where = text_of(step["stepId"]), where.below(f"steps[{index}]")
            if step_id in seen_steps:
                hint = "; give the steps distinct stepId values"
                yield step_where("stepId", f"duplicate stepId {step_id!r} (also {seen_steps[step_id]}){hint}")
            seen_steps.setdefault(step_id, step_where.place())
    for flow, where in flows:
        for index, step in enumerate(objects_of(flow["steps"])):
            yield from _step_problems(step, where.below(f"steps[{index}]"), seen_steps)


def _step_problems(step: JSONObject, where: _Where, step_ids: dict[str, str]) -> Iterator[BotProblem]:
    contexts = [text_of(context) for context in list_of(step.get("contexts"))]
    for index, context in enumerate(contexts):
        if context not in step_ids:
            yield where(f"contexts[{index}]", f"{context!r} names no step of this bot")
        elif context == step["stepId"]:
            yield where(f"contexts[{index}]", "a step cannot be its own context")
    kind = step["type"]
    intent = step.get("intent")
    if kind == "INTENT" and not list_of(intent.get("examples") if isinstance(intent, dict) else None):
        yield where("intent.examples", "an INTENT step needs at least one example")
    if kind == "SLOT" and not contexts:
        yield where("contexts", "a SLOT step needs a context: the step that asks the question")


def text_of(value: JSON) -> str:
    """A flow field as text ("" when it is not a string); the emulator's loader reads fields the same way."""
    return value if isinstance(value, str) else ""


def list_of(value: JSON) -> list[JSON]:
    """A flow field as a list ([] when it is not one)."""
    return value if isinstance(value, list) else []


def objects_of(value: JSON) -> Iterable[JSONObject]:
    """The objects of a flow field's list, skipping anything else."""
    return (item for item in list_of(value) if isinstance(item, dict))


__all__ = [
    "FLOW_FILE_SUFFIXES",
    "BotChecker",
    "BotPathError",
    "BotProblem",
    "CheckedBot",
    "check_path",
    "flow_files",
    "list_of",
    "objects_of",
    "slug",
    "text_of",
]
