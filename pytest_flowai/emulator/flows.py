"""The emulator's bot: Management-API Flow objects loaded from JSON/YAML, checked, and turned into values.

A missing ``flowId`` is the slug of the flow's title and a missing ``stepId`` the slug of the step's title
("Pick size" -> "pick-size"), so hand-written bots stay short; explicit ids always win. Imports only schemas.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import EmulatorError, display_path

FLOW_FILE_SUFFIXES = (".json", ".yaml", ".yml")


class StepType(StrEnum):
    """The kinds of step Flow.ai knows; the type decides what a step reacts to."""

    INTENT = "INTENT"
    EVENT = "EVENT"
    UNKNOWN = "UNKNOWN"
    SLOT = "SLOT"
    LOCATION = "LOCATION"
    IMAGE = "IMAGE"
    FILE = "FILE"
    AUDIO = "AUDIO"
    VIDEO = "VIDEO"
    ANYTHING = "ANYTHING"
    NOTHING = "NOTHING"


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    """What a SLOT step asks for: the thread param ``label`` its answer is stored under."""

    label: str
    validation: str | None = None

    @property
    def required(self) -> bool:
        """True when an empty answer must be rejected."""
        return (self.validation or "").upper() == "REQUIRED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One step of a flow; a bot's steps keep their file order, which breaks ties between them."""

    step_id: str
    title: str
    type: StepType
    contexts: tuple[str, ...]
    examples: tuple[str, ...]
    actions: tuple[JSONObject, ...]
    slot: Slot | None
    flow_id: str
    flow_title: str
    intent_title: str | None = None
    manual_trigger: bool = False

    @property
    def top_level(self) -> bool:
        """True when the step needs no preceding step."""
        return not self.contexts


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """A conversation topic: its steps, and the object as loaded (with derived ids) for the management API."""

    flow_id: str
    title: str
    group: str | None
    disabled: bool
    steps: tuple[Step, ...]
    raw: JSONObject


@dataclass(frozen=True, slots=True, kw_only=True)
class Bot:
    """Every flow of a bot, in file order; only enabled flows answer."""

    flows: tuple[Flow, ...]
    _enabled: tuple[Step, ...] = field(init=False, repr=False, compare=False)
    _by_id: dict[str, Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: the engine asks for them on every message.
        enabled = tuple(step for flow in self.flows if not flow.disabled for step in flow.steps)
        object.__setattr__(self, "_enabled", enabled)
        object.__setattr__(self, "_by_id", {step.step_id: step for step in enabled})

    def steps(self) -> tuple[Step, ...]:
        """The steps of the enabled flows, in file order."""
        return self._enabled

    def step(self, step_id: str) -> Step | None:
        """The enabled step with this id, if any."""
        return self._by_id.get(step_id)

    def flow(self, flow_id: str) -> Flow | None:
        """The flow with this id (enabled or not), if any."""
        return next((flow for flow in self.flows if flow.flow_id == flow_id), None)

    def event_names(self) -> list[str]:
        """Events a client may trigger by hand: EVENT steps marked ``manualTrigger``, no repeats."""
        names = (step.title for step in self.steps() if step.type is StepType.EVENT and step.manual_trigger)
        return list(dict.fromkeys(names))

    def raw_flows(self) -> list[JSONObject]:
        """Every flow as a Management-API object (a fresh copy the caller may change)."""
        return [copy.deepcopy(flow.raw) for flow in self.flows]


def load_bot(path: str | os.PathLike[str]) -> Bot:
    """Load a bot from one flow file or a folder of them (``*.json``, ``*.yaml``, ``*.yml``, sorted by name).

    Raises:
        EmulatorError: listing every problem, each with its file and JSON path (and line, for YAML).
    """
    root = Path(path)
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in FLOW_FILE_SUFFIXES)
        if not files:
            raise EmulatorError(f"{display_path(root)}: no flow files (*.json, *.yaml, *.yml) in this folder")
    elif root.is_file():
        files = [root]
    else:
        raise EmulatorError(f"{display_path(root)}: no such file or folder")
    builder = _BotBuilder()
    for file in files:
        builder.add_file(file)
    return builder.build()


