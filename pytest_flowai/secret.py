"""Secrets: a value type whose repr never shows the key, and the one function that hides keys in output.

A leaf module (stdlib only): errors, options and transports import it.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import quote, quote_plus

MASK = "***"

# Keys shorter than this are hidden only as whole tokens, so a key "test" leaves test_menu.flowai.yaml alone.
SHORT_KEY = 8


class Secret:
    """A key: ``repr``/``str`` show ``Secret('***')``; only ``reveal()`` gives the value (for the wire)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("a secret must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        """The key itself: only for the header or field that carries it to the server."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Equal only to a Secret with the same value; never to a plain string, so a comparison can't be
        # rendered by pytest's assertion rewriting as a diff of the key.
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac  # here: pytest imports this module in every run, and comparing keys is rare

        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # Pickling (xdist, copy) keeps the value; repr still hides it.
        return (Secret, (self._value,))


def secret_or_none(value: str | Secret | None) -> Secret | None:
    """``value`` as a ``Secret``; None or "" as None."""
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value) if value else None


def reveal(value: Secret | str | None) -> str | None:
    """The plain value of a Secret (or a plain string as it is), for the wire."""
    return value.reveal() if isinstance(value, Secret) else value


# Secrets the running session knows of, so that code which cuts texts short (errors.cut) hides them first.
_registered: dict[str, int] = {}


def register(*secrets: Secret | str | None) -> None:
    """Make ``redact`` hide these wherever it is called, until ``forget``."""
    for value in _plain(secrets):
        _registered[value] = _registered.get(value, 0) + 1


def forget(*secrets: Secret | str | None) -> None:
    """Undo one ``register`` of each of these."""
    for value in _plain(secrets):
        count = _registered.get(value, 0) - 1
        if count > 0:
            _registered[value] = count
        else:
            _registered.pop(value, None)


def registered() -> bool:
    """True when some secret is registered (so a report is worth scrubbing)."""
    return bool(_registered)


def redact(text: str, secrets: Iterable[Secret | str | None] = ()) -> str:
    """``text`` with every form of each secret (and of each registered one) replaced by ``***``.

    The forms: the key itself, its base64 (standard and URL-safe, padded or not), its URL encoding (quote,
    quote_plus) and its JSON and Python string escapes. A key under 8 characters is hidden only where it
    stands as a whole token (no letter, digit or underscore next to it).
    """
    values = frozenset(_plain(secrets)).union(_registered)
    if not values or not text:
        return text
    return _pattern(values).sub(MASK, text)


def forms(value: str) -> set[str]:
    """Every spelling of ``value`` that ``redact`` hides."""
    raw = value.encode("utf-8", "surrogatepass")
    found = {value, quote(value), quote(value, safe=""), quote_plus(value)}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        found |= {text, text.rstrip("=")}
    found.add(json.dumps(value)[1:-1])
    found.add(json.dumps(value, ensure_ascii=False)[1:-1])
    found.add(repr(value)[1:-1])
    return {form for form in found if form}


@functools.lru_cache(maxsize=64)
def _pattern(values: frozenset[str]) -> re.Pattern[str]:
    parts: set[str] = set()
    for value in values:
        short = len(value) < SHORT_KEY
        for form in forms(value):
            parts.add(
                rf"(?<!\w){re.escape(form)}(?!\w)" if short or len(form) < SHORT_KEY else re.escape(form)
            )
    # The longest first, so a key that contains another is hidden whole.
    ordered = sorted(parts, key=len, reverse=True)
    return re.compile("|".join(ordered))


def _plain(secrets: Iterable[Secret | str | None]) -> Iterator[str]:
    for item in secrets:
        value = reveal(item)
        if value:
            yield value


class SecretEnv(Mapping[str, str]):
    """The environment for ``{env.NAME}``: looks up like a dict, but its repr shows names, never values."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, str]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"SecretEnv({len(self._data)} variables, values hidden)"

    __str__ = __repr__


__all__ = [
    "MASK",
    "SHORT_KEY",
    "Secret",
    "SecretEnv",
    "forget",
    "forms",
    "redact",
    "register",
    "registered",
    "reveal",
    "secret_or_none",
]


class RedactingFilter(logging.Filter):
    """A log handler filter: each record's text leaves with every registered secret hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _registered:
            message = record.getMessage()
            hidden = redact(message)
            if hidden != message:
                record.msg, record.args = hidden, None
        return True
