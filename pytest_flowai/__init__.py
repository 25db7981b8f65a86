"""pytest-flowai: test Flow.ai chatbots with YAML conversation specs."""

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
)

__all__ = [
    "EmulatorError",
    "FlowaiError",
    "SchemaViolation",
    "Span",
    "SpecError",
    "SpecSchemaError",
    "SpecSyntaxError",
    "TransportError",
    "TurnFailed",
]