def bot_from_data(data: JSON, source: str = "<data>") -> Bot:
    """Build a bot from already parsed data: one flow, a list of flows, or ``{"flows": [...]}``.

    Raises:
        EmulatorError: listing every problem, each with ``source`` and its JSON path.
    """
    builder = _BotBuilder()
    builder.add_data(data, source=source, lines=None)
    return builder.build()


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
    """Finds the YAML line of a JSON path in a composed node tree."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def line_of(self, path: str) -> int | None:
        node = self._root
        line = node.start_mark.line + 1 if node is not None else None
        for index, key in _PATH_PART.findall(path):
            node = self._child(node, int(index) if index else key)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    @staticmethod
    def _child(node: yaml.Node | None, key: int | str) -> yaml.Node | None:
        if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child: yaml.Node = node.value[key]
            return child
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    found: yaml.Node = value_node
                    return found
        return None


def _parse_yaml(text: str, source: str) -> tuple[object, _Lines]:
    loader = _BotLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise EmulatorError(f"{where}: YAML parse error: {problem}") from exc
    except yaml.YAMLError as exc:
        raise EmulatorError(f"{source}: YAML parse error: {exc}") from exc
    finally:
        loader.dispose()
    return data, _Lines(node)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(text: str, source: str) -> tuple[object, _Lines]:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise EmulatorError(f"{source}:{exc.lineno}:{exc.colno}: JSON parse error: {exc.msg}") from exc
    except ValueError as exc:
        raise EmulatorError(f"{source}: JSON parse error: {exc}") from exc
    # JSON is YAML for nearly every real file; that gives line numbers for free, and nothing is lost without.
    try:
        node = yaml.compose(text, Loader=_BotLoader)
    except yaml.YAMLError:
        node = None
    return data, _Lines(node)


# --- building ---

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
    """Where a flow came from, to word problems as ``file:line: path: message``."""

    source: str
    prefix: str
    lines: _Lines | None

    def place(self, path: str = "") -> str:
        """``file:line`` of a path below this flow (``file`` alone when the line is unknown)."""
        line = self.lines.line_of(_join(self.prefix, path)) if self.lines else None
        return f"{self.source}:{line}" if line else self.source

    def __call__(self, path: str, message: str) -> str:
        full = _join(self.prefix, path)
        return f"{self.place(path)}: {full or '(root)'}: {message}"


class _BotBuilder:
    """Collects flows from files or data, then checks what crosses flows; keeps every problem."""

    def __init__(self) -> None:
        self._flows: list[tuple[JSONObject, _Where]] = []
        self._problems: list[str] = []

    def add_file(self, file: Path) -> None:
        source = display_path(file)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._problems.append(f"{source}: cannot read: {exc}")
            return
        try:
            parse = _parse_json if file.suffix.lower() == ".json" else _parse_yaml
            data, lines = parse(text, source)
        except EmulatorError as exc:
            self._problems.append(str(exc))
            return
        self.add_data(data, source=source, lines=lines)

    def add_data(self, data: object, *, source: str, lines: _Lines | None) -> None:
        bad = schemas.json_problems(data)
        if bad:
            self._problems.extend(f"{source}: {problem}" for problem in bad)
            return
        for prefix, flow in self._split(data, source):
            where = _Where(source=source, prefix=prefix, lines=lines)
            violations = schemas.violations(flow, "flow")
            if violations:
                self._problems.extend(where(v.path, v.message) for v in violations)
            elif isinstance(flow, dict):
                self._flows.append((flow, where))

    def _split(self, data: object, source: str) -> Iterator[tuple[str, JSON]]:
        """The flows of one file with their JSON paths; a shape problem is recorded, not raised."""
        if isinstance(data, dict) and "flows" in data and "steps" not in data:
            flows = data["flows"]
            if isinstance(flows, list):
                yield from ((f"flows[{i}]", flow) for i, flow in enumerate(flows))
                return
            self._problems.append(f"{source}: flows: must be a list of flows")
        elif isinstance(data, dict):
            yield "", data
        elif isinstance(data, list):
            yield from ((f"[{i}]", flow) for i, flow in enumerate(data))
        else:
            got = "an empty file" if data is None else f"a {type(data).__name__}"
            self._problems.append(
                f"{source}: expected a flow, a list of flows or {{flows: [...]}}, got {got}"
            )

    def build(self) -> Bot:
        flows = list(self._build_flows())
        self._check_ids(flows)
        if self._problems:
            count = len(self._problems)
            listing = "\n".join(f"  {problem}" for problem in self._problems)
            raise EmulatorError(f"invalid bot definition ({count} problem{'s' * (count != 1)}):\n{listing}")
        return Bot(flows=tuple(flow for flow, _ in flows))

    def _build_flows(self) -> Iterator[tuple[Flow, list[_Where]]]:
        for data, where in self._flows:
            raw = copy.deepcopy(data)
            title = _text(raw["title"])
            flow_id = _text(raw.get("flowId")) or slug(title)
            raw["flowId"] = flow_id
            steps: list[Step] = []
            step_where: list[_Where] = []
            for index, step_raw in enumerate(_objects(raw["steps"])):
                steps.append(_build_step(step_raw, flow_id=flow_id, flow_title=title))
                step_raw["stepId"] = steps[-1].step_id
                step_where.append(_Where(where.source, _join(where.prefix, f"steps[{index}]"), where.lines))
            group = raw.get("group")
            flow = Flow(
                flow_id=flow_id,
                title=title,
                group=group if isinstance(group, str) else None,
                disabled=raw.get("disabled") is True,
                steps=tuple(steps),
                raw=raw,
            )
            yield flow, [where, *step_where]

    def _check_ids(self, flows: list[tuple[Flow, list[_Where]]]) -> None:
        """Problems no single flow shows: repeated ids, contexts naming no step, empty intents."""
        seen_flows: dict[str, str] = {}
        seen_steps: dict[str, str] = {}
        for flow, (flow_where, *step_wheres) in flows:
            if flow.flow_id in seen_flows:
                self._problems.append(
                    flow_where(
                        "flowId", f"duplicate flowId {flow.flow_id!r} (also {seen_flows[flow.flow_id]})"
                    )
                )
            seen_flows.setdefault(flow.flow_id, flow_where.place())
            for step, where in zip(flow.steps, step_wheres, strict=True):
                if step.step_id in seen_steps:
                    hint = "; give the steps distinct stepId values"
                    self._problems.append(
                        where(
                            "stepId",
                            f"duplicate stepId {step.step_id!r} (also {seen_steps[step.step_id]}){hint}",
                        )
                    )
                seen_steps.setdefault(step.step_id, where.place())
        for flow, (_, *step_wheres) in flows:
            for step, where in zip(flow.steps, step_wheres, strict=True):
                self._problems.extend(_step_problems(step, where, seen_steps))


def _step_problems(step: Step, where: _Where, step_ids: dict[str, str]) -> Iterator[str]:
    for index, context in enumerate(step.contexts):
        if context not in step_ids:
            yield where(f"contexts[{index}]", f"{context!r} names no step of this bot")
        elif context == step.step_id:
            yield where(f"contexts[{index}]", "a step cannot be its own context")
    if step.type is StepType.INTENT and not step.examples:
        yield where("intent.examples", "an INTENT step needs at least one example")
    if step.type is StepType.SLOT and step.top_level:
        yield where("contexts", "a SLOT step needs a context: the step that asks the question")


def _build_step(raw: JSONObject, *, flow_id: str, flow_title: str) -> Step:
    """A Step from a schema-valid step object (the schema guarantees the shapes read here)."""
    title = _text(raw["title"])
    intent = raw.get("intent")
    intent_obj = intent if isinstance(intent, dict) else {}
    examples = tuple(_text(example.get("query")) for example in _objects(intent_obj.get("examples")))
    slot_raw = raw.get("slot")
    slot = None
    if isinstance(slot_raw, dict):
        slot = Slot(
            label=_text(slot_raw.get("label")),
            validation=_text(slot_raw.get("validation")) or None,
        )
    return Step(
        step_id=_text(raw.get("stepId")) or slug(title),
        title=title,
        type=StepType(_text(raw["type"])),
        contexts=tuple(_text(context) for context in _list(raw.get("contexts"))),
        examples=examples,
        actions=tuple(copy.deepcopy(action) for action in _objects(raw.get("actions"))),
        slot=slot,
        flow_id=flow_id,
        flow_title=flow_title,
        intent_title=_text(intent_obj.get("title")) or None,
        manual_trigger=raw.get("manualTrigger") is True,
    )


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else ""


def _list(value: JSON) -> list[JSON]:
    return value if isinstance(value, list) else []


def _objects(value: JSON) -> Iterable[JSONObject]:
    return (item for item in _list(value) if isinstance(item, dict))


__all__ = [
    "FLOW_FILE_SUFFIXES",
    "Bot",
    "Flow",
    "Slot",
    "Step",
    "StepType",
    "bot_from_data",
    "load_bot",
    "slug",
]
