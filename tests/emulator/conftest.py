"""Fixtures of the emulator server tests: one emulator thread per session on the demo bot, reset before each
test, and a check that the emulator hit none of its own bugs meanwhile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_flowai.emulator import EmulatorThread
from tests.helpers.emulator import API_KEY, DEMO_BOT, FAST_WEBHOOKS


@pytest.fixture(scope="session")
def emulator_thread() -> Iterator[EmulatorThread]:
    with EmulatorThread(flows=DEMO_BOT, api_key=API_KEY, **FAST_WEBHOOKS) as emu:
        yield emu


@pytest.fixture
def emu(emulator_thread: EmulatorThread) -> Iterator[EmulatorThread]:
    """The shared emulator, reset; the test fails if the emulator hit one of its own bugs meanwhile."""
    emulator_thread.reset()
    bugs = emulator_thread.internal_errors
    yield emulator_thread
    assert emulator_thread.internal_errors == bugs, "the emulator answered 500 or broke a socket (a bug)"
