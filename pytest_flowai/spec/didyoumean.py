"""Suggest the closest allowed word for a misspelt one (the `did you mean` hints of spec errors)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, allowed: Iterable[str]) -> str | None:
    """The allowed word nearest to ``word``, or None when none is close enough to be a likely typo."""
    choices = sorted(set(allowed))
    by_case = [choice for choice in choices if choice.lower() == word.lower()]
    if by_case:
        return by_case[0]
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, allowed: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint, or None."""
    match = closest(word, allowed)
    return f"did you mean {match!r}?" if match else None
