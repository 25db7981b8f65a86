"""Shared fixtures of the project's own tests: the demo bot's emulator for the session, reset for one test,
or started with a test's own settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# The plugin imports its runner, httpx and websockets lazily. pytester's in-process runs drop the modules a
# run imported, so a later run would import them anew and mix old and new classes (an httpx.ConnectError of
# one import is not caught as the other's; httpx maps the httpcore errors of its first use). Importing them
# here keeps one copy for the whole test session.
import anyio._backends._asyncio  # noqa: F401
import httpcore  # noqa: F401
import pytest

import pytest_flowai.emulator
import pytest_flowai.session
import pytest_flowai.spec.load
import pytest_flowai.transports.controls
import pytest_flowai.transports.hub
import pytest_flowai.transports.receiver
import pytest_flowai.transports.rest
import pytest_flowai.transports.webhook
import pytest_flowai.transports.ws  # noqa: F401
from pytest_flowai.emulator import EmulatorThread
from tests.helpers.emulators import StartEmulator, new_emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorThread]:
    """The demo bot served on 127.0.0.1:0 for the whole session (one per xdist worker), in a thread."""
    with new_emulator() as emu:
        yield emu


@pytest.fixture
def emu(emulator: EmulatorThread) -> Iterator[EmulatorThread]:
    """The shared emulator, reset; the test fails if the emulator hit one of its own bugs meanwhile."""
    emulator.reset()
    bugs = emulator.internal_errors
    yield emulator
    assert emulator.internal_errors == bugs, "the emulator answered 500 or broke a socket (a bug)"


@pytest.fixture
def start_emulator() -> Iterator[StartEmulator]:
    """Starts emulators with the test's own settings (a fault, a latency, a key, flows), stopped after it."""
    started: list[EmulatorThread] = []

    def start(**overrides: Any) -> EmulatorThread:
        emulator = new_emulator(**overrides)
        started.append(emulator.start())
        return emulator

    yield start
    for emulator in started:
        emulator.stop()
