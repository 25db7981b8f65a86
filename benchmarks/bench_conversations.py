"""How much does pytest-flowai's runner cost over a bare protocol client? Prints ratios, not verdicts.

Both sides run the same conversations against the same emulator in the same process and run, so the ratio
says what spec interpolation, schema validation, matching and the transcript cost, whatever the machine.
The baseline is a hand-written client that knows how many replies to wait for; the runner cannot know, so
over the socket it also waits `settle` after the last match (set low here and printed, since the default
0.25 s would dominate: that wait is a choice of the spec, not a cost of the code).

    python benchmarks/bench_conversations.py [--conversations N] [--settle S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import httpx
import websockets

from pytest_flowai.conversation import RunSettings, Transcript, run
from pytest_flowai.emulator import EmulatorThread
from pytest_flowai.spec import load_spec_text
from pytest_flowai.spec.model import Conversation
from pytest_flowai.transports.base import TransportConfig
from pytest_flowai.transports.http import new_http_client

ROOT = Path(__file__).resolve().parent.parent
UTTERANCES = ["hello", "I want to order a pizza", "large"]
SPEC = """
name: order
steps:
  - say: hello
    expect:
      - text: {contains: "Pizza Bella"}
        quickReplies: {subset: ["Order pizza"]}
  - say: I want to order a pizza
    expect:
      - text: {regex: "Which (?P<what>\\\\w+) would you like"}
        step: Order pizza
  - say: large
    extra: ignore
    expect:
      - text: {contains: "large pizza"}
"""


async def baseline_socket(url: str, client_id: str, conversations: int) -> float:
    """Bare client: socket.info, connect, send each utterance, wait for delivered + one reply."""
    started = time.perf_counter()
    async with httpx.AsyncClient() as http:
        for n in range(conversations):
            info = await http.get(f"{url}/socket.info", params={"clientId": client_id, "sessionId": f"b{n}"})
            endpoint = info.json()["payload"]["endpoint"]
            async with websockets.connect(endpoint, compression=None) as ws:
                for trace, speech in enumerate(UTTERANCES, 1):
                    frame = {"threadId": f"base-{n}", "traceId": trace, "speech": speech}
                    await ws.send(json.dumps({"type": "message.send", "payload": frame}))
                    while json.loads(await ws.recv())["type"] != "message.received":
                        pass
    return time.perf_counter() - started


async def baseline_rest(url: str, api_key: str, conversations: int) -> float:
    """Bare client: one sync POST per utterance."""
    started = time.perf_counter()
    async with httpx.AsyncClient(headers={"Authorization": api_key}) as http:
        for n in range(conversations):
            for speech in UTTERANCES:
                body = {"payload": {"type": "text", "speech": speech}}
                answer = await http.post(f"{url}/rest/v1/messages/base-rest-{n}?sync=true", json=body)
                answer.raise_for_status()
    return time.perf_counter() - started


async def runner(settings: RunSettings, conversation: Conversation, conversations: int, tag: str) -> float:
    """pytest-flowai's conversation runner on the same conversation."""
    started = time.perf_counter()
    async with new_http_client() as http:
        for n in range(conversations):
            transcript = Transcript(
                name=conversation.name, thread_id=f"{tag}-{n}", transport=settings.transport
            )
            await run(
                conversation, settings, thread_id=transcript.thread_id, transcript=transcript, http=http
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--settle", type=float, default=0.02)
    args = parser.parse_args()
    conversation = load_spec_text(SPEC, "bench.flowai.yaml").conversations[0]
    with EmulatorThread(flows=ROOT / "example_specs" / "bot") as emu:
        config = TransportConfig(
            url=emu.url, client_id=emu.client_id, api_key=emu.api_key, session_id="bench"
        )
        print(
            f"{args.conversations} conversations x {len(UTTERANCES)} turns each; runner settle {args.settle}s"
        )
        for kind in ("socket", "rest"):
            settings = RunSettings(config=config, transport=kind, settle=args.settle)
            if kind == "socket":
                base = asyncio.run(baseline_socket(emu.url, emu.client_id, args.conversations))
            else:
                base = asyncio.run(baseline_rest(emu.url, emu.api_key, args.conversations))
            ours = asyncio.run(runner(settings, conversation, args.conversations, f"bench-{kind}"))
            settle_cost = args.settle * len(UTTERANCES) * args.conversations if kind == "socket" else 0.0
            print(
                f"{kind:6}: baseline {base:6.2f}s, runner {ours:6.2f}s, ratio {ours / base:5.2f}"
                f" (without the settle waits of {settle_cost:.2f}s: {(ours - settle_cost) / base:5.2f})"
            )


if __name__ == "__main__":
    main()
