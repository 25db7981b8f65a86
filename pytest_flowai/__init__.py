"""pytest-flowai: test Flow.ai chatbots with YAML conversation specs.

The public surface is `__all__`: the errors, `load_spec` and the spec model. Everything else may change.
"""

from __future__ import annotations

from pytest_flowai.errors import (
    EmulatorError,
    FlowaiError,
    SchemaViolation,
    Span,
    SpecError,
    SpecSchemaError,
    SpecSyntaxError,
    TransportError,
    TurnFailed,
    Violation,
)
from pytest_flowai.spec import (
    ActionKind,
    Conversation,
    ExpectEntry,
    ExtraMode,
    SpecFile,
    TransportKind,
    Turn,
    load_spec,
    load_spec_text,
)

__all__ = [
    "ActionKind",
    "Conversation",
    "EmulatorError",
    "ExpectEntry",
    "ExtraMode",
    "FlowaiError",
    "SchemaViolation",
    "Span",
    "SpecError",
    "SpecFile",
    "SpecSchemaError",
    "SpecSyntaxError",
    "TransportError",
    "TransportKind",
    "Turn",
    "TurnFailed",
    "Violation",
    "load_spec",
    "load_spec_text",
]
