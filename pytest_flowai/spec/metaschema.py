"""An inline JSON Schema checked against draft 2020-12's meta-schema once per process, not once per use:
the loader checks each `schema` expectation at collection, and the runner compiles it again for each run.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

# Schemas that passed, by their repr (1, 1.0, True and "1" stay apart; key order only costs a miss).
_KNOWN_VALID: dict[str, None] = {}
_KNOWN_MAX = 1024
_LOCK = threading.Lock()  # conversations compile their expectations from several threads


def check_schema(schema: Mapping[str, object] | bool) -> None:
    """Check ``schema`` as ``Draft202012Validator.check_schema`` does, skipping one that passed before.

    Raises:
        jsonschema.exceptions.SchemaError: not a valid schema; OverflowError or RecursionError from a
            `pattern` the meta-schema's regex format check cannot compile.
    """
    key = repr(schema)
    if key in _KNOWN_VALID:
        return
    # Imported here: jsonschema costs about as much to import as pytest, and few specs use `schema`.
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)
    with _LOCK:
        if len(_KNOWN_VALID) >= _KNOWN_MAX:
            _KNOWN_VALID.pop(next(iter(_KNOWN_VALID)))
        _KNOWN_VALID[key] = None


__all__ = ["check_schema"]
