"""Expectations: one `expect` entry against one reply bubble, and a turn's entries against its bubbles.

Pure: no I/O, clock, asyncio or pytest; imports only errors, _json, jsonschema (for a `schema` key),
spec.model (ExtraMode), spec.interpolate (to fill an entry's placeholders) and spec.metaschema.
"""

from __future__ import annotations

from pytest_flowai.expect._entry import Expectation, Save, compile_entry
from pytest_flowai.expect._matchers import MATCHERS, Matcher
from pytest_flowai.expect._template import EntryTemplate, fill_entry, template_of
from pytest_flowai.expect._turn import EntryFailure, ForbiddenReply, TurnMatcher, TurnResult
from pytest_flowai.expect._values import Bubble, Mismatch, bubbles_of

__all__ = [
    "MATCHERS",
    "Bubble",
    "EntryFailure",
    "EntryTemplate",
    "Expectation",
    "ForbiddenReply",
    "Matcher",
    "Mismatch",
    "Save",
    "TurnMatcher",
    "TurnResult",
    "bubbles_of",
    "compile_entry",
    "fill_entry",
    "template_of",
]
