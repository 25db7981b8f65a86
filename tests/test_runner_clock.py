"""The runner's injected clock: its deadlines and transcript stamps are readings of it, not of wall time.

A clock that jumps ahead at every reading lets a 30 s timeout or a 10 s patience pass at once, so these
tests check the runner's decisions against a real emulator on loopback without waiting for them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_flowai.conversation import ConversationRunner, RunSettings
from pytest_flowai.emulator import EmulatorThread, Fault
from pytest_flowai.errors import TurnFailed
from pytest_flowai.secret import Secret
from pytest_flowai.spec import load_spec_text
from pytest_flowai.transcript import Received, Sent, Transcript, TurnEnded
from pytest_flowai.transports import TransportConfig

BOT = Path(__file__).resolve().parent.parent / "example_specs" / "bot"
CLIENT_ID = "runner-clock-client"
API_KEY = "sk-runner-clock-secret"
START = 1_000_000.0  # far from any real time.monotonic() reading, so a stray one would show
BOUND = 10.0  # no test here may really take longer than this


class JumpingClock:
    """A clock that moves ``step`` seconds ahead at every reading, whatever the wall clock does."""

    def __init__(self, step: float) -> None:
        self.now = START
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(scope="module")
def healthy() -> Iterator[EmulatorThread]:
    """The demo bot on 127.0.0.1, port 0."""
    with EmulatorThread(flows=str(BOT), api_key=API_KEY, client_id=CLIENT_ID) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def hanging() -> Iterator[EmulatorThread]:
    """An emulator that confirms each message and never replies."""
    with EmulatorThread(flows=str(BOT), api_key=API_KEY, client_id=CLIENT_ID, fault=Fault.HANG) as emulator:
        yield emulator


def run_spec(
    emulator: EmulatorThread, spec: str, clock: JumpingClock
) -> tuple[Transcript, TurnFailed | None]:
    """Run the spec's one conversation on ``clock``; the transcript and the failure, if it failed."""
    conversation = load_spec_text(spec, "test_clock.flowai.yaml").conversations[0]
    config = TransportConfig(url=emulator.url, client_id=CLIENT_ID, api_key=Secret(API_KEY))
    settings = RunSettings(config=config, transport=str(conversation.transport or "socket"), env={})
    thread = uuid.uuid4().hex
    transcript = Transcript(
        name=conversation.name, thread_id=thread, transport=settings.transport, started=clock()
    )
    runner = ConversationRunner(conversation, settings, thread_id=thread, transcript=transcript, clock=clock)

    async def bounded() -> TurnFailed | None:
        async with asyncio.timeout(BOUND):  # a bound on real time: the clock's seconds are not waited for
            try:
                await runner.run()
            except TurnFailed as failure:
                return failure
        return None

    return transcript, asyncio.run(bounded())


def test_transcript_stamps_are_readings_of_the_runners_clock(healthy: EmulatorThread) -> None:
    """Every event of a passing turn is stamped on the injected clock, in order, replies included."""
    clock = JumpingClock(step=0.001)
    spec = "transport: rest\nsteps:\n  - say: hello\n    expect:\n      - step: hello\n"
    transcript, failure = run_spec(healthy, spec, clock)
    assert failure is None
    kinds = [type(event) for event in transcript.events]
    assert kinds == [Sent, Received, TurnEnded]
    stamps = [event.at for event in transcript.events]
    assert stamps == sorted(stamps)
    assert all(transcript.started < at <= clock.now for at in stamps)


def test_a_timeout_passing_on_the_runners_clock_ends_the_turn(hanging: EmulatorThread) -> None:
    """A clock past the 30 s deadline at its next reading fails the turn of a silent bot now, by timeout."""
    clock = JumpingClock(step=31.0)
    spec = "timeout: 30\nsteps:\n  - say: hello\n    expect:\n      - step: hello\n"
    transcript, failure = run_spec(hanging, spec, clock)
    assert failure is not None
    assert failure.reason == "no reply within 30s"
    sent, ended = transcript.events[0], transcript.events[-1]
    assert isinstance(sent, Sent)
    assert isinstance(ended, TurnEnded)
    assert not ended.ok
    assert ended.at - sent.at >= 30


def test_patience_passing_on_the_runners_clock_ends_the_turn(healthy: EmulatorThread) -> None:
    """A wrong reply fails the turn by patience (10 s on the clock, not waited), long before its timeout."""
    clock = JumpingClock(step=11.0)
    spec = "timeout: 100000\npatience: 10\nsteps:\n  - say: hello\n    expect:\n      - text: Goodbye\n"
    transcript, failure = run_spec(healthy, spec, clock)
    assert failure is not None
    assert failure.reason.startswith("the bot replied and then said nothing for 10s (")
    kinds = [type(event) for event in transcript.events]
    assert kinds[0] is Sent
    assert Received in kinds
    assert kinds[-1] is TurnEnded
