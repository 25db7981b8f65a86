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
from pytest_flowai.record.entries import Response, expectations, responses_of
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


def record_data(turns: Sequence[Turn], runs: Sequence[dict[int, list[JSONObject]]]) -> JSONObject:
    """The report attribute `flowai_record`: the turns to write, each where it is written (a turn an
    ``include`` spliced in lives in its own file), and each run's replies to them."""
    return {
        "turns": [
            {
                "path": turn.span.path,
                "line": turn.span.line,
                "replace": turn.expect is not None,
                "runs": [list(run[turn.index]) for run in runs if run.get(turn.index)],
            }
            for turn in turns
        ],
    }


@dataclass(slots=True)
class _Gathered:
    """One written turn's replies over every conversation that ran it (an included turn runs in each
    conversation that includes it), named by the first conversation's namer."""

    namer: Namer
    runs: list[list[Response]]
    replace: bool


def edits_from(records: Iterable[JSONObject]) -> dict[Path, list[TurnEdit]]:
    """Per spec file, the TurnEdits made from the reports' `flowai_record` data; needs ruamel.yaml.

    A turn that several conversations ran (an included one) gets one edit from all their runs: the texts
    they saw become its variants, as the runs of ``--flowai-record-runs`` do."""
    from pytest_flowai.record.yamledit import TurnEdit

    gathered: dict[tuple[str, int], _Gathered] = {}
    for record in records:
        namer = Namer()
        turns = record.get("turns")
        for turn in turns if isinstance(turns, list) else []:
            if not isinstance(turn, dict):
                continue
            raw_runs = turn.get("runs")
            runs = [responses_of(_objects(run)) for run in raw_runs] if isinstance(raw_runs, list) else []
            runs = [run for run in runs if run]
            if not runs:
                continue  # no reply: nothing to expect (an `expect: none` is for the author to decide)
            key = (str(turn.get("path")), _int(turn.get("line")))
            found = gathered.setdefault(key, _Gathered(namer=namer, runs=[], replace=False))
            found.runs.extend(runs)
            found.replace = found.replace or bool(turn.get("replace"))
    edits: dict[Path, list[TurnEdit]] = {}
    for (path, line), found in gathered.items():
        recorded = expectations(found.runs, found.namer)
        edits.setdefault(Path(path), []).append(TurnEdit(line=line, recorded=recorded, replace=found.replace))
    return edits


def _objects(value: JSON) -> list[JSONObject]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: JSON) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


__all__ = ["RecordOptions", "edits_from", "record_data", "replies_by_turn", "turns_to_record"]
