"""Flow coverage: which steps of the bot a run's replies came from, as a report dict, a table and HTML.

Pure: no pytest and no I/O. The plugin feeds it the replies (transcripts) and the bot's flow objects.
"""

from __future__ import annotations

import fnmatch
import html
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.transcript import Received, Transcript

# The keys of a hit as it travels on a test report (and through pytest-xdist).
_HIT_KEYS = ("flowId", "flowTitle", "stepId", "stepTitle", "type")


@dataclass(frozen=True, slots=True, kw_only=True)
class StepHit:
    """A reply message came from this step: the `flow` and `step` the message carries."""

    flow_id: str
    flow_title: str
    step_id: str
    step_title: str
    step_type: str

    def to_json(self) -> JSONObject:
        """A plain dict, to carry on a test report."""
        values = (self.flow_id, self.flow_title, self.step_id, self.step_title, self.step_type)
        return dict(zip(_HIT_KEYS, values, strict=True))

    @classmethod
    def from_json(cls, data: JSON) -> StepHit | None:
        """The hit back from ``to_json``; None for anything else."""
        if not isinstance(data, dict):
            return None
        flow_id, flow_title, step_id, step_title, step_type = (_text(data.get(key)) for key in _HIT_KEYS)
        return cls(
            flow_id=flow_id,
            flow_title=flow_title,
            step_id=step_id,
            step_title=step_title,
            step_type=step_type,
        )


def hits_of_payload(payload: JSONObject) -> Iterator[StepHit]:
    """The steps the messages of one reply payload came from (a message without a step counts for none)."""
    for message in _objects(payload.get("messages")):
        flow, step = _object(message.get("flow")), _object(message.get("step"))
        step_id = _text(step.get("stepId"))
        if step_id:
            yield StepHit(
                flow_id=_text(flow.get("flowId")),
                flow_title=_text(flow.get("title")),
                step_id=step_id,
                step_title=_text(step.get("title")),
                step_type=_text(step.get("type")),
            )


def hits_of_transcripts(transcripts: Iterable[Transcript]) -> list[StepHit]:
    """Every step that answered in these conversations, once each, in the order they first answered."""
    hits = (
        hit
        for transcript in transcripts
        for event in transcript.events
        if isinstance(event, Received)
        for hit in hits_of_payload(event.payload)
    )
    return list(dict.fromkeys(hits))


class Reached:
    """Which conversations (node ids) each step answered in; filled from every test report of a run."""

    def __init__(self) -> None:
        self.by_step: dict[str, set[str]] = {}
        self.hits: dict[str, StepHit] = {}

    def add(self, nodeid: str, hits: Iterable[StepHit]) -> None:
        for hit in hits:
            self.by_step.setdefault(hit.step_id, set()).add(nodeid)
            self.hits.setdefault(hit.step_id, hit)


def ignored(step: JSONObject, patterns: Sequence[str]) -> bool:
    """True when a pattern names the step's type (NOTHING, any case) or matches its title (`*` wildcards)."""
    kind, title = _text(step.get("type")), _text(step.get("title"))
    return any(p.upper() == kind.upper() or fnmatch.fnmatchcase(title, p) for p in patterns)


def coverage_report(
    flows: Sequence[JSONObject], reached: Mapping[str, Collection[str]], *, ignore: Sequence[str] = ()
) -> JSONObject:
    """The coverage of enabled flows as ``{"total": {...}, "flows": [...]}``; disabled flows are left out,
    and so are steps that ``ignore`` names. A bot without steps counts as fully covered."""
    out_flows: list[JSON] = []
    total = done = 0
    for flow in flows:
        if flow.get("disabled") is True:
            continue
        steps: list[JSON] = []
        for step in _objects(flow.get("steps")):
            if ignored(step, ignore):
                continue
            step_id = _text(step.get("stepId"))
            conversations = sorted(reached.get(step_id, ()))
            steps.append(
                {
                    "stepId": step_id,
                    "title": _text(step.get("title")),
                    "type": _text(step.get("type")),
                    "reached": bool(conversations),
                    "conversations": list[JSON](conversations),
                }
            )
            total += 1
            done += bool(conversations)
        out_flows.append(
            {"flowId": _text(flow.get("flowId")), "title": _text(flow.get("title")), "steps": steps}
        )
    return {"total": {"steps": total, "reached": done, "percent": percent(done, total)}, "flows": out_flows}


def percent(reached: int, steps: int) -> float:
    """Reached steps as a percentage, two decimals; 100.0 when there is nothing to reach."""
    return round(100.0 * reached / steps, 2) if steps else 100.0


