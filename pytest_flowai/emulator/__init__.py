"""A protocol-faithful local Flow.ai emulator: socket API, REST v1, Messaging API webhooks, management routes.
Imports only ``pytest_flowai.schemas`` of the plugin; the plugin imports this package lazily."""

from __future__ import annotations

from pytest_flowai.emulator.server import Emulator, EmulatorThread
from pytest_flowai.emulator.settings import EmulatorSettings, Fault

__all__ = ["Emulator", "EmulatorSettings", "EmulatorThread", "Fault"]
