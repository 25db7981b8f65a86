"""``flowai-emulator``: run the emulator from the command line until SIGINT or SIGTERM.
Prints the URL it actually bound (so ``--port 0`` works); never prints an API key the user chose."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from pytest_flowai.emulator.flows import Bot, load_bot
from pytest_flowai.emulator.server import Emulator
from pytest_flowai.emulator.settings import EmulatorSettings, Fault, parse_fault
from pytest_flowai.errors import EmulatorError

PROG = "flowai-emulator"
KEY_ENV = "FLOWAI_API_KEY"
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


EPILOG = """\
routes (every one but socket.info and /ws wants 'Authorization: KEY' or 'Bearer KEY'):
  socket API     GET /socket.info?clientId=&sessionId=  (or x-flowai-* headers), then WS /ws/<token>
                 (single use, 60 s; frames up to 1 MiB; closed after 50 s without a frame)
  REST v1        /rest/v1/messages/<threadId> (POST send, GET history), threads, takeover/<id>,
                 handover/<id>, trigger/event[/<id>?eventName=], businesshours,
                 pause/<id> (POST pause, DELETE resume, GET status);
                 ?sync=true answers inline, otherwise the answer goes to the webhooks
  Messaging v1   POST /v1/messaging/message (JSON only, no multipart upload), /v1/messaging/webhooks[/<id>]
  management     GET /flows/list, GET /flows/info?flowId=
  emulator admin POST /emulator/v1/reset (forget threads, history, pauses, webhooks, deliveries),
                 GET /emulator/v1/deliveries (webhook calls still retried, and those that gave up)
webhooks: only URLs on host 127.0.0.1, ::1 or localhost are accepted; registering one GETs it
  first and wants a 2xx, as Flow.ai does. Each call POSTs {type, verifyKey, payload}; a non-2xx answer or a
  connection error is retried with exponential backoff, calls for one thread keep their order.
faults (--fault): invalid-reply (replies break their template schema), garbage (non-JSON reply),
  drop (the socket is cut after its first reply), hang (no reply; sync REST is held),
  error (an error frame / a 503 instead of the reply), wrong-once (the first reply to each conversation
  has its texts replaced; a thread id with the same part before its last `~` then gets the right one).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A local, protocol-faithful Flow.ai emulator serving a bot defined as Flow objects.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--flows", required=True, help="a flow file (.json/.yaml/.yml) or a folder of them")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one")
    parser.add_argument("--client-id", default="flowai-emulator", help="the clientId socket.info accepts")
    parser.add_argument(
        "--api-key", help=f"the REST API key (default: ${KEY_ENV}, else a random key printed at start)"
    )
    parser.add_argument("--db", default=":memory:", help="SQLite file for threads and history")
    parser.add_argument("--latency", type=float, default=0, metavar="MS", help="wait before every reply")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reply variant picker")
    parser.add_argument("--fault", choices=[str(f) for f in Fault], help="fail on purpose in this way")
    return parser


def _key_notice(settings: EmulatorSettings, source: str) -> str:
    if source == "generated":
        # A key we made up is no user's secret; printing it once is the only way to find it.
        return f"api key: {settings.api_key} (generated; choose one with --api-key or ${KEY_ENV})"
    return f"api key: from {source}"


async def _serve(settings: EmulatorSettings, bot: Bot, key_source: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    emulator = Emulator(settings)
    try:
        await emulator.start()
    except EmulatorError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        flows = len(bot.flows)
        print(
            f"Flow.ai emulator listening on {emulator.url} "
            f"(client id {settings.client_id}, {flows} flow{'s' * (flows != 1)})",
            flush=True,
        )
        print(_key_notice(emulator.settings, key_source), flush=True)
        await stop.wait()
    finally:
        await emulator.stop()
    print("Flow.ai emulator stopped", flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``flowai-emulator``; returns the exit status (2: bad flows or options, 1: cannot serve)."""
    args = _parser().parse_args(argv)
    key: str | None = args.api_key or None
    source = "--api-key"
    if key is None and os.environ.get(KEY_ENV):
        key, source = os.environ[KEY_ENV], KEY_ENV
    if key is None:
        source = "generated"
    try:
        bot = load_bot(args.flows)
        settings = EmulatorSettings(
            flows=bot,
            host=args.host,
            port=args.port,
            client_id=args.client_id,
            api_key=key,
            db=args.db,
            latency_ms=args.latency,
            seed=args.seed,
            fault=parse_fault(args.fault),
        )
    except EmulatorError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s %(name)s: %(message)s")
    return asyncio.run(_serve(settings.resolved(), bot, source))


if __name__ == "__main__":
    sys.exit(main())
