"""Specs checked against the bot they test: flow, step and event names it lacks, texts it never says.

Pure: takes a spec ``Conversation`` and a ``BotShape`` (built from Management-API flow objects) and returns
findings; no pytest, no I/O. ``nodes.py`` turns errors into collection errors and warnings into warnings.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import Span
from pytest_flowai.spec.model import Conversation, Event, ExpectEntry

# The template types of Flow.ai responses (the response schema's list); a spec may expect others.
TEMPLATE_TYPES = frozenset(
    {"text", "image", "video", "audio", "file", "location", "card", "buttons", "carousel", "list"}
    | {"custom", "note", "handover", "webview"}
)
# A bot text with a placeholder ({size}, {{size}}) says something different every time: any text there.
_BOT_PLACEHOLDER = re.compile(r"\{\{?[^{}]*\}\}?")


@dataclass(frozen=True, slots=True, kw_only=True)
class BotStep:
    """One step as a spec may name it, with the text variants of each of its TEXT actions."""

    step_id: str
    title: str
    type: str
    flow_title: str
    texts: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BotFlow:
    flow_id: str
    title: str
    steps: tuple[BotStep, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BotShape:
    """The names a bot answers to, and the response types its actions send."""

    flows: tuple[BotFlow, ...]

    def steps(self) -> Iterable[BotStep]:
        return (step for flow in self.flows for step in flow.steps)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One thing a spec says that the bot contradicts; ``error`` ones fail collection, others warn."""

    span: Span
    message: str
    hint: str | None = None
    error: bool = True

    def __str__(self) -> str:
        return f"{self.span}: {self.message}" + (f"\n  hint: {self.hint}" if self.hint else "")


def shape_of(flows: Sequence[JSONObject]) -> BotShape:
    """A bot's shape from checked flow objects (each flow and step carrying its id)."""
    built = []
    for flow in flows:
        title = _text(flow.get("title"))
        steps = []
        for step in _objects(flow.get("steps")):
            texts = tuple(
                tuple(_text(t) for t in _list(_object(action.get("payload")).get("texts")))
                for action in _objects(step.get("actions"))
                if _text(action.get("type")).upper() == "TEXT"
            )
            steps.append(
                BotStep(
                    step_id=_text(step.get("stepId")),
                    title=_text(step.get("title")),
                    type=_text(step.get("type")).upper(),
                    flow_title=title,
                    texts=tuple(variants for variants in texts if variants),
                )
            )
        built.append(BotFlow(flow_id=_text(flow.get("flowId")), title=title, steps=tuple(steps)))
    return BotShape(flows=tuple(built))


def check(conversation: Conversation, bot: BotShape) -> list[Finding]:
    """Every finding of one conversation against the bot, in turn order."""
    findings: list[Finding] = []
    events = sorted({step.title for step in bot.steps() if step.type == "EVENT"})
    for turn in conversation.turns:
        # With expect: none, an event the bot lacks is the point: the spec checks that the bot ignores it.
        value = turn.action.name if isinstance(turn.action, Event) and not turn.expect_none else None
        if value is not None and not _templated(value) and value not in events:
            findings.append(
                Finding(
                    span=turn.span,
                    message=f"the bot has no EVENT step {value!r}",
                    hint=_hint(value, events, "its events"),
                )
            )
        for entry in (*(turn.expect or ()), *turn.forbid):
            findings.extend(_entry(entry, bot))
    return findings


def _entry(entry: ExpectEntry, bot: BotShape) -> list[Finding]:
    findings: list[Finding] = []
    data = entry.data
    flows = list(bot.flows)
    flow_name = data.get("flow")
    if isinstance(flow_name, str) and not _templated(flow_name):
        named = [flow for flow in bot.flows if flow_name in (flow.title, flow.flow_id)]
        if not named:
            names = [flow.title for flow in bot.flows]
            findings.append(
                Finding(
                    span=entry.key_spans.get("flow", entry.span),
                    message=f"the bot has no flow {flow_name!r}",
                    hint=_hint(flow_name, names, "its flows"),
                )
            )
        else:
            flows = named
    step_name = data.get("step")
    steps = [step for flow in flows for step in flow.steps]
    if isinstance(step_name, str) and not _templated(step_name):
        matched = [step for step in steps if step_name in (step.title, step.step_id)]
        if not matched:
            where = (
                f"flow {flow_name!r}"
                if isinstance(flow_name, str) and flows != list(bot.flows)
                else "the bot"
            )
            names = sorted({step.title for step in steps})
            findings.append(
                Finding(
                    span=entry.key_spans.get("step", entry.span),
                    message=f"{where} has no step {step_name!r}",
                    hint=_hint(step_name, names, "its steps"),
                )
            )
            return findings
        steps = matched
        text_steps = matched
    else:
        text_steps = list(bot.steps())
    text = data.get("text")
    if isinstance(text, str) and not _templated(text):
        findings.extend(_text_finding(text, text_steps, entry, named=isinstance(step_name, str)))
    findings.extend(_type_finding(data.get("type"), entry))
    return findings


