"""One compiled `expect` entry: its matchers and `save` paths, checked against one bubble at a time.

Pure: imports our leaf modules and the other ``expect`` modules only.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pytest_flowai._json import JSON
from pytest_flowai.errors import Span, SpecError, quote
from pytest_flowai.expect._matchers import MATCHERS, CardMatcher, Matcher, TypeMatcher
from pytest_flowai.expect._text import TextMatcher, captures_any
from pytest_flowai.expect._values import MISSING, Bubble, Mismatch, PathSteps, parse_path, resolve

_VARIABLE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_KEYS = (*MATCHERS, "save")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Check:
    key: str
    matcher: Matcher
    steps: PathSteps


@dataclass(frozen=True, slots=True, kw_only=True)
class Save:
    """`save: {var: path}`: the value at ``path`` of a matched bubble becomes the variable ``var``."""

    var: str
    path: str
    steps: PathSteps


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """One `expect` entry, compiled: what one bubble must look like, and what to capture from it."""

    span: Span
    data: Mapping[str, JSON]
    key_spans: Mapping[str, Span] = field(default_factory=lambda: MappingProxyType({}))
    checks: tuple[_Check, ...] = ()
    saves: tuple[Save, ...] = ()
    # Whether `captures` can find anything (a `save`, a named group of a `text` regex): most entries define
    # nothing, and a passing turn need not ask them.
    captures_any: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        texts = (item.matcher for item in self.checks if isinstance(item.matcher, TextMatcher))
        found = bool(self.saves) or any(captures_any(matcher.test) for matcher in texts)
        object.__setattr__(self, "captures_any", found)

    def check(self, bubble: Bubble) -> list[Mismatch]:
        """Every way ``bubble`` differs from this entry, in the entry's key order; [] when it matches."""
        mismatches: list[Mismatch] = []
        for item in self.checks:
            found = item.matcher.check(resolve(bubble, item.steps))
            if found is not None:
                mismatches.append(dataclasses.replace(found, key=item.key))
        for save in self.saves:
            if resolve(bubble, save.steps) is MISSING:
                mismatches.append(
                    Mismatch(path=save.path, reason=f"save: {quote(save.path)} not found", key="save")
                )
        return mismatches

    def captures(self, bubble: Bubble) -> dict[str, JSON]:
        """What a matching ``bubble`` defines: named regex groups, then the `save` values."""
        captured: dict[str, JSON] = {}
        for item in self.checks:
            if isinstance(item.matcher, TextMatcher):
                captured.update(item.matcher.captures(resolve(bubble, item.steps)))
        for save in self.saves:
            value = resolve(bubble, save.steps)
            if value is not MISSING:
                captured[save.var] = value
        return captured

    def describe(self) -> str:
        """The entry in one line of plain words: ``a text reply containing 'Order', from step 'hello'``."""
        by_key = {item.key: item.matcher for item in self.checks}
        kind, text, card = by_key.get("type"), by_key.get("text"), by_key.get("card")
        told = {"type", "text"}
        if isinstance(card, CardMatcher) and text is None and (kind is None or _type_is(kind, "card")):
            head = card.describe()
            told.add("card")
        else:
            head = kind.describe() if kind is not None else "a text reply" if text is not None else "a reply"
            if isinstance(text, TextMatcher):
                head += (
                    f" {text.test.phrase()}"
                    if kind is None or _type_is(kind, "text")
                    else f", {text.describe()}"
                )
        parts = [head]
        parts.extend(item.matcher.describe() for item in self.checks if item.key not in told)
        parts.extend(f"saving {save.var} from {save.path}" for save in self.saves)
        return ", ".join(parts)

    def span_of(self, mismatch: Mismatch) -> Span:
        """The line of the key that failed, else the entry's own line."""
        return self.key_spans.get(mismatch.key, self.span)


def _type_is(matcher: Matcher, kind: str) -> bool:
    return isinstance(matcher, TypeMatcher) and matcher.expected == kind


def compile_entry(
    data: Mapping[str, JSON], span: Span, key_spans: Mapping[str, Span] | None = None
) -> Expectation:
    """Compile one `expect` entry (after ``{var}`` interpolation); regexes and schemas are built here, once.

    Raises:
        SpecError: an unknown key, a value of the wrong shape, a bad regex, a bad inline schema or a bad
            save path; its span is the key's line when known.
    """
    spans: Mapping[str, Span] = MappingProxyType(dict(key_spans or {}))
    if not isinstance(data, Mapping):
        raise SpecError(f"an expect entry must be a mapping, got {quote(data)}", span=span)
    parts = [compile_key(key, value, spans.get(key, span)) for key, value in data.items()]
    return assemble(data, span, spans, parts)


# One compiled key of an entry: a check, or the `save` paths.
Part = _Check | tuple[Save, ...]


def compile_key(key: str, value: JSON, where: Span) -> Part:
    """Compile one key of an entry (``where`` is its line).

    Raises:
        SpecError: as `compile_entry`, for this key.
    """
    if key == "save":
        return _compile_saves(value, where)
    build = MATCHERS.get(key)
    if build is None:
        close = difflib.get_close_matches(key, _KEYS, n=1)
        raise SpecError(
            f"unknown expect key {quote(key)}",
            span=where,
            hint=f"did you mean {close[0]!r}?" if close else f"expect keys are: {', '.join(_KEYS)}",
        )
    matcher = build(value, where)
    steps = parse_path(matcher.source) if matcher.source else ()
    return _Check(key=key, matcher=matcher, steps=steps or ())


def assemble(
    data: Mapping[str, JSON], span: Span, key_spans: Mapping[str, Span], parts: list[Part]
) -> Expectation:
    """The entry from its compiled keys, in the entry's key order (``key_spans`` already read-only)."""
    checks = tuple(part for part in parts if isinstance(part, _Check))
    saves: tuple[Save, ...] = ()
    for part in parts:
        if not isinstance(part, _Check):
            saves = part
    return Expectation(
        span=span, data=MappingProxyType(dict(data)), key_spans=key_spans, checks=checks, saves=saves
    )


def _compile_saves(value: JSON, span: Span) -> tuple[Save, ...]:
    if not isinstance(value, dict):
        raise SpecError(f"save: expected a mapping of variable names to paths, got {quote(value)}", span=span)
    saves: list[Save] = []
    for var, path in value.items():
        if not _VARIABLE.fullmatch(var) or var == "env" or var.startswith("env."):
            raise SpecError(
                f"save: {quote(var)} is not a usable variable name",
                span=span,
                hint="use an identifier (dots allowed); names starting with 'env.' are environment variables",
            )
        steps = parse_path(path) if isinstance(path, str) else None
        if steps is None:
            raise SpecError(
                f"save.{var}: {quote(path)} is not a path",
                span=span,
                hint="write a dotted path with [i] indexes, like 'payload.quickReplies[0].value' or "
                "'message.step.title'",
            )
        saves.append(Save(var=var, path=str(path), steps=steps))
    return tuple(saves)
