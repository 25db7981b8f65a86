"""Shared fixtures of the project's own tests."""

from __future__ import annotations

# The plugin imports its runner, httpx and websockets lazily. pytester's in-process runs drop the modules a
# run imported, so a later run would import them anew and mix old and new classes (an httpx.ConnectError of
# one import is not caught as the other's; httpx maps the httpcore errors of its first use). Importing them
# here keeps one copy for the whole test session.
import anyio._backends._asyncio  # noqa: F401
import httpcore  # noqa: F401

import pytest_flowai.emulator
import pytest_flowai.session
import pytest_flowai.spec.load
import pytest_flowai.transports.controls
import pytest_flowai.transports.hub
import pytest_flowai.transports.receiver
import pytest_flowai.transports.rest
import pytest_flowai.transports.webhook
import pytest_flowai.transports.ws  # noqa: F401
