"""The shipped schema files: well-formed draft 2020-12, named by their file, every reference resolvable."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from pytest_flowai import schemas
from pytest_flowai._json import JSON

REPO = Path(__file__).resolve().parents[2]

# The names docs/ARCHITECTURE.md promises to the other modules.
CONTRACT_NAMES = [
    "message.send",
    "message.delivered",
    "message.received",
    "error",
    "ping",
    "pong",
    "agent.typing",
    "thread.noticed",
    "activity.user.typing",
    "secret.generated",
    "interruption.occurred",
    "server-frame",
    "socket.info",
    "message",
    "response",
    "reply-payload",
    "rest.request",
    "rest.ok",
    "rest.sync-result",
    "rest.history",
    "rest.threads",
    "rest.trigger-events",
    "rest.business-hours",
    "rest.pause-status",
    "rest.error",
    "messaging.message",
    "messaging.webhook",
    "webhook",
]


@pytest.mark.parametrize("name", schemas.names())
def test_every_schema_is_valid_draft_2020_12(name: str) -> None:
    """Each shipped schema passes the draft 2020-12 metaschema."""
    Draft202012Validator.check_schema(schemas.raw(name))


@pytest.mark.parametrize("name", schemas.names())
def test_every_schema_id_matches_its_file_name(name: str) -> None:
    """A schema's $id is the base URI plus its file name, so relative references find it."""
    assert schemas.raw(name)["$id"] == f"{schemas.BASE_URI}{name}.json"


@pytest.mark.parametrize("name", schemas.names())
def test_every_schema_has_a_title_and_description(name: str) -> None:
    """Each schema explains itself with a title and a description (flowai-validate --list shows titles)."""
    schema = schemas.raw(name)
    assert schema.get("title")
    assert schema.get("description")


def test_every_contract_name_is_provided() -> None:
    """Every schema name the architecture promises exists, and names() lists them sorted."""
    available = schemas.names()
    assert [n for n in CONTRACT_NAMES if n not in available] == []
    assert available == sorted(available)


def _refs(node: JSON) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_resolves() -> None:
    """Every $ref in every schema points at a schema and a definition that exist."""
    documents = {name: schemas.raw(name) for name in schemas.names()}
    registry = Registry().with_resources(
        (f"{schemas.BASE_URI}{name}.json", Resource.from_contents(doc, default_specification=DRAFT202012))
        for name, doc in documents.items()
    )
    broken = []
    for name, doc in documents.items():
        resolver = registry.resolver(base_uri=f"{schemas.BASE_URI}{name}.json")
        for ref in _refs(doc):
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                broken.append(f"{name}: {ref}: {exc!r}")
    assert broken == []


def test_raw_returns_a_copy() -> None:
    """Changing what raw() returned does not change the schema others validate with."""
    copy = schemas.raw("rest.ok")
    copy["properties"] = {}
    assert schemas.raw("rest.ok")["properties"] == {"status": {"const": "ok"}}


def test_names_accept_a_json_suffix() -> None:
    """A schema may be named with its .json suffix, as its file is."""
    assert schemas.raw("pong.json") == schemas.raw("pong")
    assert schemas.violations({"type": "pong"}, "pong.json") == []


def test_unknown_name_raises_key_error_with_suggestion() -> None:
    """A misspelled schema name raises a KeyError that suggests the right name."""
    with pytest.raises(KeyError) as excinfo:
        schemas.violations({}, "mesage.send")
    assert str(excinfo.value).startswith("unknown schema 'mesage.send'; did you mean 'message.send' or ")


def test_unknown_name_without_close_match_lists_the_names() -> None:
    """A name close to nothing gets the list of known names instead of a guess."""
    with pytest.raises(KeyError, match=r"unknown schema 'zzz'; known schemas: activity\.user\.typing, "):
        schemas.validate({}, "zzz")


def test_package_imports_no_test_or_network_library() -> None:
    """Importing pytest_flowai.schemas loads neither pytest, httpx, websockets nor the emulator."""
    code = (
        "import sys, pytest_flowai.schemas, pytest_flowai.schemas.cli\n"
        "bad = [m for m in ('pytest', 'httpx', 'websockets', 'pytest_flowai.emulator') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == ""
