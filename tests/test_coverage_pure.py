"""The pure part of flow coverage: steps read from reply payloads, the report dict, the gate and the table."""

from __future__ import annotations

from pytest_flowai._json import JSONObject
from pytest_flowai.coverage import (
    Reached,
    StepHit,
    coverage_report,
    hits_of_payload,
    render_table,
    under,
    unknown_steps,
)

FLOWS: list[JSONObject] = [
    {
        "flowId": "f1",
        "title": "A flow with a rather long title that does not fit",
        "steps": [
            {"stepId": "s1", "title": "One", "type": "INTENT"},
            {"stepId": "s2", "title": "Two", "type": "NOTHING"},
            {"stepId": "s3", "title": "Three", "type": "EVENT"},
        ],
    },
    {
        "flowId": "f2",
        "title": "Off",
        "disabled": True,
        "steps": [{"stepId": "s4", "title": "x", "type": "INTENT"}],
    },
]


def test_hits_come_from_every_message_that_names_a_step() -> None:
    """Each message with a `step.stepId` is a hit; a message without one counts for nothing."""
    payload: JSONObject = {
        "messages": [
            {
                "flow": {"flowId": "f1", "title": "F"},
                "step": {"stepId": "s1", "title": "One", "type": "INTENT"},
            },
            {"responses": []},
        ]
    }
    hit = StepHit(flow_id="f1", flow_title="F", step_id="s1", step_title="One", step_type="INTENT")
    assert list(hits_of_payload(payload)) == [hit]
    assert StepHit.from_json(hit.to_json()) == hit
    assert StepHit.from_json("not a hit") is None


def test_report_counts_enabled_steps_and_names_the_conversations() -> None:
    """Disabled flows and ignored steps are left out; each step lists the node ids that reached it, sorted."""
    result = coverage_report(FLOWS, {"s1": {"b::y", "a::x"}, "s4": {"a::x"}}, ignore=["nothing"])
    assert result["total"] == {"steps": 2, "reached": 1, "percent": 50.0}
    flows = result["flows"]
    assert isinstance(flows, list)
    assert len(flows) == 1
    assert flows[0] == {
        "flowId": "f1",
        "title": "A flow with a rather long title that does not fit",
        "steps": [
            {
                "stepId": "s1",
                "title": "One",
                "type": "INTENT",
                "reached": True,
                "conversations": ["a::x", "b::y"],
            },
            {"stepId": "s3", "title": "Three", "type": "EVENT", "reached": False, "conversations": []},
        ],
    }


def test_gate_compares_exactly_and_a_bot_without_steps_is_covered() -> None:
    """Two of three steps (66.67% shown) is under 66.67 but not under 66.66; no steps at all is 100%."""
    result = coverage_report(FLOWS, {"s1": {"t"}, "s2": {"t"}})
    assert result["total"] == {"steps": 3, "reached": 2, "percent": 66.67}
    assert under(result, 66.67)
    assert not under(result, 66.66)
    empty = coverage_report([], {})
    assert empty["total"] == {"steps": 0, "reached": 0, "percent": 100.0}
    assert not under(empty, 100)


def test_table_cuts_long_titles_to_the_width() -> None:
    """A flow title longer than its column ends in `…`; no line is wider than asked."""
    lines = render_table(coverage_report(FLOWS, {"s1": {"t"}}), width=50)
    assert lines[1] == "A flow with a rathe…      3        1   33.3%"
    assert lines[2] == "    not reached: Two (NOTHING)"
    assert lines[-1] == "TOTAL                     3        1   33.3%"
    assert all(len(line) <= 50 for line in lines)


def test_steps_missing_from_the_flows_are_found() -> None:
    """A step that answered but is not in the flows measured against is reported as unknown."""
    reached = Reached()
    stranger = StepHit(flow_id="x", flow_title="X", step_id="zz", step_title="Z", step_type="INTENT")
    reached.add("t::a", [stranger])
    assert unknown_steps(FLOWS, reached) == [stranger]
