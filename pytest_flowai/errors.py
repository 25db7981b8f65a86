"""Every exception pytest-flowai raises; the type says who is at fault. A leaf module: imports nothing of ours
but ``_json`` and ``secret``, so the emulator and the schemas may use it too.

    FlowaiError                  base of everything below
    ├── SpecError                the spec author: a spec file is wrong (carries a span)
    │   ├── SpecSyntaxError      the YAML does not parse
    │   ├── SpecSchemaError      the YAML parses but breaks the spec grammar (one or more problems)
    │   ├── UndefinedVariable    a placeholder names a variable that has no value
    │   └── SpecRunError         a spec mistake found while a turn runs (carries the turn and transcript)
    ├── BotError                 the bot or its server: what it sent is not what the spec asks for
    │   ├── TurnFailed           a reply did not meet the spec's expectations (or did not come)
    │   └── SchemaViolation      a payload breaks a protocol JSON Schema (carries every violation)
    ├── TransportError           the network: refused, timed out, closed, garbage on the wire, HTTP errors
    ├── ConfigurationError       the person running pytest: a setting is missing or wrong
    └── EmulatorError            the emulator itself: bad flows, bad settings

Each is raised where that party's mistake is found: a spec mistake is a ``SpecError`` whether the loader or
the runner finds it, a missing setting a ``ConfigurationError`` whether the plugin or a transport finds it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_flowai.secret import redact

if TYPE_CHECKING:
    from pytest_flowai._json import JSON

_MAX_QUOTE = 200
# How a placeholder names an environment variable: `{env.NAME}`.
ENV_PREFIX = "env."


def cut(text: str, limit: int = _MAX_QUOTE) -> str:
    """``text`` cut at ``limit`` characters with a count of what was cut; secrets are hidden first, so a
    cut never leaves part of a key."""
    text = redact(text)
    return text if len(text) <= limit else f"{text[:limit]}…(+{len(text) - limit} chars)"


def quote(value: object, limit: int = _MAX_QUOTE) -> str:
    """``repr`` of a value, cut at ``limit`` characters with a count of what was cut."""
    return cut(repr(value), limit)


def display_path(path: str | os.PathLike[str]) -> str:
    """A path relative to the working directory when it lies below it, else as given."""
    return _display_path(os.fspath(path), os.getcwd())


@functools.lru_cache(maxsize=1024)
def _display_path(path: str, cwd: str) -> str:
    # Kept: resolving both paths reads every component of each (a suite's specs share a few files, and each
    # conversation's place is shown or checked several times a run).
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path(cwd).resolve()))
    except ValueError:
        return str(p)


@dataclass(frozen=True, slots=True)
class Span:
    """A place in a source file; ``line`` and ``column`` are 1-based."""

    path: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}:{self.column}"


class FlowaiError(Exception):
    """Base of every error pytest-flowai raises on purpose."""


class SpecError(FlowaiError):
    """The spec author's fault: a spec file is wrong, and editing it fixes the failure."""

    def __init__(self, message: str, *, span: Span | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.span}: {self.message}" if self.span else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def _position(error: SpecError) -> tuple[str, int, int]:
    span = error.span
    return (span.path, span.line, span.column) if span else ("", 0, 0)


class SpecSyntaxError(SpecError):
    """The spec file is not valid YAML."""


class SpecSchemaError(SpecError):
    """The spec file breaks the spec grammar; carries every problem found, sorted by position."""

    def __init__(self, problems: Sequence[SpecError]) -> None:
        ordered = sorted(problems, key=_position)
        first = ordered[0] if ordered else None
        super().__init__(
            first.message if first else "invalid spec",
            span=first.span if first else None,
            hint=first.hint if first else None,
        )
        self.problems: tuple[SpecError, ...] = tuple(ordered)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True, slots=True)
