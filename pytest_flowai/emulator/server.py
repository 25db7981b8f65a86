"""Running the emulator: ``Emulator`` serves it with uvicorn in the current event loop, ``EmulatorThread``
in a background thread with its own loop. Both bind their socket (port 0 by default) and expose ``url``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
from collections.abc import Generator
from types import TracebackType
from typing import Any, Self

import uvicorn

from pytest_flowai.emulator.app import build_app
from pytest_flowai.emulator.protocol import with_header_timeout
from pytest_flowai.emulator.runtime import Runtime
from pytest_flowai.emulator.settings import EmulatorSettings
from pytest_flowai.emulator.store import Store
from pytest_flowai.errors import EmulatorError

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
# Requests still open this long after a stop are cancelled (the fault ``hang`` releases its own at once).
GRACEFUL_SHUTDOWN = 1
# Connections whose client reads nothing (so their last bytes never leave) are cut this long after a stop.
ABORT_AFTER = 0.3
# How long a stop waits for the WebSocket sessions to say goodbye (close 1001) before the server shuts down.
SOCKETS_GRACE = 0.35
# The socket API accepts frames up to 1 MiB and answers bigger ones (up to this) with an error frame.
WS_MAX_SIZE = 4 * 1024 * 1024


class QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers (the embedding program, pytest or our CLI, owns Ctrl-C), saying
    through ``startup_done`` when its startup ended, well or not. Tests serve their own apps with it too."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_done = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.startup_done.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn waits for every connection to flush before it ends; one whose client stopped reading
        # never does, so it is aborted after a short grace instead of holding the stop for the whole timeout.
        abort = asyncio.get_running_loop().call_later(ABORT_AFTER, self._abort_connections)
        try:
            await super().shutdown(sockets)
        finally:
            abort.cancel()

    def _abort_connections(self) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if isinstance(transport, asyncio.BaseTransport) and hasattr(transport, "abort"):
                transport.abort()


def _settings(settings: EmulatorSettings | None, overrides: dict[str, Any]) -> EmulatorSettings:
    if settings is None:
        if "flows" not in overrides:
            raise EmulatorError("the emulator needs flows: Emulator(flows='path/to/bot')")
        return EmulatorSettings(**overrides).resolved()
    return (dataclasses.replace(settings, **overrides) if overrides else settings).resolved()


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; ``EmulatorError`` saying why not (port in use, bad host)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise EmulatorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise EmulatorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


async def _serve(server: QuietServer, sock: socket.socket) -> None:
    # SystemExit is how uvicorn says the app failed to start; the reason is in app.state.startup_error.
    with contextlib.suppress(SystemExit):
        await server.serve(sockets=[sock])


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _Credentials:
    """What a client needs besides the URL, read from the settings (the API key is always resolved)."""

    settings: EmulatorSettings

    @property
    def api_key(self) -> str:
        return self.settings.api_key or ""

    @property
    def client_id(self) -> str:
        return self.settings.client_id


class Emulator(_Credentials):
    """The emulator served in the running event loop: ``async with Emulator(flows=...) as emu: emu.url``."""

    def __init__(self, settings: EmulatorSettings | None = None, /, **overrides: Any) -> None:
        self.settings = _settings(settings, overrides)
        self._server: QuietServer | None = None
        self._serving: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self._runtime: Runtime | None = None
        self._port = 0

    @property
    def port(self) -> int:
        """The port actually bound (known once started)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://host:port`` of the running emulator."""
        if not self._port:
            raise EmulatorError("the emulator is not running; start it first")
        return _url(self.settings.host, self._port)

    @property
    def internal_errors(self) -> int:
        """How many emulator bugs (500 answers, broken sockets) happened; tests assert it stays 0."""
        return self._runtime.internal_errors if self._runtime else 0

    async def start(self) -> None:
        """Load the bot, bind the socket and serve; returns once connections are accepted."""
        if self._serving is not None:
            raise EmulatorError("the emulator is already running")
        app = build_app(self.settings)  # loads the bot; EmulatorError names the file and path
        if self.settings.db != ":memory:":
            # Probe the file here: a failure inside uvicorn's lifespan would be logged with a traceback.
            Store(self.settings.db).close()
        sock = _bind(self.settings.host, self.settings.port)
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level=self.settings.log_level,
            access_log=self.settings.access_log,
            lifespan="on",
            ws="websockets-sansio",
            ws_max_size=max(WS_MAX_SIZE, self.settings.max_frame + 1024),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
            http=with_header_timeout(self.settings.header_timeout),
        )
        server = QuietServer(config)
        self._server, self._socket = server, sock
        self._serving = asyncio.ensure_future(_serve(server, sock))
        ready = asyncio.ensure_future(server.startup_done.wait())
        await asyncio.wait({ready, self._serving}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if not server.started:
            reason = getattr(app.state, "startup_error", None) or "the server did not start"
            await self._abort()
            raise EmulatorError(f"the emulator could not start: {reason}")
        runtime = getattr(app.state, "runtime", None)
        self._runtime = runtime if isinstance(runtime, Runtime) else None
        self._port = int(sock.getsockname()[1])

    async def _abort(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._serving is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._serving, STOP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._serving = self._socket = None

    async def stop(self) -> None:
        """Stop serving: held requests are released, webhook retries dropped, sockets closed."""
        if self._serving is None:
            return
        if self._runtime is not None:
            self._runtime.begin_shutdown()
            # The sessions close with 1001 themselves; the server's own goodbye would say 1012 (restart).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._runtime.sockets_closed.wait(), SOCKETS_GRACE)
        serving = self._serving
        if self._server is not None:
            self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(serving), STOP_TIMEOUT)
        finally:
            if self._socket is not None:
                self._socket.close()
            self._server = self._serving = self._socket = None
            self._port = 0

    async def reset(self) -> None:
        """Forget every thread, message, pause, webhook and delivery (as ``POST /emulator/v1/reset``)."""
        if self._runtime is None:
            raise EmulatorError("the emulator is not running; start it first")
        self._runtime.reset()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


class EmulatorThread(_Credentials):
    """The emulator in a background thread with its own loop: ``with EmulatorThread(flows=...) as emu``."""

    def __init__(self, settings: EmulatorSettings | None = None, /, **overrides: Any) -> None:
        self.settings = _settings(settings, overrides)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._emulator: Emulator | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self._running().url

    @property
    def port(self) -> int:
        return self._running().port

    @property
    def internal_errors(self) -> int:
        return self._running().internal_errors

    def _running(self) -> Emulator:
        if self._emulator is None:
            raise EmulatorError("the emulator is not running; call start() first")
        return self._emulator

    def start(self) -> Self:
        """Start the thread; returns once the server accepts connections, else raises ``EmulatorError``."""
        if self._thread is not None:
            raise EmulatorError("the emulator thread is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._main, name="flowai-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise EmulatorError(f"the emulator did not start within {START_TIMEOUT:g} s")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT)
            self._thread = None
            error = self._error
            if isinstance(error, EmulatorError):
                raise EmulatorError(str(error)) from None
            raise EmulatorError(f"the emulator could not start: {error!r}") from error
        return self

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        emulator = Emulator(self.settings)
        try:
            await emulator.start()
        except BaseException as exc:  # reported to the starting thread, which raises it there
            self._error = exc
            self._ready.set()
            return
        self._emulator = emulator
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await emulator.stop()

    def stop(self) -> None:
        """Stop the server and join the thread (idempotent)."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop finished already
                loop.call_soon_threadsafe(stop.set)
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            raise EmulatorError(f"the emulator thread did not stop within {STOP_TIMEOUT:g} s")
        self._thread = self._loop = self._stop = None
        self._emulator = None

    def reset(self) -> None:
        """Forget every thread, message, pause, webhook and delivery; waits until done."""
        emulator, loop = self._running(), self._loop
        if loop is None:  # pragma: no cover - set before the emulator is
            raise EmulatorError("the emulator is not running")
        asyncio.run_coroutine_threadsafe(emulator.reset(), loop).result(STOP_TIMEOUT)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["Emulator", "EmulatorThread", "QuietServer"]