def _text_finding(text: str, steps: Sequence[BotStep], entry: ExpectEntry, *, named: bool) -> list[Finding]:
    span = entry.key_spans.get("text", entry.span)
    holders = [(step, variants) for step in steps for variants in step.texts if _says(variants, text)]
    for step, said in holders:
        if len(said) > 1:
            others = [variant for variant in said if not _said(variant, text)]
            return [
                Finding(
                    span=span,
                    message=f"text {text!r} is only one of the {len(said)} variants step {step.title!r}"
                    " says at random",
                    hint=f"match them all: text: {{one_of: {[text, *others]!r}}}",
                    error=False,
                )
            ]
    if holders:
        return []
    if named:
        variants = [variant for step in steps for texts in step.texts for variant in texts]
        titles = ", ".join(repr(step.title) for step in steps)
        return [
            Finding(
                span=span,
                message=f"step {titles} never says {text!r}",
                hint=f"its texts: {_cut(variants)}" if variants else "the step sends no text",
                error=False,
            )
        ]
    if not any(step.texts for step in steps):
        return []
    every = [variant for step in steps for texts in step.texts for variant in texts]
    close = difflib.get_close_matches(text, every, n=1, cutoff=0.6)
    return [
        Finding(
            span=span,
            message=f"no step of the bot says {text!r}",
            hint=f"did you mean {close[0]!r}?"
            if close
            else "use contains, regex or similar for a looser match",
            error=False,
        )
    ]


def _type_finding(kind: JSON, entry: ExpectEntry) -> list[Finding]:
    if not isinstance(kind, str) or kind in TEMPLATE_TYPES or _templated(kind):
        return []
    near = difflib.get_close_matches(kind.lower(), sorted(TEMPLATE_TYPES), n=1, cutoff=0.6)
    return [
        Finding(
            span=entry.key_spans.get("type", entry.span),
            message=f"type {kind!r} is no known template type",
            hint=f"did you mean {near[0]!r}?"
            if near
            else f"known types: {', '.join(sorted(TEMPLATE_TYPES))} (a custom type is fine)",
            error=False,
        )
    ]


def _says(variants: Sequence[str], text: str) -> bool:
    return any(_said(variant, text) for variant in variants)


def _said(variant: str, text: str) -> bool:
    if variant == text:
        return True
    if not _BOT_PLACEHOLDER.search(variant):
        return False
    parts = _BOT_PLACEHOLDER.split(variant)
    return re.fullmatch(".*".join(re.escape(part) for part in parts), text, re.DOTALL) is not None


def _hint(name: str, names: Sequence[str], what: str) -> str | None:
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    by_case = [each for each in names if each.lower() == name.lower()]
    if by_case or close:
        return f"did you mean {(by_case or close)[0]!r}?"
    return f"{what}: {_cut(sorted(set(names)))}" if names else None


def _cut(names: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(repr(name) for name in names[:most])
    return shown + (f", … (+{len(names) - most})" if len(names) > most else "")


def _templated(value: str) -> bool:
    """A spec value with a placeholder is known only at run time."""
    return "{" in value


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else ""


def _list(value: JSON) -> list[JSON]:
    return value if isinstance(value, list) else []


def _object(value: JSON) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _objects(value: JSON) -> list[JSONObject]:
    return [item for item in _list(value) if isinstance(item, dict)]


__all__ = ["TEMPLATE_TYPES", "BotFlow", "BotShape", "BotStep", "Finding", "check", "shape_of"]
