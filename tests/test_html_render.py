"""The HTML report's renderer alone: data in, page text out (escaping, redaction, coverage, odd payloads)."""

from __future__ import annotations

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.report import html_page as html_report
from pytest_flowai.transcript import Noted, Received, Sent, Transcript, TurnEnded

RUN = html_report.RunInfo(
    target="http://127.0.0.1:1", transport="rest", seed=None, duration=1.5, generated="now"
)
COVERAGE = {
    "total": {"steps": 3, "reached": 2, "percent": 66.7},
    "flows": [
        {
            "flowId": "greeting",
            "title": "Greeting",
            "steps": [
                {"stepId": "hello", "title": "Hello", "type": "INTENT", "reached": True,
                 "conversations": ["test_a.flowai.yaml::hi"]},
                {"stepId": "bye", "title": "Bye <now>", "type": "INTENT", "reached": False,
                 "conversations": []},
                {"stepId": "intro", "title": "INTRO", "type": "EVENT", "reached": True,
                 "conversations": ["test_a.flowai.yaml::intro"]},
            ],
        }
    ],
}  # fmt: skip


def _reply(*responses: JSON, step: str = "Hello") -> JSONObject:
    return {
        "threadId": "t",
        "messages": [{"responses": list(responses), "flow": {"title": "Greeting"}, "step": {"title": step}}],
    }


def _transcript(name: str = "hi", *replies: JSONObject) -> Transcript:
    transcript = Transcript(name=name, thread_id="thread-1", transport="rest", started=100.0)
    transcript.add(Sent(turn=1, text="say 'hello'", at=100.1))
    for reply in replies:
        transcript.add(Received(turn=1, payload=reply, at=100.2))
    transcript.add(Noted(turn=1, text="reconnected", at=100.3))
    transcript.add(TurnEnded(turn=1, ok=True, at=100.4))
    return transcript


def _page(chats: list[JSONObject], **kwargs: object) -> str:
    row = html_report.Row(nodeid="test_a.flowai.yaml::hi", chats=chats)
    return html_report.render_page([row], RUN, **kwargs)  # type: ignore[arg-type]


def test_chat_data_keeps_times_relative_and_hides_secrets() -> None:
    """Events are serialised with times since the conversation started, and every string is redacted."""
    reply = _reply({"type": "text", "payload": {"text": "key k3y-123 here"}})
    data = html_report.chat_data(_transcript("hi", reply), ["k3y-123"], failure="k3y-123 failed")
    events = data["events"]
    assert isinstance(events, list)
    assert [e["kind"] for e in events if isinstance(e, dict)] == ["sent", "received", "noted", "ended"]
    assert [e["at"] for e in events if isinstance(e, dict)] == [0.1, 0.2, 0.3, 0.4]
    assert "k3y-123" not in repr(data)
    assert data["failure"] == "*** failed"


def test_a_say_shows_its_text_and_other_actions_their_summary() -> None:
    """The user's `say 'hello'` is drawn as the bubble `hello`; an event keeps its summary, as an action."""
    transcript = _transcript()
    transcript.add(Sent(turn=2, text="event INTRO", at=100.5))
    page = _page([html_report.chat_data(transcript, [])])
    assert '<div class="fa-bubble">hello</div>' in page
    assert '<div class="fa-bubble fa-action">event INTRO</div>' in page


def test_secrets_are_hidden_in_every_text_of_the_page() -> None:
    """Secrets given to the renderer are blanked in names, bubbles, JSON and failures alike."""
    reply = _reply(
        {"type": "custom", "payload": {"token": "s3cret"}}, {"type": "text", "payload": {"text": "s3cret"}}
    )
    chat = html_report.chat_data(_transcript("s3cret chat", reply), [], failure="s3cret")
    page = _page([chat], secrets=["s3cret"])
    assert "s3cret" not in page
    assert "***" in page


def test_malformed_responses_render_as_json() -> None:
    """A response that is not an object, lacks a payload or has an unknown type is shown as its JSON."""
    reply = _reply("just a string", {"type": "image"}, {"type": "whatsapp_list", "payload": {"rows": [1]}})
    page = _page([html_report.chat_data(_transcript("odd", reply), [])])
    assert page.count('data-type="json"') == 3
    assert "whatsapp_list" in page
    assert "&#34;just a string&#34;" in page


def test_links_only_for_web_schemes() -> None:
    """A button or media URL becomes a link only for http(s), mailto or tel; anything else stays text."""
    card: JSON = {
        "title": "x",
        "media": {"url": "data:image/png;base64,AAAA", "type": "image"},
        "buttons": [
            {"type": "url", "label": "bad", "value": "javascript:alert(1)"},
            {"type": "url", "label": "good", "value": "https://example.invalid/"},
        ],
    }
    page = _page([html_report.chat_data(_transcript("links", _reply({"type": "card", "payload": card})), [])])
    assert 'href="https://example.invalid/"' in page
    assert 'href="javascript' not in page
    assert '<span class="fa-button" data-kind="url" title="url: javascript:alert(1)">bad</span>' in page
    assert 'src="data:' not in page


def test_coverage_table_renders_when_given() -> None:
    """With coverage data, the page has a table of every step, reached or not, with its conversations."""
    page = _page([], coverage=COVERAGE)
    assert 'id="coverage"' in page
    assert "Coverage: 66.7%" in page
    assert "Bye &lt;now&gt;" in page
    assert '<tr class="missed">' in page
    assert "test_a.flowai.yaml::intro" in page


def test_no_coverage_no_table() -> None:
    """Without coverage data (None), there is no coverage section."""
    assert 'id="coverage"' not in _page([], coverage=None)
    assert html_report.Row(nodeid="x").outcome == "passed"


def test_run_header_without_the_emulator_says_so() -> None:
    """Against a real service the header shows no seed, and the target URL."""
    page = _page([])
    assert "not the embedded emulator" in page
    assert "http://127.0.0.1:1" in page


def test_pytest_html_fragment_is_the_chat_with_its_css() -> None:
    """The fragment for pytest-html is the chat markup and its scoped CSS, nothing of the page around it."""
    chat = html_report.chat_data(
        _transcript("frag", _reply({"type": "text", "payload": {"text": "Hi!"}})), []
    )
    fragment = html_report.render_chats([chat])
    assert fragment.count('class="fa-chat"') == 1
    assert "<style>" in fragment
    assert "Hi!" in fragment
    assert "<script" not in fragment
    assert "<html" not in fragment
