"""The `text` expectation: exact, contains, regex, one_of, not, with `icase`; compiled once, regexes included.

Pure: imports nothing but our leaf modules and ``_values``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from pytest_flowai._json import JSON
from pytest_flowai.errors import Span, SpecError, quote
from pytest_flowai.expect._values import Found, Mismatch, shown

_OPERATORS = ("equals", "contains", "regex", "one_of", "not")
_IGNORING_CASE = " (ignoring case)"


class TextTest(Protocol):
    """One test on a text; ``phrase`` completes "a text reply ..." (``containing 'Order'``)."""

    def passes(self, text: str) -> bool: ...

    def phrase(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Equals:
    """The text is exactly ``expected``."""

    expected: str
    icase: bool = False

    def passes(self, text: str) -> bool:
        return text.casefold() == self.expected.casefold() if self.icase else text == self.expected

    def phrase(self) -> str:
        return quote(self.expected) + (_IGNORING_CASE if self.icase else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Contains:
    """The text contains ``part``."""

    part: str
    icase: bool = False

    def passes(self, text: str) -> bool:
        return self.part.casefold() in text.casefold() if self.icase else self.part in text

    def phrase(self) -> str:
        return f"containing {quote(self.part)}" + (_IGNORING_CASE if self.icase else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Regex:
    """The pattern is found somewhere in the text (``re.search``); named groups become captures."""

    pattern: re.Pattern[str]

    def passes(self, text: str) -> bool:
        return self.pattern.search(text) is not None

    def phrase(self) -> str:
        icase = _IGNORING_CASE if self.pattern.flags & re.IGNORECASE else ""
        return f"matching regex {quote(self.pattern.pattern)}{icase}"

    def groups(self, text: str) -> dict[str, JSON]:
        """The named groups that took part in the match."""
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    """The inner test fails."""

    inner: TextTest

    def passes(self, text: str) -> bool:
        return not self.inner.passes(text)

    def phrase(self) -> str:
        return f"not {self.inner.phrase()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMatcher:
    """The `text` key: a test applied to ``payload.text``."""

    test: TextTest
    source: str = "payload.text"

    def check(self, value: Found) -> Mismatch | None:
        if isinstance(value, str) and self.test.passes(value):
            return None
        got = "no text" if not isinstance(value, str) else shown(value)
        return Mismatch(path=self.source, reason=f"expected {self.expected()}, got {got}")

    def describe(self) -> str:
        return f"text {self.test.phrase()}"

    def expected(self) -> str:
        """The expectation as the object of "expected ...": ``'Yes'``, ``text containing 'Order'``."""
        return self.test.phrase() if isinstance(self.test, Equals | OneOf) else f"text {self.test.phrase()}"

    def captures(self, value: Found) -> dict[str, JSON]:
        """Named regex groups of a matching text; a negated regex captures nothing."""
        if isinstance(self.test, Regex) and isinstance(value, str):
            return self.test.groups(value)
        return {}


def compile_text(value: JSON, span: Span, *, where: str = "text", icase: bool = False) -> TextTest:
    """Build the test for a `text` value (a string, or a mapping with one operator and `icase`).

    Raises:
        SpecError: the value has the wrong shape, or a regex does not compile.
    """
    if isinstance(value, str):
        return Equals(expected=value, icase=icase)
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a string or a mapping, got {quote(value)}", span=span)
    unknown = [key for key in value if key not in (*_OPERATORS, "icase")]
    if unknown:
        raise SpecError(
            f"{where}: unknown key {quote(unknown[0])}",
            span=span,
            hint=f"a text mapping takes one of {', '.join(_OPERATORS)}, plus icase",
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
    # An outer `icase` reaches an inner `not` mapping unless that mapping says otherwise.
    icase = icase_value if "icase" in value else icase
    operator = operators[0]
    operand = value[operator]
    place = f"{where}.{operator}"
    if operator == "not":
        return Not(inner=compile_text(operand, span, where=place, icase=icase))
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
    return Regex(pattern=_compile_regex(operand, span, place, icase=icase))


def _compile_regex(pattern: str, span: Span, place: str, *, icase: bool) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE if icase else 0)
    except re.error as exc:
        raise SpecError(
            f"{place}: invalid regular expression {quote(pattern)}: {exc.msg} at position {exc.pos}",
            span=span,
        ) from exc
