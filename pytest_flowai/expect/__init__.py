"""Expectations: one `expect` entry against one reply bubble, and a turn's entries against its bubbles.

Pure: no I/O, clock, asyncio or pytest; imports only errors, _json, jsonschema and spec.model (ExtraMode).
"""

from __future__ import annotations

from pytest_flowai.expect._entry import Expectation, Save, compile_entry
from pytest_flowai.expect._matchers import MATCHERS, Matcher
from pytest_flowai.expect._turn import EntryFailure, ForbiddenReply, TurnMatcher, TurnResult
from pytest_flowai.expect._values import Bubble, Mismatch, bubbles_of

__all__ = [
    "MATCHERS",
    "Bubble",
    "EntryFailure",
    "Expectation",
    "ForbiddenReply",
    "Matcher",
    "Mismatch",
    "Save",
    "TurnMatcher",
    "TurnResult",
    "bubbles_of",
    "compile_entry",
]
