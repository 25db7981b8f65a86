"""The per-pytest-session state: resolved settings, the one event loop, the scheduler, the embedded emulator.

Knows nothing of pytest: the plugin builds it from options and stores it in `config.stash`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import secrets
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from pytest_flowai.bridge import run_sync
from pytest_flowai.conversation import RunSettings, run
from pytest_flowai.errors import ConfigurationError, EmulatorError, FlowaiError, TransportError
from pytest_flowai.options import Options
from pytest_flowai.scheduler import Scheduler
from pytest_flowai.secret import Secret, SecretEnv, forget, register, secret_or_none
from pytest_flowai.spec.model import Conversation
from pytest_flowai.transcript import Transcript
from pytest_flowai.transports.base import TransportConfig
from pytest_flowai.transports.http import HttpClient, new_http_client, tls_context_for

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_flowai.botcheck import BotShape
    from pytest_flowai.emulator import EmulatorThread
    from pytest_flowai.emulator.flows import Bot
    from pytest_flowai.transports.hub import WebhookHub

EMULATOR_CLIENT_ID = "pytest-flowai"
# The embedded emulator seeds text variants by a thread id's part before its last `~` (its run tag).
RUN_TAG = "~"
# A kept HTTP client is reused only when its connection last answered within this many seconds: a server
# closes an idle keep-alive connection after its own timeout (5 s for uvicorn and Node), and a request sent
# as it does so fails ("Server disconnected"); well inside any such timeout, that race cannot happen.
REUSE_WITHIN = 1.0
# The embedded emulator retries a failed webhook call after this (doubling); quick, as it is on loopback.
EMULATOR_WEBHOOK_BACKOFF = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One spec conversation to run: its node id (the key), the conversation and its transport."""

    key: str
    conversation: Conversation
    transport: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Outcome:
    """How one conversation ended: its transcript, its failure (None when it passed), its own duration."""

    transcript: Transcript
    error: FlowaiError | None
    duration: float

    def __repr__(self) -> str:
        # Short on purpose: asyncio.Runner.run formats its finished main task (this its result) once per
        # conversation when it restores the SIGINT handler, and the dataclass repr of a whole transcript
        # cost ~0.3 ms a conversation.
        failed = type(self.error).__name__ if self.error is not None else "passed"
        return f"Outcome({self.transcript.name!r}, {failed}, {self.duration:.3f}s)"


