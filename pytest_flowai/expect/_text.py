"""The `text` expectation: exact, contains, regex, one_of, not, similar, all_of, any_of, with `icase`.

Compiled once, regexes included. Pure: imports our leaf modules and ``_values`` only, and rapidfuzz (~15 ms
to import) the first time a `similar` test scores a text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

from pytest_flowai._json import JSON
from pytest_flowai.errors import Span, SpecError, quote
from pytest_flowai.expect._values import Found, Mismatch, shown

_OPERATORS = ("equals", "contains", "regex", "one_of", "not", "similar", "all_of", "any_of")
_MODIFIERS = ("icase", "min")
_IGNORING_CASE = " (ignoring case)"
# The documented default of `similar`: wording may vary a little, not the meaning.
DEFAULT_SIMILARITY = 0.85
_PUNCTUATION = re.compile(r"[^\w\s]+")


class TextTest(Protocol):
    """One test on a text; ``phrase`` completes "a text reply ..." (``containing 'Order'``)."""

    def passes(self, text: str) -> bool: ...

    def phrase(self) -> str: ...

    def note(self, text: str) -> str:
        """What a failure adds after the text it got (a similarity score); "" when nothing."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Equals:
    """The text is exactly ``expected``."""

    expected: str
    icase: bool = False

    def passes(self, text: str) -> bool:
        return text.casefold() == self.expected.casefold() if self.icase else text == self.expected

    def phrase(self) -> str:
        return quote(self.expected) + (_IGNORING_CASE if self.icase else "")

    def note(self, text: str) -> str:
        return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Contains:
    """The text contains ``part``."""

    part: str
    icase: bool = False

    def passes(self, text: str) -> bool:
        return self.part.casefold() in text.casefold() if self.icase else self.part in text

    def phrase(self) -> str:
        return f"containing {quote(self.part)}" + (_IGNORING_CASE if self.icase else "")

    def note(self, text: str) -> str:
        return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Regex:
    """The pattern is found somewhere in the text (``re.search``); named groups become captures."""

    pattern: re.Pattern[str]

    def passes(self, text: str) -> bool:
        return self.pattern.search(text) is not None

    def phrase(self) -> str:
        icase = _IGNORING_CASE if self.pattern.flags & re.IGNORECASE else ""
        return f"matching regex {quote(self.pattern.pattern)}{icase}"

    def note(self, text: str) -> str:
        return ""

    def groups(self, text: str) -> dict[str, JSON]:
        """The named groups that took part in the match."""
        if not self.pattern.groupindex:
            return {}  # no named group: spare searching again
        found = self.pattern.search(text)
        if found is None:
            return {}
        return {name: value for name, value in found.groupdict().items() if value is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class OneOf:
    """The text is exactly one of ``options``."""

    options: tuple[str, ...]
    icase: bool = False

    def passes(self, text: str) -> bool:
        if self.icase:
            return text.casefold() in {option.casefold() for option in self.options}
        return text in self.options

    def phrase(self) -> str:
        return f"one of {quote(list(self.options))}" + (_IGNORING_CASE if self.icase else "")

    def note(self, text: str) -> str:
        return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Similar:
    """The text scores at least ``minimum`` against ``expected`` (rapidfuzz token-set ratio, 0..1).

    Punctuation is ignored and the words' order does not count; case counts unless ``icase``.
    """

    expected: str
    minimum: float = DEFAULT_SIMILARITY
    icase: bool = False

    def score(self, text: str) -> float:
        """How similar ``text`` is to the expectation: 1.0 for the same words, 0.0 for nothing shared."""
        ours, theirs = self._words(self.expected), self._words(text)
        if ours == theirs:
            return 1.0
        from rapidfuzz import fuzz

        return fuzz.token_set_ratio(ours, theirs) / 100

    def _words(self, text: str) -> str:
        words = " ".join(_PUNCTUATION.sub(" ", text).split())
        return words.casefold() if self.icase else words

    def passes(self, text: str) -> bool:
        return self.score(text) >= self.minimum

    def phrase(self) -> str:
        icase = _IGNORING_CASE if self.icase else ""
        return f"at least {self.minimum:g} similar to {quote(self.expected)}{icase}"

    def note(self, text: str) -> str:
        # Rounded down, so a failing score never prints as the minimum it missed.
        return f"{math.floor(self.score(text) * 100) / 100:.2f} similar"


def _nested(test: TextTest) -> str:
    """A phrase inside another test: a combination of several in parentheses, so `not` reads right."""
    if isinstance(test, AllOf | AnyOf) and len(test.tests) > 1:
        return f"({test.phrase()})"
    return test.phrase()


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    """The inner test fails."""

    inner: TextTest

    def passes(self, text: str) -> bool:
        return not self.inner.passes(text)

    def phrase(self) -> str:
        return f"not {_nested(self.inner)}"

    def note(self, text: str) -> str:
        return self.inner.note(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class AllOf:
    """Every one of ``tests`` passes."""

    tests: tuple[TextTest, ...]

    def passes(self, text: str) -> bool:
        return all(test.passes(text) for test in self.tests)

    def phrase(self) -> str:
        return " and ".join(_nested(test) for test in self.tests)

    def note(self, text: str) -> str:
        for test in self.tests:
            if not test.passes(text):
                inner = test.note(text)
                return f"not {_nested(test)}" + (f": {inner}" if inner else "")
        return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnyOf:
    """At least one of ``tests`` passes."""

    tests: tuple[TextTest, ...]

    def passes(self, text: str) -> bool:
        return any(test.passes(text) for test in self.tests)

    def phrase(self) -> str:
        return " or ".join(_nested(test) for test in self.tests)

    def note(self, text: str) -> str:
        if self.passes(text):
            return ""
        return "; ".join(note for test in self.tests if (note := test.note(text)))


def closeness(test: TextTest, text: str) -> float:
    """How near a failing text came (a similarity score), to pick the closest of several bubbles; else 0."""
    if isinstance(test, Similar):
        return test.score(text)
    if isinstance(test, AllOf | AnyOf):
        return max(closeness(inner, text) for inner in test.tests)
    return 0.0


def groups(test: TextTest, text: str) -> dict[str, JSON]:
    """Named regex groups of a passing test: a regex's, or those of the regexes of an `all_of`.

    A regex under `not` matched nothing; under `any_of` it may not be the element that passed.
    """
    if isinstance(test, Regex):
        return test.groups(text)
    captured: dict[str, JSON] = {}
    if isinstance(test, AllOf):
        for inner in test.tests:
            captured.update(groups(inner, text))
    return captured


def captures_any(test: TextTest) -> bool:
    """Whether `groups` can find anything for ``test``: a regex with a named group, alone or in all_of."""
    if isinstance(test, Regex):
        return bool(test.pattern.groupindex)
    return isinstance(test, AllOf) and any(captures_any(inner) for inner in test.tests)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMatcher:
    """The `text` key: a test applied to ``payload.text``."""

    test: TextTest
    source: str = "payload.text"

    def check(self, value: Found) -> Mismatch | None:
        if isinstance(value, str) and self.test.passes(value):
            return None
        if not isinstance(value, str):
            return Mismatch(path=self.source, reason=f"expected {self.expected()}, got no text")
        note = self.test.note(value)
        return Mismatch(
            path=self.source,
            reason=f"expected {self.expected()}, got {shown(value)}" + (f" ({note})" if note else ""),
            closeness=closeness(self.test, value),
        )

    def describe(self) -> str:
        return f"text {self.test.phrase()}"

    def expected(self) -> str:
        """The expectation as the object of "expected ...": ``'Yes'``, ``text containing 'Order'``."""
        return self.test.phrase() if isinstance(self.test, Equals | OneOf) else f"text {self.test.phrase()}"

    def captures(self, value: Found) -> dict[str, JSON]:
        """Named regex groups of a matching text; a negated regex captures nothing."""
        return groups(self.test, value) if isinstance(value, str) else {}


def compile_text(value: JSON, span: Span, *, where: str = "text", icase: bool = False) -> TextTest:
    """Build the test for a `text` value (a string, or a mapping with one operator and its modifiers).

    Raises:
        SpecError: the value has the wrong shape, or a regex does not compile.
    """
    if isinstance(value, str):
        return Equals(expected=value, icase=icase)
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a string or a mapping, got {quote(value)}", span=span)
    unknown = [key for key in value if key not in (*_OPERATORS, *_MODIFIERS)]
    if unknown:
        raise SpecError(
            f"{where}: unknown key {quote(unknown[0])}",
            span=span,
            hint=f"a text mapping takes one of {', '.join(_OPERATORS)}, plus icase (and min with similar)",
        )
    operators = [key for key in _OPERATORS if key in value]
    if len(operators) != 1:
        found = ", ".join(operators) if operators else "none"
        raise SpecError(
            f"{where}: needs exactly one of {', '.join(_OPERATORS)} (found {found})",
            span=span,
        )
    icase_value = value.get("icase", False)
    if not isinstance(icase_value, bool):
        raise SpecError(f"{where}.icase: expected true or false, got {quote(icase_value)}", span=span)
    # An outer `icase` reaches inner mappings (`not`, `all_of`, `any_of`) unless they say otherwise.
    icase = icase_value if "icase" in value else icase
    operator = operators[0]
    operand = value[operator]
    place = f"{where}.{operator}"
    if "min" in value and operator != "similar":
        raise SpecError(f"{where}.min: belongs to similar, not to {operator}", span=span)
    if operator == "not":
        return Not(inner=compile_text(operand, span, where=place, icase=icase))
    if operator in ("all_of", "any_of"):
        if not isinstance(operand, list) or not operand:
            raise SpecError(
                f"{place}: expected a non-empty list of texts or text mappings, got {quote(operand)}",
                span=span,
            )
        tests = tuple(
            compile_text(item, span, where=f"{place}[{index}]", icase=icase)
            for index, item in enumerate(operand)
        )
        return AllOf(tests=tests) if operator == "all_of" else AnyOf(tests=tests)
    if operator == "one_of":
        if not isinstance(operand, list) or not operand or not all(isinstance(o, str) for o in operand):
            raise SpecError(f"{place}: expected a non-empty list of strings, got {quote(operand)}", span=span)
        return OneOf(options=tuple(o for o in operand if isinstance(o, str)), icase=icase)
    if not isinstance(operand, str):
        raise SpecError(f"{place}: expected a string, got {quote(operand)}", span=span)
    if operator == "equals":
        return Equals(expected=operand, icase=icase)
    if operator == "contains":
        return Contains(part=operand, icase=icase)
    if operator == "similar":
        return Similar(expected=operand, minimum=_minimum(value.get("min"), span, where), icase=icase)
    return Regex(pattern=_compile_regex(operand, span, place, icase=icase))


def _minimum(value: JSON, span: Span, where: str) -> float:
    if value is None:
        return DEFAULT_SIMILARITY
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise SpecError(f"{where}.min: expected a number from 0 to 1, got {quote(value)}", span=span)
    return float(value)


def _compile_regex(pattern: str, span: Span, place: str, *, icase: bool) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE if icase else 0)
    except re.error as exc:
        raise SpecError(
            f"{place}: invalid regular expression {quote(pattern)}: {exc.msg} at position {exc.pos}",
            span=span,
        ) from exc
