"""The hostile server for the fault tests: one per test session, on 127.0.0.1 port 0, in a thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.hostile_server import HostileThread


@pytest.fixture(scope="session")
def hostile() -> Iterator[HostileThread]:
    """The hostile Flow.ai server, started once for the session."""
    with HostileThread() as server:
        yield server