@dataclass(slots=True)
class FlowaiSession:
    """One per pytest session (per xdist worker): the event loop, the target, unique thread ids."""

    options: Options
    runner: asyncio.Runner = field(default_factory=asyncio.Runner)
    emulator: EmulatorThread | None = None
    _run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _settings: RunSettings | None = None
    _bot: Bot | None = None
    # The bot's names for checking specs at collection: loaded once; None when the bot is not known.
    _shape: BotShape | None = None
    _shape_loaded: bool = False
    _tls: ssl.SSLContext | None = None
    # Clients of conversations that ended without a transport error, kept (at most `concurrency`) with
    # their open connection for the next conversation: a new client and connection for every
    # conversation cost ~0.7 ms of CPU here and a connection set-up at the server. Reused only when its
    # last answer (`HttpClient.answered`) is recent: see `REUSE_WITHIN`.
    _idle_http: list[HttpClient] = field(default_factory=list)
    _jobs: dict[str, Job] = field(default_factory=dict)
    _scheduler: Scheduler[Outcome] | None = None
    # A refused key or an unreachable server fails every later conversation the same way, at once.
    _fatal: TransportError | None = None
    _emulator_key: Secret | None = field(default=None, repr=False)
    # The webhook receiver of transports webhook and messaging (started on first use).
    hub: WebhookHub | None = None
    # What happened outside any conversation (webhook deliveries no conversation could take), for the end.
    warnings: list[str] = field(default_factory=list)

    def secrets(self) -> list[Secret]:
        """Values that must never appear in any output: the keys, and the webhook verify keys."""
        keys = [self.options.api_key, self._emulator_key, secret_or_none(self.options.webhook_verify_key)]
        if self.hub is not None:
            keys.append(secret_or_none(self.hub.verify_key))
        return [k for k in keys if k]

    @property
    def embedded(self) -> bool:
        """True when the specs talk to the emulator this session starts (no `flowai_url`)."""
        return not self.options.url

    def thread_id(self, key: str) -> str:
        """A thread id unique to this run and conversation: a stable part from ``key``, then the run tag.

        The embedded emulator seeds its replies by the stable part only, so every run gets the same replies.
        """
        stable = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return f"pytest-flowai-{stable}{RUN_TAG}{self._run_id}.{self.options.worker}.{next(self._counter)}"

    # -- configuration --

    def check(self) -> None:
        """Check what the whole run depends on, once, before any test: raises ``ConfigurationError``."""
        if self.options.url or self._bot is not None:
            return
        flows = self.options.emulator_flows
        if flows is None:
            raise ConfigurationError(
                "neither flowai_url nor flowai_emulator_flows is set, so there is no bot to talk to",
                hint="set flowai_url (and flowai_client_id, FLOWAI_API_KEY) for a Flow.ai bot, or"
                " flowai_emulator_flows (ini option or --flowai-emulator-flows) for the embedded emulator",
            )
        # Imported here, the one place the plugin touches the emulator (it pulls in starlette and uvicorn).
        from pytest_flowai.emulator.flows import load_bot

        try:
            self._bot = load_bot(flows)
        except EmulatorError as exc:
            raise ConfigurationError(f"flowai_emulator_flows: {exc}") from None

    def bot_shape(self, flows: Path | None, management: tuple[str, Secret] | None = None) -> BotShape | None:
        """The flows specs are checked against at collection, loaded once per session.

        ``flows`` are flow files given for a real bot (flowai_coverage_flows); the embedded emulator's own
        flows serve otherwise. Without flow files a real bot's flows come from ``management`` (the
        Management API's URL and key) when given. None when the bot is unknown or its files cannot be read
        (the configuration check reports that, once), or the Management API cannot be read (a warning).
        """
        if not self._shape_loaded:
            self._shape_loaded = True
            path = self.options.emulator_flows if not self.options.url else flows
            if path is None and self.options.url and management is not None:
                self._shape = self._shape_from_management(*management)
            elif path is not None:
                from pytest_flowai.botcheck import shape_of
                from pytest_flowai.schemas import flowfiles

                try:
                    checked = flowfiles.check_path(path)
                except flowfiles.BotPathError:
                    return None
                if not checked.problems:
                    self._shape = shape_of(list(checked.flows))
        return self._shape

    def _shape_from_management(self, url: str, key: Secret) -> BotShape | None:
        from pytest_flowai.botcheck import shape_of
        from pytest_flowai.transports.management import fetch_flows

        try:
            return shape_of(fetch_flows(url, key, timeout=self.options.timeout))
        except TransportError as exc:
            self.warnings.append(
                f"the specs were not checked against the bot: its flows could not be read ({exc})"
            )
            return None

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
                max_reply_bytes=opts.max_reply_bytes,
            )
        else:
            config = self._start_emulator()
        from pytest_flowai.transports.hub import WebhookHub, WebhookSettings

        self.hub = WebhookHub(
            config,
            WebhookSettings(url=opts.webhook_url, bind=opts.webhook_bind, verify_key=opts.webhook_verify_key),
            embedded=not opts.url,
        )
        return RunSettings(
            config=config,
            transport=opts.transport,
            timeout=opts.timeout,
            settle=opts.settle,
            silence=opts.silence,
            patience=opts.patience,
            env=SecretEnv(os.environ),
            hub=self.hub,
        )

    def _start_emulator(self) -> TransportConfig:
        self.check()
        from pytest_flowai.emulator import EmulatorThread

        api_key = self.options.api_key or Secret(secrets.token_urlsafe(16))
        self._emulator_key = api_key
        register(api_key)
        client_id = self.options.client_id or EMULATOR_CLIENT_ID
        # The emulator is the server: it alone holds the key as a plain string.
        emulator = EmulatorThread(
            flows=self._bot,
            api_key=api_key.reveal(),
            client_id=client_id,
            seed=self.options.emulator_seed,
            webhook_backoff=EMULATOR_WEBHOOK_BACKOFF,
        )
        emulator.start()
        self.emulator = emulator
        return TransportConfig(
            url=emulator.url,
            client_id=client_id,
            api_key=api_key,
            session_id=self._run_id,
            max_reply_bytes=self.options.max_reply_bytes,
        )

    # -- running conversations --

    def result(self, job: Job, ahead: Sequence[Job] = ()) -> Outcome:
        """Run ``job`` to its end and return how it went; the jobs in ``ahead`` may run meanwhile.

        The only sync-to-async bridge for spec items; ``ahead`` is what pytest will run next, in order.
        """
        self._jobs[job.key] = job
        for later in ahead:
            self._jobs[later.key] = later
        scheduler = self._scheduler or Scheduler(self.runner, self._run_job, limit=self.options.concurrency)
        self._scheduler = scheduler
        try:
            return scheduler.result(job.key, [later.key for later in ahead])
        finally:
            self._jobs.pop(job.key, None)

    def stop_scheduling(self) -> None:
        """Start no further conversation and cancel those in flight (pytest stops: -x, --maxfail)."""
        if self._scheduler is not None:
            self._scheduler.stop()

    async def _run_job(self, key: str) -> Outcome:
        job = self._jobs[key]
        transcript = Transcript(
            name=job.conversation.name, thread_id=self.thread_id(key), transport=job.transport
        )
        error: FlowaiError | None = None
        try:
            if self._fatal is not None:
                raise _again(self._fatal)
            http = await self._take_http()
            reusable = False
            try:
                await run(
                    job.conversation,
                    self.settings(),
                    thread_id=transcript.thread_id,
                    transcript=transcript,
                    http=http,
                )
                reusable = True
            except FlowaiError as exc:
                reusable = not isinstance(exc, TransportError)
                raise
            finally:
                await self._release_http(http, reusable=reusable)
        except TransportError as exc:
            if exc.affects_all and not self.embedded and self._fatal is None:
                self._fatal = exc
            error = exc
        except FlowaiError as exc:
            error = exc
        return Outcome(transcript=transcript, error=error, duration=time.monotonic() - transcript.started)

    def http_client(self) -> HttpClient:
        """A new HTTP client for one conversation (REST, socket.info, controls); the caller closes it.

        One client per conversation, all sharing the session's one TLS context (building one costs ~25 ms):
        at 100 concurrent conversations over sync REST one shared client spent 0.85 ms of CPU per request
        through `request` (its connection pool is a list searched and re-sorted under a lock on every
        request), one client per conversation 0.53 ms (benchmarks/http_pool.py measures the same through
        httpx's client: 2.2 against 1.1 ms). At concurrency 1 the one kept client serves every conversation.
        """
        if self._tls is None:
            self._tls = tls_context_for(self.settings().config.url)
        return new_http_client(verify=self._tls)

    async def _take_http(self) -> HttpClient:
        """A kept client whose connection answered within `REUSE_WITHIN` (the freshest), else a new one."""
        while self._idle_http:
            http = self._idle_http.pop()
            if time.monotonic() - http.answered < REUSE_WITHIN:
                return http
            await http.aclose()
        return self.http_client()

    async def _release_http(self, http: HttpClient, *, reusable: bool) -> None:
        """Keep a conversation's client for the next one (its cookies forgotten), or close it."""
        fresh = time.monotonic() - http.answered < REUSE_WITHIN
        if reusable and fresh and len(self._idle_http) < self.options.concurrency:
            http.cookies.clear()
            self._idle_http.append(http)
        else:
            await http.aclose()

    def close(self) -> None:
        """Cancel conversations still in flight, close the loop, stop the emulator.

        Safe to call twice.
        """
        emulator, self.emulator = self.emulator, None
        key, self._emulator_key = self._emulator_key, None
        forget(key)
        scheduler, self._scheduler = self._scheduler, None
        hub, self.hub = self.hub, None
        try:
            if scheduler is not None:
                scheduler.close()
            if hub is not None:
                self._close_hub(hub)
            self._close_idle_http()
            self.runner.close()
        finally:
            if emulator is not None:
                emulator.stop()

    def _close_idle_http(self) -> None:
        idle, self._idle_http = self._idle_http, []
        if idle:
            with contextlib.suppress(RuntimeError):  # the loop is gone (Ctrl-C): nothing left to close on
                run_sync(self.runner, _close_all, idle)

    def _close_hub(self, hub: WebhookHub) -> None:
        """Remove the webhook this run registered (before the emulator stops), stop the receiver."""
        try:
            # Only when there is something to remove: the loop is left alone by runs without webhooks.
            if hub.registered:
                self.warnings.extend(run_sync(self.runner, hub.unregister))
        except (RuntimeError, TransportError) as exc:  # the loop is gone (Ctrl-C): say so, do not hide it
            self.warnings.append(f"the webhook this run registered may still be registered: {exc}")
        finally:
            hub.stop()
            self.warnings.extend(hub.warnings())


async def _close_all(clients: Sequence[httpx.AsyncClient]) -> None:
    await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)


def _again(first: TransportError) -> TransportError:
    """The cause that failed an earlier conversation, said again for this one without waiting for it."""
    return TransportError(
        f"{first.message} (as for an earlier conversation; not tried again)",
        credential=first.credential,
        affects_all=True,
    )
