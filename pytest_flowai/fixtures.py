"""The `flowai` fixture: the spec runner for Python tests, for checks that YAML cannot express.

Each call is one turn, run by the same runner as a YAML turn, so failures read the same. Light at import (the
plugin imports it in every run): the `Chat` it yields (`chat.py`) loads when a test first uses the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from pytest_flowai.nodes import SESSION, session_of

if TYPE_CHECKING:
    from pytest_flowai.chat import Chat

CHATS: pytest.StashKey[list[Chat]] = pytest.StashKey()


@pytest.fixture
def flowai(request: pytest.FixtureRequest) -> Iterator[Chat]:
    """A fresh conversation with the bot under test (a new thread), closed after the test.

    `@pytest.mark.flowai(transport="rest")` chooses the transport; else the configured default.
    """
    # Imported on first use: it loads the spec model and the runner, which a run without it never needs.
    from pytest_flowai.chat import Chat

    session = session_of(request.config)
    marker = request.node.get_closest_marker("flowai")
    transport = str(marker.kwargs.get("transport")) if marker and "transport" in marker.kwargs else None
    chats = request.node.stash.setdefault(CHATS, [])
    # The node id and the chat's number: a stable thread key, so the emulator's replies reproduce.
    chat = Chat(
        session,
        key=f"{request.node.nodeid}#{len(chats) + 1}",
        name=request.node.name,
        transport=transport or session.options.transport,
    )
    chats.append(chat)
    try:
        yield chat
    finally:
        chat.close()


def attach_transcripts(item: pytest.Item) -> None:
    """Add the transcript of each `flowai` chat of `item` to its call report (shown when it fails)."""
    chats = item.stash.get(CHATS, [])
    if not chats:
        return
    from pytest_flowai.report.text import redact, render_transcript

    session = item.config.stash[SESSION]
    for chat in chats:
        text = redact(render_transcript(chat.transcript), session.secrets())
        item.add_report_section("call", "flowai transcript", text)
