"""The one way the tests configure an emulator: the demo bot with the tests' key and client id, fast
webhook retries, and whatever a test overrides (a fault, a latency, its own flows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_flowai.emulator import Emulator, EmulatorThread
from pytest_flowai.emulator.settings import EmulatorSettings
from tests.helpers.paths import DEMO_BOT

# Distinctive, so a leak anywhere in the output is found by a plain substring check.
API_KEY = "flowai-tests-Secr3t-key-7c41e9"
# Not the emulator's default, so a client that does not pass the configured client id is refused.
CLIENT_ID = "flowai-tests"
# Webhook retries fast enough for a test: 3 attempts, 10 ms then 20 ms apart.
FAST_WEBHOOKS: dict[str, Any] = {
    "webhook_attempts": 3,
    "webhook_backoff": 0.01,
    "webhook_backoff_max": 0.05,
    "webhook_timeout": 2.0,
}
# `start_emulator(fault=..., latency_ms=..., ...)`: a started emulator of the test's own, stopped after it.
StartEmulator = Callable[..., EmulatorThread]


def emulator_settings(**overrides: Any) -> EmulatorSettings:
    """The tests' emulator settings, with ``overrides`` (any ``EmulatorSettings`` field) applied."""
    defaults: dict[str, Any] = {
        "flows": DEMO_BOT,
        "api_key": API_KEY,
        "client_id": CLIENT_ID,
        **FAST_WEBHOOKS,
    }
    return EmulatorSettings(**{**defaults, **overrides})


def new_emulator(**overrides: Any) -> EmulatorThread:
    """An emulator thread (not yet started) with the tests' settings and ``overrides``."""
    return EmulatorThread(emulator_settings(**overrides))


async def in_process(**overrides: Any) -> Emulator:
    """An emulator started in this loop with the tests' settings and ``overrides``; the caller stops it."""
    emulator = Emulator(emulator_settings(**overrides))
    await emulator.start()
    return emulator
