"""Find the parts of a reply text that change between runs or look generated, and write them as a regex.

Pure: a text becomes literal pieces and tokens (numbers, dates, times, ids); no pytest, no YAML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# Order matters: the longer shapes first, so a date is not read as three numbers.
_TOKEN = re.compile(
    r"(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    r"|(?P<date>\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b)"
    r"|(?P<time>\b\d{1,2}:\d{2}(?::\d{2})?\b)"
    r"|(?P<amount>\b\d+[.,]\d{2}\b)"
    r"|(?P<code>\b[A-Z]{1,4}-?\d{3,}\b)"
    r"|(?P<number>\d+)"
)
# A number after one of these words is an id the bot made up, even when only one run saw it.
_ID_WORDS = frozenset({"order", "ticket", "booking", "reference", "ref", "case", "invoice", "number", "no"})
_ALWAYS_VOLATILE = frozenset({"uuid", "date", "time", "code"})
_PATTERNS = {
    "uuid": r"[0-9a-fA-F-]{36}",
    "amount": r"\d+[.,]\d\d",
    "number": r"\d+",
}
_SPECIAL = re.compile(r"[.^$*+?{}\[\]\\|()]")
_WORD_BEFORE = re.compile(r"([A-Za-z]+)\W*$")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class Shape:
    """A text split into literal pieces around its tokens: ``pieces[0] tok[0] pieces[1] ... pieces[-1]``."""

    pieces: tuple[str, ...]
    tokens: tuple[Token, ...]

    @property
    def skeleton(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.pieces, tuple(token.kind for token in self.tokens)


def shape_of(text: str) -> Shape:
    """Split ``text`` into literal pieces and tokens."""
    pieces: list[str] = []
    tokens: list[Token] = []
    last = 0
    for match in _TOKEN.finditer(text):
        pieces.append(text[last : match.start()])
        tokens.append(Token(kind=str(match.lastgroup), value=match.group(0)))
        last = match.end()
    pieces.append(text[last:])
    return Shape(pieces=tuple(pieces), tokens=tuple(tokens))


@dataclass(slots=True)
class Namer:
    """Hands out group names unique within one conversation (``order``, ``order_2``)."""

    used: set[str] = field(default_factory=set)

    def name(self, base: str) -> str:
        name, number = base, 1
        while name in self.used:
            number += 1
            name = f"{base}_{number}"
        self.used.add(name)
        return name


@dataclass(frozen=True, slots=True)
class Volatile:
    """A text written as a regex: the pattern and, per group name, the value the first run saw."""

    regex: str
    captured: tuple[tuple[str, str], ...]


def volatile_regex(texts: Sequence[str], namer: Namer) -> Volatile | None:
    """The texts of one reply over several runs as one regex, or None when a literal (or one_of) fits.

    A token becomes a named group when it differs between the runs or looks generated (an id, a date, a
    time, a number after "order", "ticket", ...). Texts of different shapes give None: they are variants.
    """
    shapes = [shape_of(text) for text in texts]
    if not shapes or any(shape.skeleton != shapes[0].skeleton for shape in shapes):
        return None
    first = shapes[0]
    volatile = [
        _differs(shapes, index) or _looks_generated(first, index) for index in range(len(first.tokens))
    ]
    if not any(volatile):
        return None
    parts = ["^"]
    captured: list[tuple[str, str]] = []
    for index, piece in enumerate(first.pieces):
        parts.append(_escape(piece))
        if index == len(first.tokens):
            break
        token = first.tokens[index]
        if not volatile[index]:
            parts.append(_escape(token.value))
            continue
        name = namer.name(_group_base(first.pieces[index], token.kind))
        pattern = _pattern(token.kind, [shape.tokens[index].value for shape in shapes])
        parts.append(f"(?P<{name}>{pattern})")
        captured.append((name, token.value))
    parts.append("$")
    return Volatile(regex="".join(parts), captured=tuple(captured))


def _escape(text: str) -> str:
    """A literal in a regex, escaping only what a regex reads (re.escape also escapes spaces and dashes)."""
    return _SPECIAL.sub(r"\\\g<0>", text)


def _differs(shapes: Sequence[Shape], index: int) -> bool:
    return len({shape.tokens[index].value for shape in shapes}) > 1


def _looks_generated(shape: Shape, index: int) -> bool:
    token = shape.tokens[index]
    if token.kind in _ALWAYS_VOLATILE:
        return True
    word = _WORD_BEFORE.search(shape.pieces[index])
    before = word.group(1).lower() if word else ""
    return (
        token.kind == "number"
        and len(token.value) >= 3
        and (before in _ID_WORDS or "#" in shape.pieces[index][-2:])
    )


def _group_base(before: str, kind: str) -> str:
    word = _WORD_BEFORE.search(before)
    if word and word.group(1).lower() in _ID_WORDS | {"id", "code"}:
        return word.group(1).lower()
    return {"number": "value", "amount": "amount", "code": "code", "uuid": "id"}.get(kind, kind)


def _pattern(kind: str, values: Sequence[str]) -> str:
    if kind in _PATTERNS:
        return _PATTERNS[kind]
    # Dates, times and codes: their own shape, each digit run a \d+ and each letter run a letter class.
    shapes = {re.sub(r"[A-Za-z]+", "A", re.sub(r"\d+", "9", value)) for value in values}
    if len(shapes) != 1:
        return r"\S+"
    out = []
    for char in next(iter(shapes)):
        out.append(r"\d+" if char == "9" else "[A-Za-z]+" if char == "A" else _escape(char))
    return "".join(out)


__all__ = ["Namer", "Volatile", "shape_of", "volatile_regex"]
