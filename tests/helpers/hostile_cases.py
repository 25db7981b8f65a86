"""The fault cases the hostile server plays, what each must look like, and the specs that drive them."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

CLIENT_ID = "hostile-tests"
API_KEY = "hostile-tests-Secr3t-key"
TIMEOUT = 1  # every turn's timeout: a case that does not end in time is a hang


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One fault over one transport: the spec's `say:`, the class of input, what the failure must say."""

    fault: str
    transport: str
    kind: str  # the class of input, for the matrix
    headline: str  # fnmatch pattern of what follows "failed: " (or of a transcript line when it passes)
    outcome: str = "clear failure"  # or "bounded retry", "passed"

    @property
    def id(self) -> str:
        return f"{self.transport}-{self.fault.replace(' ', '-')}"


_REOPENED = "before the expected reply came; it was reopened, but what the bot sent meanwhile is lost"
_TOO_MANY = "transport error: sending a text message: HTTP 429: slow down (too many requests, "

CASES = (
    # -- the WebSocket ----------------------------------------------------------------------------
    Case(
        fault="close 1011",
        transport="socket",
        kind="WebSocket closed mid-turn",
        headline=f"transport error: the connection closed mid-turn (code 1011: internal error) {_REOPENED}",
    ),
    Case(
        fault="close 1006",
        transport="socket",
        kind="WebSocket closed mid-turn",
        headline=f"transport error: the connection closed mid-turn (code 1006: no close frame) {_REOPENED}",
    ),
    Case(
        fault="frame 5MB",
        transport="socket",
        kind="size",
        headline="transport error: the server sent a frame over the size limit of 4194304 bytes (code 1009*",
    ),
    Case(
        fault="deep json",
        transport="socket",
        kind="JSON nesting",
        headline="transport error: the server sent a frame of JSON nested deeper than 64 levels",
    ),
    Case(
        fault="garbage",
        transport="socket",
        kind="not JSON",
        headline="transport error: the server sent a frame that is not JSON: '<html><body>502 Bad Gateway*",
    ),
    Case(
        fault="invalid utf-8",
        transport="socket",
        kind="not UTF-8",
        headline="transport error: the server sent a binary frame that is not UTF-8"
        " (invalid start byte at byte 41)",
    ),
    Case(
        fault="off schema",
        transport="socket",
        kind="off schema",
        headline="the bot's reply breaks the protocol schema 'server-frame'",
    ),
    Case(
        fault="error frame",
        transport="socket",
        kind="error frame / 5xx",
        headline="transport error: the server sent an error: hostile: overloaded",
    ),
    Case(
        fault="foreign thread",
        transport="socket",
        kind="another thread's reply",
        headline="a reply the turn did not ask for arrived"
        " (a reply for thread someone-else-entirely|o_hostile) (extra: fail)",
    ),
    Case(
        fault="duplicate",
        transport="socket",
        kind="duplicate reply",
        headline="a reply the turn did not ask for arrived (a duplicate of an earlier reply) (extra: fail)",
    ),
    Case(fault="hang", transport="socket", kind="hang", headline=f"no reply within {TIMEOUT}s"),
    Case(
        fault="no delivery",
        transport="socket",
        kind="hang",
        headline=f"transport error: no message.delivered for traceId 1 within {TIMEOUT}s (*)",
    ),
    Case(
        fault="bad endpoint port",
        transport="socket",
        kind="bad endpoint",
        headline="transport error: socket.info gave an endpoint that is not a usable WebSocket URL"
        " (Port out of range 0-65535): 'ws://127.0.0.1:99999/ws/*' (*/socket.info?*)",
    ),
    Case(
        fault="bad endpoint host",
        transport="socket",
        kind="bad endpoint",
        headline="transport error: socket.info gave an endpoint that is not a usable WebSocket URL"
        " (*label empty or too long*): 'ws://xxx*.invalid/ws/t' (*)",
    ),
    Case(
        fault="socket.info deep json",
        transport="socket",
        kind="JSON nesting",
        headline="transport error: asking socket.info for an endpoint: the server answered with JSON nested"
        " deeper than 64 levels (*)",
    ),
    Case(
        fault="socket.info redirect",
        transport="socket",
        kind="redirect",
        headline="transport error: socket.info: HTTP 302, a redirect to 'https://elsewhere.invalid/socket.info';"
        " redirects are not followed *",
    ),
    Case(
        fault="socket.info hang",
        transport="socket",
        kind="hang",
        headline=f"transport error: asking socket.info for an endpoint: no answer within {TIMEOUT}s (*)",
    ),
    Case(
        fault="handshake hang",
        transport="socket",
        kind="hang",
        headline=f"transport error: the WebSocket did not open within {TIMEOUT}s (socket.info and the"
        " handshake) (ws://127.0.0.1:*/ws/hang)",
    ),
    # -- sync REST --------------------------------------------------------------------------------
    Case(
        fault="redirect",
        transport="rest",
        kind="redirect",
        headline="transport error: sending a text message: HTTP 302, a redirect to"
        " 'https://elsewhere.invalid/rest/v1/x'; redirects are not followed *",
    ),
    Case(
        fault="status 429",
        transport="rest",
        kind="429 Retry-After",
        headline="    +*s ! HTTP 429 (too many requests): retrying once after 0.1s, as Retry-After asks",
        outcome="bounded retry",
    ),
    Case(
        fault="status 429 forever",
        transport="rest",
        kind="429 Retry-After",
        headline=_TOO_MANY + "again after the one retry) (*)",
    ),
    Case(
        fault="status 429 later",
        transport="rest",
        kind="429 Retry-After",
        headline=_TOO_MANY + f"with Retry-After 3600s, past the turn's timeout of {TIMEOUT}s) (*)",
    ),
    Case(
        fault="status 503",
        transport="rest",
        kind="error frame / 5xx",
        headline="transport error: sending a text message: HTTP 503: hostile: overloaded (*)",
    ),
    Case(
        fault="invalid utf-8",
        transport="rest",
        kind="not UTF-8",
        headline="transport error: sending a text message: the server answered with a body that is not utf-8"
        " (invalid start byte at byte 28) (*",
    ),
    Case(
        fault="garbage",
        transport="rest",
        kind="not JSON",
        headline="transport error: sending a text message: the server answered with a body that is not JSON:"
        " '<html><body>502 Bad Gateway*",
    ),
    Case(
        fault="deep json",
        transport="rest",
        kind="JSON nesting",
        headline="transport error: sending a text message: the server answered with JSON nested deeper than"
        " 64 levels (*)",
    ),
    Case(
        fault="body 5MB",
        transport="rest",
        kind="size",
        headline="transport error: sending a text message: the answer is over the size limit of 4194304 bytes"
        " (stopped reading there) (*)",
    ),
    Case(
        fault="foreign thread",
        transport="rest",
        kind="another thread's reply",
        headline="a reply the turn did not ask for arrived"
        " (a reply for thread someone-else-entirely|o_hostile) (extra: fail)",
    ),
    Case(
        fault="hang",
        transport="rest",
        kind="hang",
        headline=f"transport error: sending a text message: no answer within {TIMEOUT}s (*)",
    ),
)


def spec(name: str, say: str, transport: str) -> str:
    """A one-turn spec that says ``say`` and expects the honest echo."""
    return textwrap.dedent(
        f"""\
        name: {name}
        transport: {transport}
        timeout: {TIMEOUT}
        settle: 0.1
        patience: 0.5
        steps:
          - say: "{say}"
            expect:
              - text: "You said: {say}"
        """
    )


def files(case: Case) -> dict[str, str]:
    """The two spec files of a case's run: the fault, then a control that must pass in the same run."""
    return {
        "test_a_fault": spec("fault", case.fault, case.transport),
        "test_b_control": spec("control", "hello", case.transport),
    }


def ini(url: str) -> str:
    """The pytest.ini pointing a run at the hostile server."""
    return f"[pytest]\nflowai_url = {url}\nflowai_client_id = {CLIENT_ID}\n"


def expected_lines(case: Case) -> list[str]:
    """The lines a run of ``case`` must print."""
    if case.outcome == "clear failure":
        return [f"test_a_fault.flowai.yaml:*: turn 1 of 'fault' failed: {case.headline}"]
    return [case.headline]
