"""The per-pytest-session state: resolved settings, the one event loop, and the embedded emulator.

Knows nothing of pytest: the plugin builds it from options and stores it in `config.stash`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from pytest_flowai.conversation import RunSettings, Transcript, run
from pytest_flowai.errors import EmulatorError
from pytest_flowai.spec.model import Conversation
from pytest_flowai.transports.base import TransportConfig
from pytest_flowai.transports.rest import new_http_client

if TYPE_CHECKING:
    from pytest_flowai.emulator import EmulatorThread

EMULATOR_CLIENT_ID = "pytest-flowai"


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """The plugin's configuration after ini, CLI and environment were merged."""

    url: str | None
    client_id: str | None
    api_key: str | None
    transport: str
    timeout: float
    settle: float
    silence: float
    patience: float
    emulator_flows: Path | None
    worker: str = "main"

    @property
    def target(self) -> str:
        """Where the specs talk to, for the report header."""
        if self.url:
            return self.url
        flows = self.emulator_flows
        return f"embedded emulator (flows: {flows})" if flows else "embedded emulator (no flows configured)"


@dataclass(slots=True)
class FlowaiSession:
    """One per pytest session (per xdist worker): the event loop, the target, unique thread ids."""

    options: Options
    runner: asyncio.Runner = field(default_factory=asyncio.Runner)
    emulator: EmulatorThread | None = None
    _run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _settings: RunSettings | None = None
    _http: httpx.AsyncClient | None = None

    def secrets(self) -> list[str]:
        """Values that must never appear in any output."""
        keys = [self.options.api_key]
        if self.emulator is not None:
            keys.append(self.emulator.api_key)
        return [k for k in keys if k]

    def next_thread_id(self) -> str:
        """A thread id unique to this run, worker and conversation, so parallel runs never share a thread."""
        return f"pytest-flowai-{self._run_id}-{self.options.worker}-{next(self._counter)}"

    def settings(self) -> RunSettings:
        """Run settings, starting the embedded emulator on first use when no URL is configured."""
        if self._settings is None:
            self._settings = self._build_settings()
        return self._settings

    def _build_settings(self) -> RunSettings:
        opts = self.options
        if opts.url:
            config = TransportConfig(
                url=opts.url,
                client_id=opts.client_id,
                api_key=opts.api_key,
                session_id=self._run_id,
            )
        else:
            config = self._start_emulator()
        return RunSettings(
            config=config,
            transport=opts.transport,
            timeout=opts.timeout,
            settle=opts.settle,
            silence=opts.silence,
            patience=opts.patience,
            env=dict(os.environ),
        )

    def _start_emulator(self) -> TransportConfig:
        flows = self.options.emulator_flows
        if flows is None:
            raise EmulatorError(
                "no flowai_url is set and no flowai_emulator_flows to start the embedded emulator with;"
                " set one of them (ini option or --flowai-url / --flowai-emulator-flows)"
            )
        # Imported here, the one place the plugin touches the emulator (it pulls in starlette and uvicorn).
        from pytest_flowai.emulator import EmulatorThread

        api_key = self.options.api_key or secrets.token_urlsafe(16)
        client_id = self.options.client_id or EMULATOR_CLIENT_ID
        emulator = EmulatorThread(flows=flows, api_key=api_key, client_id=client_id)
        emulator.start()
        self.emulator = emulator
        return TransportConfig(
            url=emulator.url, client_id=client_id, api_key=api_key, session_id=self._run_id
        )

    def run(self, conversation: Conversation, transcript: Transcript) -> Transcript:
        """Run one conversation to its end on the session's loop (the only sync-to-async bridge)."""
        return self.runner.run(
            run(
                conversation,
                self.settings(),
                thread_id=transcript.thread_id,
                transcript=transcript,
                http=self.http(),
            )
        )

    def http(self) -> httpx.AsyncClient:
        """The session's one HTTP client (REST, socket.info, controls), made on first use."""
        if self._http is None:
            self._http = new_http_client()
        return self._http

    def close(self) -> None:
        """Close the HTTP client and the loop, stop the emulator; safe to call twice."""
        emulator, self.emulator = self.emulator, None
        http, self._http = self._http, None
        try:
            if http is not None:
                self.runner.run(http.aclose())
            self.runner.close()
        finally:
            if emulator is not None:
                emulator.stop()
