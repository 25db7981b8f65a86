"""Fixtures of the plugin end-to-end tests: a pytester runner talking to the shared emulator."""

from __future__ import annotations

import pytest

from pytest_flowai.emulator import EmulatorThread
from tests.helpers.emulators import API_KEY
from tests.helpers.plugin import FlowaiTester


@pytest.fixture
def flowai(
    pytester: pytest.Pytester, emulator: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> FlowaiTester:
    """A pytester runner talking to the shared emulator, with the API key in the environment."""
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    return FlowaiTester(pytester=pytester, url=emulator.url)
