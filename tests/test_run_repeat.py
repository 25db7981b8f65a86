"""One conversation run twice with one session's settings: what a turn fills in is filled at every run.

The runner keeps, per session, what no variable can change about a turn; these runs check that a turn with
a placeholder is not among it, against the demo bot on loopback.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_flowai.conversation import ConversationRunner, RunSettings
from pytest_flowai.emulator import EmulatorThread
from pytest_flowai.errors import TurnFailed
from pytest_flowai.secret import Secret
from pytest_flowai.spec import load_spec_text
from pytest_flowai.spec.model import Conversation
from pytest_flowai.transcript import Sent, Transcript
from pytest_flowai.transports import TransportConfig

BOT = Path(__file__).resolve().parent.parent / "example_specs" / "bot"
CLIENT_ID = "run-repeat-client"
API_KEY = "sk-run-repeat-secret"
SPEC = """\
transport: rest
steps:
  - say: "{env.SAY}"
    expect:
      - text: {contains: "{env.WORD}"}
  - say: "{{braces}} stay"
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    """The demo bot on 127.0.0.1, port 0."""
    with EmulatorThread(flows=str(BOT), api_key=API_KEY, client_id=CLIENT_ID) as running:
        yield running


def run_once(conversation: Conversation, settings: RunSettings) -> tuple[list[str], TurnFailed | None]:
    """Run the conversation on a new thread: what it sent, and its failure if it failed."""
    thread = uuid.uuid4().hex
    transcript = Transcript(name=conversation.name, thread_id=thread, transport=settings.transport)
    runner = ConversationRunner(conversation, settings, thread_id=thread, transcript=transcript)
    failure: TurnFailed | None = None
    try:
        asyncio.run(runner.run())
    except TurnFailed as exc:
        failure = exc
    return [event.text for event in transcript.events if isinstance(event, Sent)], failure


def test_placeholders_are_filled_at_every_run_of_a_conversation(emulator: EmulatorThread) -> None:
    """A second run sends and expects what the variables say then, and a `{{` escape reads `{` each time."""
    conversation = load_spec_text(SPEC, "test_repeat.flowai.yaml").conversations[0]
    config = TransportConfig(url=emulator.url, client_id=CLIENT_ID, api_key=Secret(API_KEY))
    env = {"SAY": "hello", "WORD": "Pizza Bella"}
    settings = RunSettings(config=config, transport="rest", env=env)

    sent, failure = run_once(conversation, settings)
    assert failure is None
    assert sent == ["say 'hello'", "say '{braces} stay'"]

    env.update(SAY="Opening hours", WORD="no such words")
    sent, failure = run_once(conversation, settings)
    assert sent == ["say 'Opening hours'"]
    assert failure is not None
    assert "'no such words'" in str(failure.detail)
