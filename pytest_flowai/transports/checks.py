"""Checks of what a server sends: a payload against a protocol schema. Pure: imports no network library,
so the socket protocol and the HTTP helpers share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_flowai import schemas
from pytest_flowai.errors import SchemaViolation

if TYPE_CHECKING:
    from pytest_flowai._json import JSON


def check_schema(instance: JSON, name: str) -> None:
    """Raise ``SchemaViolation`` carrying ``instance`` when it breaks the protocol schema ``name``."""
    found = schemas.violations(instance, name)
    if found:
        raise SchemaViolation(name, found, instance)


__all__ = ["check_schema"]
