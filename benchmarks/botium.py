"""Botium's row of the `table` benchmark: the conversations as Botium convo files and a botium.json for its
SIMPLEREST connector aimed at the emulator's sync REST endpoint, run by `botium-cli run`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from common import Bot, checked, run_child

# The botium-cli executable of a throwaway npm install (Botium is no dependency of the project).
BOTIUM_CLI = Path(os.environ.get("BENCH_BOTIUM_CLI", "/nonexistent"))


def capabilities(bot: Bot) -> dict[str, object]:
    """SIMPLEREST posting each `#me` as the bare loop's body; every bot text reply becomes a `#bot` message.
    Botium starts each conversation with a fresh uuid, which names its thread."""
    body = {"payload": {"type": "text", "speech": "{{msg.messageText}}", "originator": {"name": "bench"}}}
    return {
        "PROJECTNAME": "pytest-flowai bench",
        "CONTAINERMODE": "simplerest",
        "SIMPLEREST_URL": f"{bot.url}/rest/v1/messages/{{{{botium.conversationId}}}}?sync=true",
        "SIMPLEREST_METHOD": "POST",
        "SIMPLEREST_HEADERS_TEMPLATE": {"Authorization": bot.api_key},
        "SIMPLEREST_BODY_TEMPLATE": body,
        "SIMPLEREST_RESPONSE_JSONPATH": "$.result.messages[*].responses[?(@.type=='text')].payload.text",
        # Case-sensitive substring, as the specs' `text: {contains: ...}` (Botium's default is a
        # case-insensitive wildcard match).
        "SCRIPTING_MATCHING_MODE": "include",
    }


def write_botium(folder: Path, bot: Bot, conversations: int, turns: Sequence[tuple[str, str]]) -> Path:
    """One convo file per conversation (`#me` the speech, `#bot` the text it must contain) and botium.json."""
    (folder / "convos").mkdir(parents=True)
    steps = "".join(f"\n#me\n{speech}\n\n#bot\n{expected}\n" for speech, expected in turns)
    for n in range(conversations):
        (folder / "convos" / f"c{n}.convo.txt").write_text(f"c{n}\n{steps}")
    config = {"botium": {"Capabilities": capabilities(bot)}}
    (folder / "botium.json").write_text(json.dumps(config, indent=2))
    return folder


def run_botium(folder: Path) -> float:
    """Wall seconds of the whole `botium-cli run` process (Mocha's dot reporter, the quietest); exits when a
    conversation failed. BOTIUM_ANALYTICS=false keeps it on loopback: botium-cli otherwise posts usage
    metrics to its vendor on every run."""
    args = [str(BOTIUM_CLI), "run", "dot", "--config", "botium.json", "--convos", "convos"]
    env = dict(os.environ, BOTIUM_ANALYTICS="false")
    return checked(run_child(args, env=env, cwd=folder), "botium-cli run").wall
