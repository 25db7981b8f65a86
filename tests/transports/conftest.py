"""Real emulators on 127.0.0.1 port 0 for the transport tests: one healthy, one per fault, started lazily."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_flowai.emulator import EmulatorThread, Fault
from pytest_flowai.transports import TransportConfig
from tests.helpers.transport import API_KEY, BOT, CLIENT_ID, Emulators, config_for


@pytest.fixture(scope="session")
def emulators() -> Iterator[Emulators]:
    """A factory of running emulators by fault (None: healthy); each starts once and stops at session end."""
    running: dict[Fault | None, EmulatorThread] = {}

    def get(fault: Fault | None) -> EmulatorThread:
        if fault not in running:
            emulator = EmulatorThread(flows=str(BOT), api_key=API_KEY, client_id=CLIENT_ID, fault=fault)
            running[fault] = emulator.start()
        return running[fault]

    try:
        yield get
    finally:
        for emulator in running.values():
            emulator.stop()


@pytest.fixture
def healthy(emulators: Emulators) -> TransportConfig:
    """A config for the healthy emulator."""
    return config_for(emulators(None))
