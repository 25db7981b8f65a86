"""pytest-flowai: test Flow.ai chatbots with YAML conversation specs.

The public surface is `__all__`: the errors, `load_spec` and the spec model. Everything else may change.
The spec names load on first use: pytest imports this package in every run, spec files or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_flowai._lazy import load_lazily
from pytest_flowai.errors import (
    BotError,
    ConfigurationError,
    EmulatorError,
    FlowaiError,
    SchemaViolation,
    Span,
    SpecError,
    SpecRunError,
    SpecSchemaError,
    SpecSyntaxError,
    TransportError,
    TurnFailed,
    UndefinedVariable,
    Violation,
)

if TYPE_CHECKING:
    from pytest_flowai.spec import (
        Action,
        ActionKind,
        Conversation,
        Event,
        ExpectEntry,
        ExtraMode,
        Handover,
        Location,
        Media,
        Pause,
        Resume,
        Say,
        SpecFile,
        TransportKind,
        Turn,
        Wait,
        load_spec,
        load_spec_text,
    )

_FROM_SPEC = frozenset(
    {
        "Action",
        "ActionKind",
        "Conversation",
        "Event",
        "ExpectEntry",
        "ExtraMode",
        "Handover",
        "Location",
        "Media",
        "Pause",
        "Resume",
        "Say",
        "SpecFile",
        "TransportKind",
        "Turn",
        "Wait",
        "load_spec",
        "load_spec_text",
    }
)


def __getattr__(name: str) -> object:
    # PEP 562: the spec model pulls in yaml and jsonschema, which a run without spec files never needs.
    return load_lazily(__name__, dict.fromkeys(_FROM_SPEC, "pytest_flowai.spec"), name)


__all__ = [
    "Action",
    "ActionKind",
    "BotError",
    "ConfigurationError",
    "Conversation",
    "EmulatorError",
    "Event",
    "ExpectEntry",
    "ExtraMode",
    "FlowaiError",
    "Handover",
    "Location",
    "Media",
    "Pause",
    "Resume",
    "Say",
    "SchemaViolation",
    "Span",
    "SpecError",
    "SpecFile",
    "SpecRunError",
    "SpecSchemaError",
    "SpecSyntaxError",
    "TransportError",
    "TransportKind",
    "Turn",
    "TurnFailed",
    "UndefinedVariable",
    "Violation",
    "Wait",
    "load_spec",
    "load_spec_text",
]
