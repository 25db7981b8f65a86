"""The matchers of every `expect` key but `text` and `save`; the registry mapping a YAML key to its builder.

A matcher is a small frozen value: ``source`` (the path it reads from a bubble), ``check(value)`` and
``describe()``. Pure: imports our leaf modules only, and jsonschema when a `schema` key is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import Span, SpecError, cut, quote
from pytest_flowai.expect._assign import assign_any_order
from pytest_flowai.expect._text import TextMatcher, compile_text
from pytest_flowai.expect._values import (
    MISSING,
    Found,
    Mismatch,
    join,
    json_equal,
    shown,
    subset_mismatch,
    walk,
)
from pytest_flowai.spec.metaschema import check_schema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


class Matcher(Protocol):
    """What every `expect` key compiles to."""

    @property
    def source(self) -> str:
        """The path it reads: relative to the response, or ``message.…``; empty for the whole response."""
        ...

    def check(self, value: Found) -> Mismatch | None: ...

    def describe(self) -> str: ...


# -- response keys -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeMatcher:
    """`type`: the response's template type, exactly."""

    expected: str
    source: str = "type"

    def check(self, value: Found) -> Mismatch | None:
        if json_equal(self.expected, value):
            return None
        return Mismatch(path=self.source, reason=f"expected {quote(self.expected)}, got {shown(value)}")

    def describe(self) -> str:
        article = "an" if self.expected[:1].lower() in ("a", "e", "i", "o", "u") else "a"
        return f"{article} {self.expected} reply"


def _labels(items: list[JSON]) -> str:
    """Wire quick replies or buttons shown by their labels, objects without one as they are."""
    return quote(
        [item.get("label") if isinstance(item, dict) and "label" in item else item for item in items]
    )


def _item_mismatch(expected: JSON, actual: JSON, path: str) -> Mismatch | None:
    """A label (string) is the wire object's `label`; a mapping is a JSON subset of the wire object."""
    if isinstance(expected, str):
        label = walk(actual, ("label",))
        if json_equal(expected, label):
            return None
        return Mismatch(path=join(path, "label"), reason=f"expected {quote(expected)}, got {shown(label)}")
    return subset_mismatch(expected, actual, path)


def _item_fits(expected: JSON, actual: JSON) -> bool:
    """Whether `_item_mismatch` finds nothing, without wording a mismatch (subset checks try every pair)."""
    if isinstance(expected, str):
        # A string equals only a string, so an equal label is a string label: json_equal's verdict.
        return isinstance(actual, dict) and actual.get("label") == expected
    return subset_mismatch(expected, actual, "") is None


