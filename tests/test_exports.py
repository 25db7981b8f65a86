"""The public surface of pytest_flowai is exactly what __all__ says."""

from __future__ import annotations

import pytest_flowai


def test_public_names_are_pinned() -> None:
    """Adding or removing a public name is a deliberate change: this list changes with it."""
    assert sorted(pytest_flowai.__all__) == [
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


def test_every_public_name_is_importable() -> None:
    """Each name in __all__ is an attribute of the package."""
    missing = [name for name in pytest_flowai.__all__ if not hasattr(pytest_flowai, name)]
    assert missing == []


def test_public_errors_share_one_base() -> None:
    """Every public exception derives from FlowaiError, so a user can catch them all at once."""
    errors = [
        pytest_flowai.BotError,
        pytest_flowai.ConfigurationError,
        pytest_flowai.EmulatorError,
        pytest_flowai.SchemaViolation,
        pytest_flowai.SpecError,
        pytest_flowai.SpecRunError,
        pytest_flowai.SpecSchemaError,
        pytest_flowai.SpecSyntaxError,
        pytest_flowai.TransportError,
        pytest_flowai.TurnFailed,
        pytest_flowai.UndefinedVariable,
    ]
    assert all(issubclass(e, pytest_flowai.FlowaiError) for e in errors)
