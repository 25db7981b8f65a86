"""Which turns of a finished conversation to record, and their replies as plain data (what a pytest-xdist
worker sends to the controller on the test report); and the file edits made from that data. No pytest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import FlowaiError, SpecRunError, TurnFailed
from pytest_flowai.record.entries import expectations, responses_of
from pytest_flowai.record.volatile import Namer
from pytest_flowai.spec.model import Conversation, Turn
from pytest_flowai.transcript import Received, Transcript

if TYPE_CHECKING:
    from pytest_flowai.record.yamledit import TurnEdit


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordOptions:
    """--flowai-record, --flowai-record-update and --flowai-record-runs."""

    update: bool = False
    runs: int = 1


def turns_to_record(conversation: Conversation, error: FlowaiError | None, update: bool) -> list[Turn]:
    """The turns that get entries: message turns with no `expect` that ran (all of them when the
    conversation passed), and, with ``update``, the turn that failed its expectations."""
    failed = error.turn if isinstance(error, TurnFailed | SpecRunError) else None
    if error is not None and failed is None:
        return []  # a transport error: no turn's replies can be trusted
    chosen = []
    for turn in conversation.turns:
        if turn.action.kind.is_control or (failed is not None and turn.index > failed):
            continue
        if (turn.expect is None and not turn.expect_none and turn.index != failed) or (
            update and turn.index == failed and turn.expect is not None
        ):
            chosen.append(turn)
    return chosen


def replies_by_turn(transcript: Transcript, error: FlowaiError | None) -> dict[int, list[JSONObject]]:
    """Each turn's reply payloads; a failed run keeps only the turns before (and at) its failure."""
    failed = error.turn if isinstance(error, TurnFailed | SpecRunError) else None
    found: dict[int, list[JSONObject]] = {}
    for event in transcript.events:
        if isinstance(event, Received) and (failed is None or event.turn <= failed):
            found.setdefault(event.turn, []).append(event.payload)
    return found


def record_data(
    path: str, conversation: Conversation, turns: Sequence[Turn], runs: Sequence[dict[int, list[JSONObject]]]
) -> JSONObject:
    """The report attribute `flowai_record`: the turns to write and each run's replies to them."""
    return {
        "path": path,
        "document": conversation.document,
        "turns": [
            {
                "turn": turn.index,
                "replace": turn.expect is not None,
                "runs": [list(run[turn.index]) for run in runs if run.get(turn.index)],
            }
            for turn in turns
        ],
    }


def edits_from(records: Iterable[JSONObject]) -> dict[Path, list[TurnEdit]]:
    """Per spec file, the TurnEdits made from the reports' `flowai_record` data; needs ruamel.yaml."""
    from pytest_flowai.record.yamledit import TurnEdit

    edits: dict[Path, list[TurnEdit]] = {}
    for record in records:
        namer = Namer()
        document = _int(record.get("document"))
        turns = record.get("turns")
        for turn in turns if isinstance(turns, list) else []:
            if not isinstance(turn, dict):
                continue
            raw_runs = turn.get("runs")
            runs = [responses_of(_objects(run)) for run in raw_runs] if isinstance(raw_runs, list) else []
            runs = [run for run in runs if run]
            if not runs:
                continue  # no reply: nothing to expect (an `expect: none` is for the author to decide)
            recorded = expectations(runs, namer)
            edit = TurnEdit(
                document=document,
                turn=_int(turn.get("turn")),
                recorded=recorded,
                replace=bool(turn.get("replace")),
            )
            edits.setdefault(Path(str(record.get("path"))), []).append(edit)
    return edits


def _objects(value: JSON) -> list[JSONObject]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: JSON) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


__all__ = ["RecordOptions", "edits_from", "record_data", "replies_by_turn", "turns_to_record"]
