"""Spec files: YAML conversation specs loaded with line numbers into a frozen, typed model.

``load_spec`` is the entry point, the model types live in ``spec.model``, ``spec.interpolate`` fills
``{var}`` placeholders. Imports neither pytest nor any I/O module of ours.
"""

from __future__ import annotations

from pytest_flowai.spec.interpolate import UndefinedVariable, interpolate, placeholders
from pytest_flowai.spec.load import load_spec, load_spec_text
from pytest_flowai.spec.model import (
    ActionKind,
    Conversation,
    ExpectEntry,
    ExtraMode,
    SpecFile,
    TransportKind,
    Turn,
)

__all__ = [
    "ActionKind",
    "Conversation",
    "ExpectEntry",
    "ExtraMode",
    "SpecFile",
    "TransportKind",
    "Turn",
    "UndefinedVariable",
    "interpolate",
    "load_spec",
    "load_spec_text",
    "placeholders",
]
