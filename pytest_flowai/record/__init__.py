"""Record mode: turn what the bot answered into expectation entries and write them into spec files.

The pure parts (entries, volatile values, one_of) import no pytest; `yamledit` needs ruamel.yaml (the
`record` extra), `cli` is the `flowai-record` console script.
"""

from __future__ import annotations

from pytest_flowai.record.entries import RecordedTurn, expectations, responses_of

__all__ = ["RecordedTurn", "expectations", "responses_of"]
