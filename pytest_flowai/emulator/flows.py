"""The emulator's bot: Management-API Flow objects loaded from JSON/YAML, checked, and turned into values.

The checks (and the ids a missing ``flowId``/``stepId`` gets: the slug of the title, "Pick size" ->
"pick-size") live in ``schemas.flowfiles``, shared with flowai-validate. Imports only schemas.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import EmulatorError
from pytest_flowai.schemas import flowfiles
from pytest_flowai.schemas.flowfiles import FLOW_FILE_SUFFIXES, list_of, objects_of, slug, text_of


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
        EmulatorError: listing every problem, each with its file and JSON path (and line, where known).
    """
    try:
        checked = flowfiles.check_path(Path(path))
    except flowfiles.BotPathError as exc:
        raise EmulatorError(str(exc)) from None
    return _bot(checked)


def bot_from_data(data: JSON, source: str = "<data>") -> Bot:
    """Build a bot from already parsed data: one flow, a list of flows, or ``{"flows": [...]}``.

    Raises:
        EmulatorError: listing every problem, each with ``source`` and its JSON path.
    """
    checker = flowfiles.BotChecker()
    checker.add_data(data, source=source)
    return _bot(checker.result())


# --- building (the checks live in schemas.flowfiles, which flowai-validate shares) ---


def _bot(checked: flowfiles.CheckedBot) -> Bot:
    if checked.problems:
        count = len(checked.problems)
        listing = "\n".join(f"  {problem}" for problem in checked.problems)
        raise EmulatorError(f"invalid bot definition ({count} problem{'s' * (count != 1)}):\n{listing}")
    return Bot(flows=tuple(_build_flow(raw) for raw in checked.flows))


def _build_flow(raw: JSONObject) -> Flow:
    """A Flow from a checked flow object, whose flow and steps carry their ids."""
    title, flow_id = text_of(raw["title"]), text_of(raw["flowId"])
    steps = tuple(_build_step(step, flow_id=flow_id, flow_title=title) for step in objects_of(raw["steps"]))
    group = raw.get("group")
    return Flow(
        flow_id=flow_id,
        title=title,
        group=group if isinstance(group, str) else None,
        disabled=raw.get("disabled") is True,
        steps=steps,
        raw=raw,
    )


def _build_step(raw: JSONObject, *, flow_id: str, flow_title: str) -> Step:
    """A Step from a schema-valid step object (the schema guarantees the shapes read here)."""
    title = text_of(raw["title"])
    intent = raw.get("intent")
    intent_obj = intent if isinstance(intent, dict) else {}
    examples = tuple(text_of(example.get("query")) for example in objects_of(intent_obj.get("examples")))
    slot_raw = raw.get("slot")
    slot = None
    if isinstance(slot_raw, dict):
        slot = Slot(
            label=text_of(slot_raw.get("label")),
            validation=text_of(slot_raw.get("validation")) or None,
        )
    return Step(
        step_id=text_of(raw["stepId"]),
        title=title,
        type=StepType(text_of(raw["type"])),
        contexts=tuple(text_of(context) for context in list_of(raw.get("contexts"))),
        examples=examples,
        actions=tuple(copy.deepcopy(action) for action in objects_of(raw.get("actions"))),
        slot=slot,
        flow_id=flow_id,
        flow_title=flow_title,
        intent_title=text_of(intent_obj.get("title")) or None,
        manual_trigger=raw.get("manualTrigger") is True,
    )


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
