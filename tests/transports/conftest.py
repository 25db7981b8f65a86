"""Emulators for the transport tests: the shared healthy one, and one per fault, started lazily."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_flowai.emulator import EmulatorThread, Fault
from pytest_flowai.transports import TransportConfig
from tests.helpers.emulators import new_emulator
from tests.helpers.transport import Emulators, config_for


@pytest.fixture(scope="session")
def emulators(emulator: EmulatorThread) -> Iterator[Emulators]:
    """Running emulators by fault (None: the shared healthy one); each starts once per session."""
    running: dict[Fault | None, EmulatorThread] = {None: emulator}
    started: list[EmulatorThread] = []

    def get(fault: Fault | None) -> EmulatorThread:
        if fault not in running:
            running[fault] = new_emulator(fault=fault).start()
            started.append(running[fault])
        return running[fault]

    try:
        yield get
    finally:
        for faulty in started:
            faulty.stop()


@pytest.fixture
def healthy(emulators: Emulators) -> TransportConfig:
    """A config for the healthy emulator."""
    return config_for(emulators(None))
