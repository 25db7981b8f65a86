"""Inline schemas meet the meta-schema once: a valid one is remembered, an invalid one never is."""

from __future__ import annotations

import pytest
from jsonschema.exceptions import SchemaError

from pytest_flowai.spec.metaschema import check_schema


def test_an_invalid_schema_is_rejected_every_time() -> None:
    """The same broken schema raises on its second check too."""
    for _ in range(2):
        with pytest.raises(SchemaError):
            check_schema({"type": "strin"})


def test_a_remembered_schema_does_not_vouch_for_a_lookalike() -> None:
    """After `minLength: 1` passed, `minLength: true` (equal in Python) is still checked and rejected."""
    check_schema({"minLength": 1})
    check_schema({"minLength": 1})
    with pytest.raises(SchemaError):
        check_schema({"minLength": True})