def under(result: JSONObject, threshold: float) -> bool:
    """True when the coverage is below ``threshold`` percent (compared exactly, not after rounding)."""
    total = _object(result.get("total"))
    steps, reached = _int(total.get("steps")), _int(total.get("reached"))
    return bool(steps) and reached * 100 < threshold * steps


def unknown_steps(flows: Sequence[JSONObject], reached: Reached) -> list[StepHit]:
    """Steps that answered but are not in ``flows`` (the flows measured against are not the bot's)."""
    known = {_text(step.get("stepId")) for flow in flows for step in _objects(flow.get("steps"))}
    return [hit for step_id, hit in reached.hits.items() if step_id not in known]


# -- rendering --


def render_table(result: JSONObject, *, width: int = 80) -> list[str]:
    """The terminal table: one row per flow (steps, reached, percentage), each unreached step below it."""
    flows = [_object(flow) for flow in _list(result.get("flows"))]
    name_width = max(20, min(max((len(_text(f.get("title"))) for f in flows), default=0), width - 30))
    lines = [f"{'Flow':<{name_width}}  {'Steps':>5}  {'Reached':>7}  {'Cover':>6}"]
    for flow in flows:
        steps = [_object(step) for step in _list(flow.get("steps"))]
        done = sum(1 for step in steps if step.get("reached") is True)
        lines.append(_row(_text(flow.get("title")), len(steps), done, name_width))
        for step in steps:
            if step.get("reached") is not True:
                lines.append(
                    _fit(f"    not reached: {_text(step.get('title'))} ({_text(step.get('type'))})", width)
                )
    total = _object(result.get("total"))
    lines.append(_row("TOTAL", _int(total.get("steps")), _int(total.get("reached")), name_width))
    return lines


def _row(title: str, steps: int, done: int, name_width: int) -> str:
    shown = title if len(title) <= name_width else title[: name_width - 1] + "…"
    return f"{shown:<{name_width}}  {steps:>5}  {done:>7}  {percent(done, steps):>5.1f}%"


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 1, 1)] + "…"


def render_html(result: JSONObject) -> str:
    """A small self-contained HTML page: the total, then a table per flow with every step's state."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>flowai coverage</title>"
        f"<style>{HTML_STYLE}</style></head>\n<body>\n{html_table(result)}\n</body></html>\n"
    )


HTML_STYLE = (
    "table.flowai-coverage{border-collapse:collapse;font:14px sans-serif}"
    ".flowai-coverage td,.flowai-coverage th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
    ".flowai-coverage .flow th{background:#eee}.flowai-coverage .missed{color:#b00}"
    ".flowai-coverage .hit{color:#070}"
)


def html_table(result: JSONObject) -> str:
    """The coverage as one HTML table (class ``flowai-coverage``), for embedding in a larger report."""
    total = _object(result.get("total"))
    rows = [
        f"<caption>flowai coverage: {_int(total.get('reached'))} of {_int(total.get('steps'))} steps reached"
        f" ({_number(total.get('percent')):.1f}%)</caption>",
        "<tr><th>step</th><th>type</th><th>reached</th><th>conversations</th></tr>",
    ]
    for flow in (_object(f) for f in _list(result.get("flows"))):
        steps = [_object(step) for step in _list(flow.get("steps"))]
        done = sum(1 for step in steps if step.get("reached") is True)
        rows.append(
            f"<tr class='flow'><th colspan='4'>{_esc(flow.get('title'))}: {done} of {len(steps)}"
            f" ({percent(done, len(steps)):.1f}%)</th></tr>"
        )
        for step in steps:
            hit = step.get("reached") is True
            names = "<br>".join(_esc(c) for c in _list(step.get("conversations")))
            rows.append(
                f"<tr class='{'hit' if hit else 'missed'}'><td>{_esc(step.get('title'))}</td>"
                f"<td>{_esc(step.get('type'))}</td><td>{'yes' if hit else 'no'}</td><td>{names}</td></tr>"
            )
    return "<table class='flowai-coverage'>\n" + "\n".join(rows) + "\n</table>"


def _esc(value: JSON) -> str:
    return html.escape(value if isinstance(value, str) else "" if value is None else str(value))


# -- JSON helpers --


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else ""


def _int(value: JSON) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _number(value: JSON) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _object(value: JSON) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _list(value: JSON) -> list[JSON]:
    return value if isinstance(value, list) else []


def _objects(value: JSON) -> list[JSONObject]:
    return [item for item in _list(value) if isinstance(item, dict)]


__all__ = [
    "HTML_STYLE",
    "Reached",
    "StepHit",
    "coverage_report",
    "hits_of_payload",
    "hits_of_transcripts",
    "html_table",
    "ignored",
    "percent",
    "render_html",
    "render_table",
    "under",
    "unknown_steps",
]
