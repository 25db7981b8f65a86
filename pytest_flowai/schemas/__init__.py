"""The protocol JSON Schemas (draft 2020-12) and the functions that check payloads against them.
Must not import pytest, httpx, websockets or the emulator: everyone, the emulator included, uses it.
"""

from __future__ import annotations

from pytest_flowai.schemas.infer import infer_name
from pytest_flowai.schemas.jsondata import json_problems
from pytest_flowai.schemas.validate import (
    BASE_URI,
    UnknownSchemaError,
    format_path,
    names,
    raw,
    validate,
    violations,
)

__all__ = [
    "BASE_URI",
    "UnknownSchemaError",
    "format_path",
    "infer_name",
    "json_problems",
    "names",
    "raw",
    "validate",
    "violations",
]