class Violation:
    """One place where a payload breaks a schema: a dotted JSON path and what is wrong there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(root)'}: {self.message}"


class UndefinedVariable(SpecError):
    """A placeholder names a variable (or environment variable) that has no value."""

    def __init__(self, name: str, *, span: Span | None = None) -> None:
        what = "environment variable" if name.startswith(ENV_PREFIX) else "variable"
        super().__init__(f"undefined {what} {name.removeprefix(ENV_PREFIX)!r}", span=span)
        self.name = name


class SpecRunError(SpecError):
    """A spec mistake the runner found in a turn (a variable still unset, an expectation a filled-in value
    makes invalid): the spec author's fault, found only when the turn ran, so it carries the turn and the
    transcript so far."""

    def __init__(
        self,
        message: str,
        *,
        turn: int,
        span: Span | None = None,
        hint: str | None = None,
        transcript: object = None,
    ) -> None:
        super().__init__(message, span=span, hint=hint)
        self.turn = turn
        self.transcript = transcript

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = f"{where}spec error in turn {self.turn}: {self.message}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


class BotError(FlowaiError):
    """The bot's (or its server's) fault: what it sent is not what the spec asks for."""


class SchemaViolation(BotError):
    """A payload does not match a protocol JSON Schema; ``violations`` lists every problem."""

    def __init__(self, schema: str, violations: Sequence[Violation], instance: JSON = None) -> None:
        self.schema = schema
        self.violations = tuple(violations)
        self.instance = instance
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = "\n".join(f"  {v}" for v in self.violations)
        return f"does not match schema {self.schema!r}:\n{lines}"


class TurnFailed(BotError):
    """A turn of a conversation did not get the replies its spec expects.

    ``mismatches`` and ``transcript`` are kept as objects (built by ``expect`` and ``conversation``);
    the report module renders them.
    """

    def __init__(
        self,
        reason: str,
        *,
        turn: int | None = None,
        span: Span | None = None,
        mismatches: Sequence[object] = (),
        transcript: object = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.turn = turn
        self.span = span
        self.mismatches = tuple(mismatches)
        self.transcript = transcript
        self.detail = detail

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        turn = f"turn {self.turn}: " if self.turn is not None else ""
        text = f"{where}{turn}{self.reason}"
        if self.detail:
            text += "\n" + self.detail
        elif self.mismatches:
            text += "".join(f"\n  {m}" for m in self.mismatches)
        return text


class TransportError(FlowaiError):
    """The network's fault (or a server that speaks no Flow.ai): connection refused, timed out, closed,
    garbage on the wire, an HTTP error status; a credential the server refused is one too.

    ``credential`` names what the server wanted and did not get ("client id", "API key"), so the plugin
    can say which of its settings to fix; transports know nothing of the plugin's option names.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        turn: int | None = None,
        credential: str | None = None,
        affects_all: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.turn = turn
        self.credential = credential
        # A refused credential or a server that cannot be reached fails every conversation alike.
        self.affects_all = credential is not None if affects_all is None else affects_all

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"{self.message}{where}"


class ConfigurationError(FlowaiError):
    """The fault of the person running pytest: a setting (ini option, command-line flag, environment
    variable) is missing or wrong; said once for the whole run, naming the setting.

    ``credential`` names what is missing ("client id", "API key") where the finder knows no option names
    (a transport), so the plugin can say which of its settings gives it.
    """

    def __init__(self, message: str, *, hint: str | None = None, credential: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.credential = credential

    def __str__(self) -> str:
        return self.message + (f"\n  hint: {self.hint}" if self.hint else "")


class EmulatorError(FlowaiError):
    """The emulator cannot start or run: a bad flow definition or a bad setting."""


__all__ = [
    "ENV_PREFIX",
    "BotError",
    "ConfigurationError",
    "EmulatorError",
    "FlowaiError",
    "SchemaViolation",
    "Span",
    "SpecError",
    "SpecRunError",
    "SpecSchemaError",
    "SpecSyntaxError",
    "TransportError",
    "TurnFailed",
    "UndefinedVariable",
    "Violation",
    "cut",
    "display_path",
    "quote",
]
