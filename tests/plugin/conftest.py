"""Fixtures of the plugin end-to-end tests: one shared emulator, emulators with faults, a pytester runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_flowai.emulator import EmulatorThread
from pytest_flowai.emulator.settings import Fault
from tests.helpers.plugin import API_KEY, BOT, CLIENT_ID, FlowaiTester, StartEmulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorThread]:
    """The demo bot served on 127.0.0.1:0 for the whole session; most tests point their runs at it."""
    with EmulatorThread(flows=BOT, api_key=API_KEY, client_id=CLIENT_ID) as emu:
        yield emu


@pytest.fixture
def flowai(
    pytester: pytest.Pytester, emulator: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> FlowaiTester:
    """A pytester runner talking to the shared emulator, with the API key in the environment."""
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    return FlowaiTester(pytester=pytester, url=emulator.url)


@pytest.fixture
def start_emulator() -> Iterator[StartEmulator]:
    """Starts emulators of the test's own (fault, latency, key, flows) on 127.0.0.1:0, stopped after it."""
    started: list[EmulatorThread] = []

    def start(
        *, fault: Fault | None = None, latency_ms: float = 0, api_key: str = API_KEY, flows: Path = BOT
    ) -> EmulatorThread:
        emu = EmulatorThread(
            flows=flows, api_key=api_key, client_id=CLIENT_ID, fault=fault, latency_ms=latency_ms
        )
        started.append(emu.start())
        return emu

    yield start
    for emu in started:
        emu.stop()