def _placed_greedily(wanted: tuple[JSON, ...], actual: list[JSON]) -> bool:
    """Whether each wanted item fits a distinct actual one, each taking the first free fit: when it does,
    a full assignment exists and the search for a maximum one can be spared (the usual passing case)."""
    free = list(actual)
    for want in wanted:
        for index, got in enumerate(free):
            if _item_fits(want, got):
                del free[index]
                break
        else:
            return False
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemsMatcher:
    """`quickReplies` / `buttons`: the exact list in order, or (``subset``) these present in any order."""

    noun: str
    source: str
    items: tuple[JSON, ...]
    subset: bool = False

    def check(self, value: Found) -> Mismatch | None:
        actual: JSON = [] if value is MISSING or value is None else value
        if not isinstance(actual, list):
            return Mismatch(path=self.source, reason=f"expected a list of {self.noun}, got {quote(actual)}")
        return self._check_subset(actual) if self.subset else self._check_exact(actual)

    def _check_exact(self, actual: list[JSON]) -> Mismatch | None:
        if len(actual) != len(self.items):
            got = f"{len(actual)} {_labels(actual)}" if actual else "none"
            return Mismatch(
                path=self.source,
                reason=f"expected {len(self.items)} {self.noun} {quote(list(self.items))}, got {got}",
            )
        for index, (want, got_item) in enumerate(zip(self.items, actual, strict=True)):
            found = _item_mismatch(want, got_item, join(self.source, index))
            if found is not None:
                return found
        return None

    def _check_subset(self, actual: list[JSON]) -> Mismatch | None:
        if _placed_greedily(self.items, actual):
            return None
        fits = [[_item_fits(want, got) for got in actual] for want in self.items]
        placed = assign_any_order(fits, len(actual))
        for index, want in enumerate(self.items):
            if index not in placed:
                got = _labels(actual) if actual else "none"
                return Mismatch(
                    path=self.source, reason=f"expected {self.noun} to include {quote(want)}, got {got}"
                )
        return None

    def describe(self) -> str:
        shown_items = quote(list(self.items))
        return f"{self.noun} including {shown_items}" if self.subset else f"{self.noun} {shown_items}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CardMatcher:
    """`card`: a `card` response whose title, subtitle and buttons are as given (each optional)."""

    title: str | None = None
    subtitle: str | None = None
    buttons: ItemsMatcher | None = None
    source: str = ""

    def check(self, value: Found) -> Mismatch | None:
        kind = walk(value, ("type",))
        if not json_equal("card", kind):
            return Mismatch(path="type", reason=f"expected a 'card' response, got {shown(kind)}")
        for field, expected in (("title", self.title), ("subtitle", self.subtitle)):
            if expected is None:
                continue
            got = walk(value, ("payload", field))
            if not json_equal(expected, got):
                return Mismatch(
                    path=f"payload.{field}", reason=f"expected {quote(expected)}, got {shown(got)}"
                )
        if self.buttons is not None:
            return self.buttons.check(walk(value, ("payload", "buttons")))
        return None

    def describe(self) -> str:
        parts = ["a card"]
        if self.title is not None:
            parts.append(f"titled {quote(self.title)}")
        if self.subtitle is not None:
            parts.append(f"with subtitle {quote(self.subtitle)}")
        if self.buttons is not None:
            parts.append(f"with {self.buttons.describe()}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class PayloadMatcher:
    """`payload`: a JSON subset of the response's payload."""

    expected: JSON
    source: str = "payload"

    def check(self, value: Found) -> Mismatch | None:
        return subset_mismatch(self.expected, value, self.source)

    def describe(self) -> str:
        return f"payload including {quote(self.expected)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaMatcher:
    """`schema`: an inline JSON Schema (draft 2020-12) applied to the response ``{type, payload, delay}``."""

    schema: JSON
    validator: Draft202012Validator
    source: str = ""

    def check(self, value: Found) -> Mismatch | None:
        errors = list(self.validator.iter_errors(None if value is MISSING else value))
        if not errors:
            return None
        from jsonschema.exceptions import best_match  # loaded with the validator, by _build_schema

        error: ValidationError = best_match(errors)
        path = ""
        for step in error.absolute_path:
            path = join(path, step)
        return Mismatch(path=path, reason=f"schema: {cut(error.message)}")

    def describe(self) -> str:
        title = self.schema.get("title") if isinstance(self.schema, dict) else None
        return f"matching schema {quote(title)}" if isinstance(title, str) else "matching the inline schema"


# -- message keys --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TitleOrIdMatcher:
    """`flow` / `step`: the message's flow or step, named by its title or its id."""

    key: str
    id_field: str
    expected: str

    @property
    def source(self) -> str:
        return f"message.{self.key}"

    def check(self, value: Found) -> Mismatch | None:
        if not isinstance(value, dict):
            return Mismatch(path=self.source, reason=f"expected {quote(self.expected)}, got no {self.key}")
        title, ident = value.get("title", MISSING), value.get(self.id_field, MISSING)
        if json_equal(self.expected, title) or json_equal(self.expected, ident):
            return None
        return Mismatch(
            path=join(self.source, "title"),
            reason=f"expected {quote(self.expected)} (title or id), got {shown(title)} (id {shown(ident)})",
        )

    def describe(self) -> str:
        return f"from {self.key} {quote(self.expected)}"


def _as_text(value: JSON) -> str | None:
    """How a YAML scalar reads as a wire param string: 42 -> '42', true -> 'true'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamsMatcher:
    """`params`: a subset of the message's params; a simple value is the first wire value's `value`."""

    expected: JSONObject
    source: str = "message.params"

    def check(self, value: Found) -> Mismatch | None:
        params: JSONObject = value if isinstance(value, dict) else {}
        for name, want in self.expected.items():
            path = join(self.source, name)
            got = params.get(name, MISSING)
            if isinstance(want, list):
                found = subset_mismatch(want, got, path)
            else:
                found = self._check_simple(want, walk(got, (0, "value")), path)
            if found is not None:
                return found
        return None

    @staticmethod
    def _check_simple(want: JSON, got: Found, path: str) -> Mismatch | None:
        path = f"{path}[0].value"
        if isinstance(want, dict):
            return subset_mismatch(want, got, path)
        # Wire params are strings; a YAML number or boolean written simply means its text.
        if json_equal(want, got) or (isinstance(got, str) and _as_text(want) == got):
            return None
        return Mismatch(path=path, reason=f"expected {quote(want)}, got {shown(got)}")

    def describe(self) -> str:
        return f"params including {quote(self.expected)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackMatcher:
    """`fallback`: whether an UNKNOWN step answered (not the wire's `fallback` speech text)."""

    expected: bool
    source: str = "message.step.type"

    def check(self, value: Found) -> Mismatch | None:
        if (value == "UNKNOWN") == self.expected:
            return None
        got = f"a step of type {quote(value)}" if isinstance(value, str) else "no step type"
        if self.expected:
            return Mismatch(path=self.source, reason=f"expected the fallback (an UNKNOWN step), got {got}")
        return Mismatch(
            path=self.source, reason="expected a step other than the fallback, got an UNKNOWN step"
        )

    def describe(self) -> str:
        return "answered by the fallback (UNKNOWN) step" if self.expected else "not answered by the fallback"


@dataclass(frozen=True, slots=True, kw_only=True)
class SilentMatcher:
    """`silent`: the message's `silent` flag; absent means false."""

    expected: bool
    source: str = "message.silent"

    def check(self, value: Found) -> Mismatch | None:
        actual: Found = False if value is MISSING else value
        if json_equal(self.expected, actual):
            return None
        return Mismatch(path=self.source, reason=f"expected {quote(self.expected)}, got {shown(actual)}")

    def describe(self) -> str:
        return "silent" if self.expected else "not silent"


@dataclass(frozen=True, slots=True, kw_only=True)
class DelayMatcher:
    """`delay`: the response's `delay` as sent (milliseconds on the wire; absent means 0), exactly, or
    within `{min, max}`."""

    low: float
    high: float
    source: str = "delay"

    def check(self, value: Found) -> Mismatch | None:
        actual: Found = 0 if value is MISSING else value
        if (
            isinstance(actual, int | float)
            and not isinstance(actual, bool)
            and self.low <= actual <= self.high
        ):
            return None
        return Mismatch(path=self.source, reason=f"expected {self._wanted()}, got {shown(actual)}")

    def _wanted(self) -> str:
        if self.low == self.high:
            return f"{self.low:g}"
        if self.high == float("inf"):
            return f"at least {self.low:g}"
        return f"between {self.low:g} and {self.high:g}"

    def describe(self) -> str:
        return f"delayed {self._wanted()} ms"


# -- building matchers from YAML values ----------------------------------------------------------------------


def _string(key: str, value: JSON, span: Span) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{key}: expected a string, got {quote(value)}", span=span)
    return value


def _boolean(key: str, value: JSON, span: Span) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{key}: expected true or false, got {quote(value)}", span=span)
    return value


def _items(key: str, noun: str, source: str, value: JSON, span: Span) -> ItemsMatcher:
    subset = isinstance(value, dict)
    if isinstance(value, dict):
        if set(value) != {"subset"}:
            raise SpecError(
                f"{key}: a mapping here takes only the key 'subset', got {quote(sorted(value))}", span=span
            )
        value = value["subset"]
        key = f"{key}.subset"
    if not isinstance(value, list):
        raise SpecError(f"{key}: expected a list of labels or mappings, got {quote(value)}", span=span)
    for index, item in enumerate(value):
        if not isinstance(item, str | dict):
            raise SpecError(f"{key}[{index}]: expected a label or a mapping, got {quote(item)}", span=span)
    return ItemsMatcher(noun=noun, source=source, items=tuple(value), subset=subset)


def _build_quick_replies(value: JSON, span: Span) -> Matcher:
    return _items("quickReplies", "quick replies", "payload.quickReplies", value, span)


def _build_buttons(value: JSON, span: Span) -> Matcher:
    return _items("buttons", "buttons", "payload.buttons", value, span)


def _build_card(value: JSON, span: Span) -> Matcher:
    if not isinstance(value, dict):
        raise SpecError(
            f"card: expected a mapping of title, subtitle, buttons, got {quote(value)}", span=span
        )
    unknown = sorted(set(value) - {"title", "subtitle", "buttons"})
    if unknown:
        raise SpecError(
            f"card: unknown key {quote(unknown[0])} (card takes title, subtitle, buttons)", span=span
        )
    title = _string("card.title", value["title"], span) if "title" in value else None
    subtitle = _string("card.subtitle", value["subtitle"], span) if "subtitle" in value else None
    buttons = (
        _items("card.buttons", "buttons", "payload.buttons", value["buttons"], span)
        if "buttons" in value
        else None
    )
    return CardMatcher(title=title, subtitle=subtitle, buttons=buttons)


def _build_schema(value: JSON, span: Span) -> Matcher:
    if not isinstance(value, dict | bool):
        raise SpecError(f"schema: expected a JSON Schema (a mapping), got {quote(value)}", span=span)
    # Imported here: jsonschema costs about as much to import as pytest, and few specs use `schema`.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        check_schema(value)  # already checked at collection: remembered, not checked again
    except SchemaError as exc:
        raise SpecError(f"schema: not a valid JSON Schema: {cut(str(exc.message))}", span=span) from exc
    _check_refs(value, value, span)
    return SchemaMatcher(schema=value, validator=Draft202012Validator(value))


def _check_refs(node: JSON, root: JSON, span: Span) -> None:
    """Only local references (``#/$defs/x``) can resolve in an inline schema; say so now, not at run time."""
    if isinstance(node, list):
        for item in node:
            _check_refs(item, root, span)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("$ref", "$dynamicRef") and isinstance(value, str) and _pointer(root, value) is MISSING:
            raise SpecError(
                f"schema: cannot resolve {key} {quote(value)}",
                span=span,
                hint="an inline schema may only refer to its own parts, like '#/$defs/name'",
            )
        _check_refs(value, root, span)


def _pointer(root: JSON, ref: str) -> Found:
    if not ref.startswith("#"):
        return MISSING
    fragment = ref[1:]
    if not fragment:
        return root
    if not fragment.startswith("/"):
        return MISSING  # a named anchor; checking it would mean implementing $anchor lookup
    node: JSON = root
    for raw in fragment[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        found = walk(node, (int(part),) if isinstance(node, list) and part.isdigit() else (part,))
        if found is MISSING:
            return MISSING
        node = found
    return node


def _build_type(value: JSON, span: Span) -> Matcher:
    return TypeMatcher(expected=_string("type", value, span))


def _build_text(value: JSON, span: Span) -> Matcher:
    return TextMatcher(test=compile_text(value, span))


def _build_payload(value: JSON, span: Span) -> Matcher:
    return PayloadMatcher(expected=value)


def _build_flow(value: JSON, span: Span) -> Matcher:
    return TitleOrIdMatcher(key="flow", id_field="flowId", expected=_string("flow", value, span))


def _build_step(value: JSON, span: Span) -> Matcher:
    return TitleOrIdMatcher(key="step", id_field="stepId", expected=_string("step", value, span))


def _build_params(value: JSON, span: Span) -> Matcher:
    if not isinstance(value, dict):
        raise SpecError(f"params: expected a mapping of parameter names, got {quote(value)}", span=span)
    return ParamsMatcher(expected=value)


def _build_fallback(value: JSON, span: Span) -> Matcher:
    return FallbackMatcher(expected=_boolean("fallback", value, span))


def _build_silent(value: JSON, span: Span) -> Matcher:
    return SilentMatcher(expected=_boolean("silent", value, span))


def _number(key: str, value: JSON, span: Span) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < float("inf"):
        raise SpecError(f"{key}: expected a number >= 0, got {quote(value)}", span=span)
    return float(value)


def _build_delay(value: JSON, span: Span) -> Matcher:
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"min", "max"})
        if unknown or not value:
            raise SpecError(
                f"delay: expected a number or a mapping with min and/or max, got {quote(value)}", span=span
            )
        low = _number("delay.min", value["min"], span) if "min" in value else 0.0
        high = _number("delay.max", value["max"], span) if "max" in value else float("inf")
        if low > high:
            raise SpecError(f"delay: min {low:g} is over max {high:g}", span=span)
        return DelayMatcher(low=low, high=high)
    exact = _number("delay", value, span)
    return DelayMatcher(low=exact, high=exact)


Builder = Callable[[JSON, Span], Matcher]

# Every `expect` key but `save` (which captures rather than matches), in the order describe() tells them.
MATCHERS: Mapping[str, Builder] = {
    "type": _build_type,
    "text": _build_text,
    "quickReplies": _build_quick_replies,
    "buttons": _build_buttons,
    "card": _build_card,
    "payload": _build_payload,
    "schema": _build_schema,
    "flow": _build_flow,
    "step": _build_step,
    "params": _build_params,
    "fallback": _build_fallback,
    "silent": _build_silent,
    "delay": _build_delay,
}
