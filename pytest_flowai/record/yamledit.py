"""Write recorded expectations into a spec file in place, keeping everything else byte for byte.

ruamel.yaml (the `record` extra) finds each turn and renders the new `expect` block; the file is edited as
lines, so comments, quoting, key order and the other documents stay exactly as they were.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import ConfigurationError
from pytest_flowai.record.entries import RecordedTurn

INSTALL_HINT = "install the record extra: pip install 'pytest-flowai[record]'"
# Mappings and lists that read best on one line inside an entry.
_FLOW_KEYS = frozenset({"quickReplies", "buttons", "card"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnEdit:
    """New expectations for the turn that starts at ``line`` (1-based) of the file: a turn is found by its
    place, since one an ``include`` spliced in has no index in the conversation that ran it."""

    line: int
    recorded: RecordedTurn
    replace: bool = False  # rewrite an existing `expect` (a failing turn under --flowai-record-update)


@dataclass(slots=True)
class EditResult:
    """What writing one file did: turns written, placeholders put in, and why some turns were skipped."""

    written: int = 0
    placeholders: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.placeholders)


def check_available() -> None:
    """Raises ConfigurationError when ruamel.yaml is not installed."""
    try:
        import ruamel.yaml  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "record mode needs ruamel.yaml, which is not installed", hint=INSTALL_HINT
        ) from None


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long reply text over lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def write_records(path: Path, edits: Sequence[TurnEdit]) -> EditResult:
    """Put ``edits`` into the spec file at ``path``; the file is written only when something changed."""
    text = path.read_text(encoding="utf-8")
    result = EditResult()
    documents = list(_yaml().load_all(text))
    lines = text.splitlines(keepends=True)
    blocks: list[tuple[int, int, list[str]]] = []  # (first line, end line exclusive, new lines), 0-based
    inline: list[tuple[int, int, int, str]] = []  # (line, column, old length, new text)
    for edit in sorted(edits, key=lambda e: e.line):
        where = f"{path.name}:{edit.line}"
        found = _find_turn(documents, edit.line)
        if found is None:
            result.notes.append(f"{where}: no turn starts there (the file changed); not recorded")
            continue
        document, number, turn = found
        if turn.fa.flow_style():
            result.notes.append(f"{where}: written in flow style ({{...}}); not recorded")
            continue
        if "expect" in turn and not edit.replace:
            continue  # recorded by an earlier run: a second record run changes nothing
        block = _render(edit.recorded.entries, indent=turn.lc.col)
        if "expect" in turn:
            first, end = _key_region(lines, turn, "expect")
        else:
            first = end = _last_content_line(lines, turn) + 1
        blocks.append((first, end, block))
        result.written += 1
        for name, value in edit.recorded.captured:
            inline.extend(_placeholders(lines, document, number, name, value, result))
    for line, column, length, new in sorted(inline, reverse=True):
        lines[line] = lines[line][:column] + new + lines[line][column + length :]
    for first, end, block in sorted(blocks, reverse=True):
        lines[first:end] = block
    if not result.changed:
        return result
    new_text = "".join(lines)
    list(_yaml().load_all(new_text))  # still YAML: a bug here must not leave a broken spec behind
    _replace_file(path, new_text)
    return result


def _find_turn(documents: Sequence[Any], line: int) -> tuple[Any, int, Any] | None:
    """The document, the 1-based number in its ``steps`` and the mapping of the turn at ``line``."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    for document in documents:
        steps = document.get("steps") if isinstance(document, CommentedMap) else None
        if not isinstance(steps, CommentedSeq):
            continue
        for number, turn in enumerate(steps, start=1):
            if isinstance(turn, CommentedMap) and turn.lc.line + 1 == line:
                return document, number, turn
    return None


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _last_content_line(lines: Sequence[str], turn: Any) -> int:
    """The 0-based line of the turn's last character: its item ends where a line is indented to its dash."""
    start: int = turn.lc.line
    dash = lines[start].rfind("-", 0, turn.lc.col)
    last = start
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if not _is_content(line):
            continue
        if _indent(line) <= max(dash, 0) or line.startswith(("---", "...")):
            break
        last = number
    return last


def _key_region(lines: Sequence[str], turn: Any, key: str) -> tuple[int, int]:
    """Lines [first, end) of ``key`` and its value in the turn (comments after its value stay)."""
    keys = list(turn)
    first = turn.lc.key(key)[0]
    following = [turn.lc.key(k)[0] for k in keys[keys.index(key) + 1 :]]
    limit = min(following) if following else _last_content_line(lines, turn) + 1
    end = first + 1
    for number in range(first + 1, limit):
        if _is_content(lines[number]):
            end = number + 1
    return first, end


