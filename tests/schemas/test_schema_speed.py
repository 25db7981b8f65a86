"""Validation is sped up (cross-file refs inlined, valid bubbles remembered) without changing any verdict."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.schemas.validate import _load_all, _registry
from tests.helpers.dig import dig

EXAMPLES = Path(__file__).parent / "examples"


def plain_error_paths(obj: JSON, name: str) -> set[str]:
    """Instance paths of the errors an unmodified validator over the file registry finds."""
    validator = Draft202012Validator(_load_all()[name], registry=_registry())
    return {"/".join(str(p) for p in e.absolute_path) for e in validator.iter_errors(obj)}


def reply(text: str = "Hi", title: str | None = "Menu") -> JSONObject:
    """A sync REST answer with a text bubble and an image bubble."""
    image: JSONObject = {"url": "https://example.org/p.png"}
    if title is not None:
        image["title"] = title
    return {
        "status": "ok",
        "result": {
            "threadId": "t1",
            "messages": [
                {
                    "fallback": text,
                    "responses": [
                        {"type": "text", "payload": {"text": text}},
                        {"type": "image", "payload": image},
                    ],
                }
            ],
        },
    }


def inferred_examples() -> list[tuple[str, str]]:
    """(file, schema) for each documented example whose schema can be inferred from its content."""
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        name = schemas.infer_name(json.loads(path.read_text(encoding="utf-8")))
        if name is not None:
            found.append((path.name, name))
    return found


@pytest.mark.parametrize(("example", "name"), inferred_examples())
def test_every_documented_example_gets_the_same_verdict_as_a_plain_validator(example: str, name: str) -> None:
    """For each documented payload and the schema inferred for it, valid and invalid agree."""
    obj = json.loads((EXAMPLES / example).read_text(encoding="utf-8"))
    assert (schemas.violations(obj, name) == []) == (plain_error_paths(obj, name) == set())


def test_a_remembered_valid_bubble_does_not_hide_a_broken_one() -> None:
    """After a valid reply, the same reply with an image missing its title still fails at that path."""
    assert schemas.violations(reply(), "rest.sync-result") == []
    assert schemas.violations(reply(), "rest.sync-result") == []
    broken = schemas.violations(reply(title=None), "rest.sync-result")
    assert [str(v) for v in broken] == ["result.messages[0].responses[1].payload.title: required"]


def test_the_same_broken_reply_fails_every_time() -> None:
    """Only valid bubbles are remembered: a broken one is reported again on each check."""
    first = schemas.violations(reply(title=None), "rest.sync-result")
    second = schemas.violations(copy.deepcopy(reply(title=None)), "rest.sync-result")
    assert first == second != []


def test_bubbles_with_yaml_only_keys_are_still_checked() -> None:
    """A bubble whose keys JSON cannot sort (YAML allows 1 and 'a' side by side) is validated, not skipped."""
    odd: JSONObject = reply()
    dig(odd, "result", "messages", 0, "responses", 1)["payload"] = {1: "x", "url": "u"}
    paths = [v.path for v in schemas.violations(odd, "rest.sync-result")]
    assert "result.messages[0].responses[1].payload.title" in paths
