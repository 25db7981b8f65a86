"""An `expect` entry as a template: its keys without placeholders compiled once, the others filled with the
run's variables and compiled when used. Pure: imports spec.interpolate, spec.model and the expect modules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import Span, SpecError
from pytest_flowai.expect._entry import Expectation, Part, assemble, compile_entry, compile_key
from pytest_flowai.spec.interpolate import as_text, fill, interpolate, is_template, lookup

if TYPE_CHECKING:
    from pytest_flowai.spec.model import ExpectEntry


class _Slot:
    """One key whose value holds placeholders; the last filling and its compiled form are kept, since the
    same variables (a spec's `vars`) usually fill it the same way run after run."""

    __slots__ = ("filled", "key", "part", "value")

    def __init__(self, key: str, value: JSON) -> None:
        self.key = key
        self.value = value
        self.filled = ""
        self.part: Part | None = None

    def compile(self, filled: JSON, where: Span) -> Part:
        # By repr, not ==: True == 1 == 1.0, but each compiles to a different matcher.
        shown = repr(filled)
        if self.part is None or shown != self.filled:
            self.part = compile_key(self.key, filled, where)
            self.filled = shown
        return self.part


class EntryTemplate:
    """An entry compiled as far as it can be before a run; `fill` completes it with the run's variables."""

    __slots__ = ("_data", "_fixed", "_key_spans", "_parts", "_span")

    def __init__(self, data: Mapping[str, JSON], span: Span, key_spans: Mapping[str, Span]) -> None:
        self._data = data
        self._span = span
        self._key_spans: Mapping[str, Span] = MappingProxyType(dict(key_spans))
        # An entry without placeholders is compiled here, once; its errors are raised by `fill`, at run time.
        self._fixed: Expectation | None = None
        self._parts: list[Part | _Slot] | None = None
        try:
            if not any(is_template(value) for value in data.values()):
                self._fixed = compile_entry(data, span, self._key_spans)
                return
            self._parts = [
                _Slot(key, value) if is_template(value) else compile_key(key, value, self._where(key))
                for key, value in data.items()
            ]
        except SpecError:
            # Compiled whole at each run, so which error a run reports stays as it was (filling first).
            self._parts = None

    @property
    def fixed(self) -> Expectation | None:
        """The compiled entry when no variable can change it (what every `fill` returns); else None."""
        return self._fixed

    def _where(self, key: str) -> Span:
        return self._key_spans.get(key, self._span)

    def fill(self, variables: Mapping[str, JSON], env: Mapping[str, str]) -> Expectation:
        """The entry with the variables filled in, compiled; inside a `text` regex a value matches literally.

        Raises:
            UndefinedVariable: a placeholder names nothing known.
            SpecError: the entry (as filled) does not compile.
        """
        if self._fixed is not None:
            return self._fixed
        if self._parts is None:
            return compile_entry(fill_entry(self._data, variables, env), self._span, self._key_spans)
        # Every slot is filled before any is compiled, as a whole entry is.
        filled = {
            part.key: fill_value(part.key, part.value, variables, env)
            for part in self._parts
            if isinstance(part, _Slot)
        }
        compiled = [
            part.compile(filled[part.key], self._where(part.key)) if isinstance(part, _Slot) else part
            for part in self._parts
        ]
        data = {key: filled.get(key, value) for key, value in self._data.items()}
        return assemble(data, self._span, self._key_spans, compiled)


def template_of(entry: ExpectEntry) -> EntryTemplate:
    """The entry's template, for one run of its turn. Not kept on the entry: a suite runs each turn once,
    and keeping every turn's compiled entries would hold them (and the garbage collector's work on them) for
    the whole session, to spare only reruns a compilation the runner makes while the bot answers."""
    return EntryTemplate(entry.data, entry.span, entry.key_spans)


def fill_entry(data: Mapping[str, JSON], variables: Mapping[str, JSON], env: Mapping[str, str]) -> JSONObject:
    """An expectation entry with variables filled in; inside a `text` regex a value matches literally."""
    return {key: fill_value(key, value, variables, env) for key, value in data.items()}


def fill_value(key: str, value: JSON, variables: Mapping[str, JSON], env: Mapping[str, str]) -> JSON:
    """One key's value with variables filled in."""
    if key == "text" and isinstance(value, dict):
        return _fill_text(value, variables, env)
    return interpolate(value, variables, env)


def _fill_text(matcher: JSONObject, variables: Mapping[str, JSON], env: Mapping[str, str]) -> JSONObject:
    def literal(name: str) -> str:
        # A captured "4.2" must match "4.2", not "4x2".
        return re.escape(as_text(lookup(name, variables, env)))

    out: JSONObject = {}
    for key, value in matcher.items():
        if key == "regex" and isinstance(value, str):
            out[key] = fill(value, literal)
        elif key == "not" and isinstance(value, dict):
            out[key] = _fill_text(value, variables, env)
        elif key in ("all_of", "any_of") and isinstance(value, list):
            out[key] = [
                _fill_text(item, variables, env)
                if isinstance(item, dict)
                else interpolate(item, variables, env)
                for item in value
            ]
        else:
            out[key] = interpolate(value, variables, env)
    return out


__all__ = ["EntryTemplate", "fill_entry", "fill_value", "template_of"]
