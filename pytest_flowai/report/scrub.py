"""Hides registered secrets in pytest's own report objects: tracebacks (with ``-l`` locals), crash lines,
captured output and logs, user properties, and recorded warnings. What the terminal, JUnit XML and xdist show
is made from these.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

from pytest_flowai.secret import redact, registered

if TYPE_CHECKING:
    import pytest

# Traceback reprs are a few levels deep; the bound only guards against a cycle.
_MAX_DEPTH = 12


def scrub_warning(recorded: warnings.WarningMessage) -> None:
    """Redact, in place, the text of a warning pytest recorded, before the warnings summary (or xdist's relay
    to the controller) reads it."""
    if not registered():
        return
    message = recorded.message
    text = str(message)
    hidden = redact(text)
    if hidden == text:
        return
    if isinstance(message, Warning):
        # Keep the warning's class (filters and the summary name it); only its text changes.
        message.args = (hidden,)
    else:
        recorded.message = hidden


def scrub_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Redact, in place, every text of ``report`` that pytest or a plugin will print or write."""
    if not registered():
        return
    longrepr = report.longrepr
    if longrepr is not None:
        scrubbed = _scrub(longrepr, 0)
        # Anything the walk could not reach (a repr type we don't know) is caught on the rendered text.
        if isinstance(scrubbed, str | tuple) or redact(str(scrubbed)) == str(scrubbed):
            report.longrepr = scrubbed
        else:
            report.longrepr = redact(str(scrubbed))
    report.sections = [(title, redact(content)) for title, content in report.sections]
    properties = getattr(report, "user_properties", None)
    if properties:
        report.user_properties = [(name, _scrub(value, 0)) for name, value in properties]  # type: ignore[union-attr]


def _scrub(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [_scrub(item, depth + 1) for item in value]
    if isinstance(value, tuple):
        return tuple(_scrub(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return {key: _scrub(item, depth + 1) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            if hasattr(value, item.name):
                object.__setattr__(value, item.name, _scrub(getattr(value, item.name), depth + 1))
    return value


__all__ = ["scrub_report"]
