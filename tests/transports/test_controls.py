"""Bot control over REST against a real emulator: pause, resume, handover and status per thread."""

from __future__ import annotations

import pytest

from pytest_flowai.errors import TransportError
from pytest_flowai.transports import Controls, Incoming, TransportConfig, open_transport
from tests.helpers.transport import Emulators, config_for, new_thread, run, text


def test_pause_and_resume_flip_the_status(healthy: TransportConfig) -> None:
    """A new thread is active, pause makes it paused and resume makes it active again."""
    thread = new_thread()

    async def scenario() -> list[bool]:
        async with Controls(healthy) as controls:
            states = [await controls.status(thread)]
            await controls.pause(thread)
            states.append(await controls.status(thread))
            await controls.resume(thread, timeout=5)
            states.append(await controls.status(thread))
        return states

    assert run(scenario) == [False, True, False]


def test_a_paused_bot_stays_silent(healthy: TransportConfig) -> None:
    """Once paused through the controls, the bot gives no reply to a message sent over the socket."""
    thread = new_thread()

    async def scenario() -> object:
        async with Controls(healthy) as controls, await open_transport("socket", healthy) as transport:
            await controls.pause(thread)
            await transport.send(text(thread, "hello"), timeout=5)
            return await transport.receive(0.5)

    assert run(scenario) is None


def test_handover_pauses_the_bot(healthy: TransportConfig) -> None:
    """A handover with secondsToPause pauses the bot for the thread, and resume undoes it."""
    thread = new_thread()

    async def scenario() -> tuple[bool, bool, object]:
        async with Controls(healthy) as controls, await open_transport("rest", healthy) as transport:
            await controls.handover(thread, 600)
            paused = await controls.status(thread)
            await controls.resume(thread)
            await transport.send(text(thread, "hello"), timeout=5)
            return paused, await controls.status(thread), await transport.receive(0)

    paused, after_resume, reply = run(scenario)
    assert paused is True
    assert after_resume is False
    assert isinstance(reply, Incoming)


def test_handover_without_seconds_pauses_until_resumed(healthy: TransportConfig) -> None:
    """A plain handover (no secondsToPause) pauses the bot for the thread until it is resumed."""
    thread = new_thread()

    async def scenario() -> bool:
        async with Controls(healthy) as controls:
            await controls.handover(thread)
            return await controls.status(thread)

    assert run(scenario) is True


def test_a_wrong_key_is_refused_without_showing_it(emulators: Emulators) -> None:
    """Controls with a wrong key fail with the status, and the key appears nowhere in the error."""
    wrong_key = "sk-another-wrong-key"
    config = config_for(emulators(None), api_key=wrong_key)

    async def scenario() -> None:
        async with Controls(config) as controls:
            await controls.pause(new_thread())

    with pytest.raises(TransportError) as caught:
        run(scenario)
    assert "pausing the bot: HTTP 401" in str(caught.value)
    assert wrong_key not in str(caught.value)
