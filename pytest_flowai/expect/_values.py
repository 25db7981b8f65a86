"""The values matchers work on: a reply bubble, a mismatch, and reading a path out of a bubble.

Pure: imports nothing but our leaf modules.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import quote


@dataclass(frozen=True, slots=True, kw_only=True)
class Bubble:
    """One response (bubble) with its message; ``index`` is its arrival order in the turn, 0-based."""

    response: JSONObject
    message: JSONObject
    index: int

    @property
    def number(self) -> str:
        """How a person refers to this bubble: ``bubble #1`` for the first one of the turn."""
        return f"bubble #{self.index + 1}"

    def summary(self) -> str:
        """The bubble in a few words: ``text 'Hi there!'``, ``card 'Menu'``, ``image``."""
        kind = self.response.get("type")
        name = kind if isinstance(kind, str) else "response"
        payload = self.response.get("payload")
        if isinstance(payload, dict):
            for field in ("text", "title", "label", "note", "url"):
                value = payload.get(field)
                if isinstance(value, str):
                    return f"{name} {quote(value, 80)}"
        return name


@dataclass(frozen=True, slots=True, kw_only=True)
class Mismatch:
    """Why a bubble does not meet an expectation: where (``payload.quickReplies[1].label``) and what differs.

    ``key`` is the `expect` key that failed (``text``, ``save``); it finds the key's line in the spec.
    ``closeness`` (0..1) says how near a fuzzy test came, to pick the closest of several bubbles.
    """

    path: str
    reason: str
    key: str = ""
    closeness: float = 0.0

    def __str__(self) -> str:
        return f"{self.path or '(response)'}: {self.reason}"


def bubbles_of(payloads: Sequence[JSONObject], start: int = 0) -> list[Bubble]:
    """Flatten reply payloads ``{threadId, messages, originator}`` into bubbles, numbered from ``start``."""
    bubbles: list[Bubble] = []
    for payload in payloads:
        messages = payload.get("messages")
        for message in messages if isinstance(messages, list) else ():
            if not isinstance(message, dict):
                continue
            responses = message.get("responses")
            for response in responses if isinstance(responses, list) else ():
                if isinstance(response, dict):
                    bubbles.append(Bubble(response=response, message=message, index=start + len(bubbles)))
    return bubbles


class Missing(enum.Enum):
    """The marker for "nothing at this path"; distinct from a JSON ``null``."""

    MISSING = "missing"


MISSING = Missing.MISSING
Found: TypeAlias = "JSON | Missing"

# A path step is a key or a list index; `message.` as the first step leaves the response for its message.
PathSteps: TypeAlias = tuple[str | int, ...]
_PART = re.compile(r"(?P<name>[^.\[\]\s]+)(?P<indexes>(?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


@functools.lru_cache(maxsize=1024)  # specs name few paths, over and over (`text`, `step`, `quickReplies`)
def parse_path(text: str) -> PathSteps | None:
    """``payload.quickReplies[0].value`` as steps, or None when the text is not such a path."""
    steps: list[str | int] = []
    for part in text.split("."):
        found = _PART.fullmatch(part)
        if found is None:
            return None
        steps.append(found["name"])
        steps.extend(int(i) for i in _INDEX.findall(found["indexes"]))
    return tuple(steps)


def format_path(steps: PathSteps) -> str:
    """The inverse of ``parse_path``: ``('payload', 'items', 0)`` reads ``payload.items[0]``."""
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def join(path: str, step: str | int) -> str:
    """``path`` one step further down."""
    if isinstance(step, int):
        return f"{path}[{step}]"
    return f"{path}.{step}" if path else step


def resolve(bubble: Bubble, steps: PathSteps) -> Found:
    """The value at ``steps`` from the response, or from the message when the first step is ``message``."""
    root: JSON = bubble.response
    if steps and steps[0] == "message":
        root, steps = bubble.message, steps[1:]
    return walk(root, steps)


def walk(value: Found, steps: PathSteps) -> Found:
    """Follow keys and indexes down ``value``; MISSING as soon as one does not exist, or for MISSING."""
    current: Found = value
    for step in steps:
        if isinstance(step, int) and isinstance(current, list) and step < len(current):
            current = current[step]
            continue
        if isinstance(step, str) and isinstance(current, dict) and step in current:
            current = current[step]
            continue
        return MISSING
    return current


def shown(value: Found) -> str:
    """A value quoted for a message; ``nothing`` where there was none."""
    return "nothing" if value is MISSING else quote(value)


def json_equal(expected: JSON, actual: Found) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true`` is not ``1``."""
    if actual is MISSING:
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    return expected == actual


def subset_mismatch(expected: JSON, actual: Found, path: str) -> Mismatch | None:
    """The first place where ``actual`` does not contain ``expected``.

    Mappings match key by key (other keys allowed), lists element-wise with the same length, scalars by value.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return Mismatch(path=path, reason=f"expected an object {quote(expected)}, got {shown(actual)}")
        for key, value in expected.items():
            found = subset_mismatch(value, actual.get(key, MISSING), join(path, key))
            if found is not None:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return Mismatch(path=path, reason=f"expected a list {quote(expected)}, got {shown(actual)}")
        if len(expected) != len(actual):
            return Mismatch(
                path=path,
                reason=f"expected {len(expected)} items {quote(expected)}, got {len(actual)} {quote(actual)}",
            )
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = subset_mismatch(want, got, join(path, index))
            if found is not None:
                return found
        return None
    if json_equal(expected, actual):
        return None
    return Mismatch(path=path, reason=f"expected {quote(expected)}, got {shown(actual)}")
