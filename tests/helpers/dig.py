"""Reading into a JSON document in a test: each step is checked, so a wrong shape fails with its path."""

from __future__ import annotations

from typing import Any

from pytest_flowai._json import JSON


def dig(document: JSON, *path: str | int) -> Any:
    """The value at ``path`` (object keys, array indexes) in ``document``; an assertion names the first step
    that is missing. Typed Any because a test goes on to compare it or to index it further."""
    here: JSON = document
    for depth, step in enumerate(path):
        where = "".join(f"[{s!r}]" for s in path[:depth]) or "the document"
        if isinstance(step, str):
            assert isinstance(here, dict), f"{where} is not an object: {here!r:.200}"
            assert step in here, f"{where} has no key {step!r}: {here!r:.200}"
            here = here[step]
        else:
            assert isinstance(here, list), f"{where} is not an array: {here!r:.200}"
            assert -len(here) <= step < len(here), f"{where} has no index {step}: {here!r:.200}"
            here = here[step]
    return here
