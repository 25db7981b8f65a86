"""Spec files: YAML conversation specs loaded with line numbers into a frozen, typed model.

``load_spec`` is the entry point, the model types live in ``spec.model``, ``spec.interpolate`` fills
``{var}`` placeholders. Imports neither pytest nor any I/O module of ours. The names load on first use:
`spec.model` alone needs neither yaml nor jsonschema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_flowai._lazy import load_lazily

# Light, and named like its module: imported eagerly, so `spec.interpolate` is the function.
from pytest_flowai.spec.interpolate import interpolate, placeholders

if TYPE_CHECKING:
    from pytest_flowai.spec.limits import SpecLimits
    from pytest_flowai.spec.load import load_spec, load_spec_text
    from pytest_flowai.spec.model import (
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
    )

_HOMES = {
    "Action": "model",
    "ActionKind": "model",
    "Conversation": "model",
    "Event": "model",
    "ExpectEntry": "model",
    "ExtraMode": "model",
    "Handover": "model",
    "Location": "model",
    "Media": "model",
    "Pause": "model",
    "Resume": "model",
    "Say": "model",
    "SpecFile": "model",
    "SpecLimits": "limits",
    "TransportKind": "model",
    "Turn": "model",
    "Wait": "model",
    "load_spec": "load",
    "load_spec_text": "load",
}


def __getattr__(name: str) -> object:
    return load_lazily(__name__, _HOMES, name)


__all__ = [
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
    "SpecLimits",
    "TransportKind",
    "Turn",
    "Wait",
    "interpolate",
    "load_spec",
    "load_spec_text",
    "placeholders",
]