def _render(entries: Sequence[JSONObject], *, indent: int) -> list[str]:
    """The `expect:` key and its entries as YAML lines, indented to sit in a turn at column ``indent``."""
    out = io.StringIO()
    _yaml().dump({"expect": _node(list(entries))}, out)
    pad = " " * indent
    return [pad + line if line.strip() else line for line in out.getvalue().splitlines(keepends=True)]


def _node(value: JSON, *, flow: bool = False) -> Any:
    """Plain data as ruamel nodes: short mappings (a regex, a card) and label lists on one line."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[key] = _node(item, flow=flow or key in _FLOW_KEYS)
        if flow or set(value) == {"regex"}:
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq(_node(item, flow=flow) for item in value)
        if flow:
            seq.fa.set_flow_style()
        return seq
    return value


# -- a later turn that sends a captured value sends the placeholder instead --


def _whole(value: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])" + re.escape(value) + r"(?![\w])")


def substitute(text: str, name: str, value: str) -> str:
    """``text`` with each whole-word ``value`` replaced by ``{name}``."""
    return _whole(value).sub("{" + name + "}", text)


def _placeholders(
    lines: Sequence[str], document: Any, after: int, name: str, value: str, result: EditResult
) -> Iterable[tuple[int, int, int, str]]:
    """In-line edits of the later turns' `say` and `params` values that send ``value``."""
    if len(value) < 3:
        return  # too short to tell a sent id from an ordinary number
    steps = document.get("steps")
    for turn in list(steps)[after:]:
        if not hasattr(turn, "lc") or getattr(turn.fa, "flow_style", lambda: False)():
            continue
        targets: list[tuple[Any, str]] = []
        if isinstance(turn.get("say"), str):
            targets.append((turn, "say"))
        params = turn.get("params")
        if hasattr(params, "lc"):
            targets.extend((params, key) for key, item in params.items() if isinstance(item, str))
        for mapping, key in targets:
            old = str(mapping[key])
            if not _whole(value).search(old):
                continue
            line, column = mapping.lc.value(key)
            length = _scalar_length(lines[line], column, flow=bool(mapping.fa.flow_style()))
            if length is None or _load_scalar(lines[line][column : column + length]) != old:
                result.notes.append(f"turn value {old!r} spans lines; left as written (use {{{name}}} there)")
                continue
            result.placeholders += 1
            yield line, column, length, json.dumps(substitute(old, name, value), ensure_ascii=False)


def _scalar_length(line: str, column: int, *, flow: bool) -> int | None:
    body = line[column:].rstrip("\r\n")
    if body[:1] == '"':
        match = re.match(r'"(?:[^"\\]|\\.)*"', body)
        return match.end() if match else None
    if body[:1] == "'":
        match = re.match(r"'(?:[^']|'')*'", body)
        return match.end() if match else None
    end = len(body)
    comment = body.find(" #")
    if comment >= 0:
        end = comment
    if flow:
        stops = [i for i in (body.find(","), body.find("}"), body.find("]")) if i >= 0]
        end = min([end, *stops])
    return len(body[:end].rstrip())


def _load_scalar(token: str) -> object:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe").load(token)
    except YAMLError:
        return None


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a crash never leaves half a spec."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- a new spec (flowai-record) --


def new_spec(
    name: str, transport: str | None, turns: Sequence[JSONObject], recorded: Sequence[RecordedTurn]
) -> str:
    """A whole spec document: ``turns`` (``{"say": ...}`` / ``{"event": ..., "params": ...}``) with their
    recorded expectations; a value a later turn sends again becomes its placeholder."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    steps: list[dict[str, JSON]] = [dict(turn) for turn in turns]
    for index, record in enumerate(recorded):
        for group, value in record.captured:
            if len(value) < 3:
                continue
            for later in steps[index + 1 :]:
                if isinstance(later.get("say"), str):
                    later["say"] = substitute(str(later["say"]), group, value)
                params = later.get("params")
                if isinstance(params, dict):
                    later["params"] = {
                        k: substitute(v, group, value) if isinstance(v, str) else v for k, v in params.items()
                    }
    root = CommentedMap()
    root["name"] = name
    if transport:
        root["transport"] = transport
    seq = CommentedSeq()
    for turn, record in zip(steps, recorded, strict=True):
        item = CommentedMap()
        for key, written in turn.items():
            item[key] = _node(written, flow=key == "params")
        item["expect"] = _node(list(record.entries)) if record.entries else "none"
        seq.append(item)
    root["steps"] = seq
    out = io.StringIO()
    _yaml().dump(root, out)
    return out.getvalue()


__all__ = ["EditResult", "TurnEdit", "check_available", "new_spec", "substitute", "write_records"]
