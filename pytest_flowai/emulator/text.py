"""How the emulator compares what a user typed with an intent's examples: normalising and scoring.
Pure functions; imports nothing of ours."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Punctuation is dropped, not replaced, so "what's" and "whats" compare equal; "_" is \w but not a word.
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_WHITESPACE = re.compile(r"\s+")

EXACT = 1.0
MATCH_THRESHOLD = 0.5


# Bounded cache: the same intent examples are normalised again for every message of every thread.
@lru_cache(maxsize=16384)
def normalise(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed and trimmed."""
    without_punctuation = _PUNCTUATION.sub("", text.casefold())
    return _WHITESPACE.sub(" ", without_punctuation).strip()


@lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, frozenset[str]]:
    """The normalised text and its token set, cached like ``normalise`` (examples recur every message)."""
    normal = normalise(text)
    return normal, frozenset(normal.split())


def similarity(text: str, example: str) -> float:
    """1.0 when the normalised texts are equal, else the Jaccard overlap of their token sets."""
    (said, said_tokens), (wanted, wanted_tokens) = _tokens(text), _tokens(example)
    if not said or not wanted:
        return 0.0
    if said == wanted:
        return EXACT
    return len(said_tokens & wanted_tokens) / len(said_tokens | wanted_tokens)


def best_similarity(text: str, examples: Iterable[str]) -> float:
    """The highest similarity of a text to any of the examples (0.0 with no examples)."""
    return max((similarity(text, example) for example in examples), default=0.0)


__all__ = ["EXACT", "MATCH_THRESHOLD", "best_similarity", "normalise", "similarity"]
