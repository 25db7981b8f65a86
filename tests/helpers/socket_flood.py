"""A load generator run as its own process by the starvation test: N WebSocket connections to an emulator,
each sending message.send frames at RATE a second (within the frame-rate limit) until killed.
Prints "ready" once every connection is open. Usage: python socket_flood.py URL N RATE CLIENT_ID"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx
from websockets.asyncio.client import ClientConnection, connect


async def _endpoint(url: str, client_id: str, session: str) -> str:
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as http:
        answer = await http.get("/socket.info", params={"clientId": client_id, "sessionId": session})
        return str(answer.json()["payload"]["endpoint"])


async def _drain(ws: ClientConnection) -> None:
    async for _frame in ws:
        pass


async def _flood(ws: ClientConnection, index: int, rate: float) -> None:
    start, sent = time.monotonic(), 0
    while True:
        sent += 1
        payload = {"threadId": f"flood-{index}", "traceId": sent, "speech": "I want a pizza"}
        await ws.send(json.dumps({"type": "message.send", "payload": payload}))
        await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))


async def main(url: str, count: int, rate: float, client_id: str) -> None:
    sockets = [
        await connect(await _endpoint(url, client_id, f"flood-{i}"), ping_interval=None) for i in range(count)
    ]
    print("ready", flush=True)
    tasks = [asyncio.ensure_future(_drain(ws)) for ws in sockets]
    tasks += [asyncio.ensure_future(_flood(ws, i, rate)) for i, ws in enumerate(sockets)]
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]))
