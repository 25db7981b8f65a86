"""One spec document as several runs: ``parametrize`` rows and ``say: {one_of_file: FILE}`` utterances.

Reads the row and utterance files (relative to the spec); a capped product is a seeded sample, so it repeats.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import yaml

from pytest_flowai._json import JSON
from pytest_flowai.errors import SpecError
from pytest_flowai.spec.build import plain_json
from pytest_flowai.spec.yamlload import PathPart, node_span

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# Ids made of values stay short: a longer one reads badly in a node id and `-k`.
_MAX_ID_CHARS = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    """One run of a document: its id (empty for a plain document), row variables, chosen utterances."""

    id: str = ""
    vars: Mapping[str, JSON] = field(default_factory=dict)
    utterances: Mapping[int, str] = field(default_factory=dict)


def expands(root: Mapping[str, object]) -> bool:
    """Whether a grammar-valid document runs more than once as written (parametrize, one_of_file)."""
    return "parametrize" in root or bool(_utterance_turns(root))


def variants(
    root: Mapping[str, object], path: str, name: str, max_expansions: int
) -> tuple[list[Variant], list[SpecError]]:
    """The runs of a grammar-valid document, and the problems found reading its rows and utterance files."""
    problems: list[SpecError] = []
    rows = _rows(root, path, problems)
    utterances = _utterances(root, path, problems)
    if problems:
        return [], problems
    choices = _sample(utterances, max_expansions, f"{os.path.basename(path)}#{name}")
    result: list[Variant] = []
    for row_id, row in rows:
        for choice in choices:
            parts = [part for part in (row_id, *(label for _, _, label in choice)) if part]
            result.append(
                Variant(
                    id="-".join(parts),
                    vars=row,
                    utterances={index: text for index, text, _ in choice},
                )
            )
    return result, []


def row_names(root: Mapping[str, object], path: str) -> frozenset[str]:
    """The variable names the rows of ``parametrize`` set (empty when they cannot be read)."""
    return frozenset(name for row in _row_values(root, path, []) for name in row)


def _rows(
    root: Mapping[str, object], path: str, problems: list[SpecError]
) -> list[tuple[str, dict[str, JSON]]]:
    spec = root.get("parametrize")
    if not isinstance(spec, Mapping):
        return [("", {})]
    location: tuple[PathPart, ...] = ("parametrize",)
    rows = _row_values(root, path, problems)
    if not rows:
        return []
    ids = spec.get("ids")
    if isinstance(ids, list):
        if len(ids) != len(rows):
            problems.append(
                SpecError(
                    f"parametrize has {len(rows)} rows but {len(ids)} ids",
                    span=node_span(path, root, (*location, "ids")),
                    hint="give one id per row, or leave ids out (the row's values name it)",
                )
            )
            return []
        names = [str(each) for each in ids]
        for number, each in enumerate(names):
            if names.index(each) != number:
                problems.append(
                    SpecError(
                        f"duplicate parametrize id {each!r}",
                        span=node_span(path, root, (*location, "ids", number)),
                        hint="ids name tests: give each row its own",
                    )
                )
                return []
    else:
        names = _default_ids(rows)
    return [(name, row) for name, row in zip(names, rows, strict=True)]


def _row_values(root: Mapping[str, object], path: str, problems: list[SpecError]) -> list[dict[str, JSON]]:
    spec = root.get("parametrize")
    if not isinstance(spec, Mapping):
        return []
    if "file" in spec:
        return _row_file(str(spec["file"]), path, root, ("parametrize", "file"), problems)
    listed = spec.get("rows")
    return [_plain(row) for row in listed] if isinstance(listed, list) else []


def _default_ids(rows: Sequence[Mapping[str, JSON]]) -> list[str]:
    """Each row's values joined with '-'; else row numbers from 0 (a value not a short scalar, a clash)."""
    ids = []
    for row in rows:
        values = list(row.values())
        if not all(isinstance(value, str | int | float | bool) for value in values):
            break
        text = "-".join(str(value).lower() if isinstance(value, bool) else str(value) for value in values)
        if not text or len(text) > _MAX_ID_CHARS:
            break
        ids.append(text)
    if len(ids) == len(rows) and len(set(ids)) == len(ids):
        return ids
    return [str(number) for number in range(len(rows))]


def _row_file(
    name: str,
    path: str,
    root: Mapping[str, object],
    location: tuple[PathPart, ...],
    problems: list[SpecError],
) -> list[dict[str, JSON]]:
    text = _read(name, path, root, location, problems, "parametrize file")
    if text is None:
        return []
    target = _relative(name, path)
    span = node_span(path, root, location)
    rows: list[dict[str, JSON]] = []
    if name.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        for line_rows in reader:
            rows.append({str(key): value for key, value in line_rows.items() if key is not None})
    elif name.lower().endswith((".yaml", ".yml")):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problems.append(SpecError(f"parametrize file {name!r} is not valid YAML: {exc}", span=span))
            return []
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            problems.append(
                SpecError(
                    f"parametrize file {name!r} must hold a list of mappings",
                    span=span,
                    hint="write one '- {var: value}' per row",
                )
            )
            return []
        rows = [_plain(row) for row in data]
    else:
        problems.append(SpecError(f"parametrize file {name!r} is neither .csv nor .yaml/.yml", span=span))
        return []
    if not rows:
        problems.append(SpecError(f"parametrize file {target!r} holds no rows", span=span))
    for number, row in enumerate(rows, start=1):
        bad = [key for key in row if not key or key[0].isdigit() or not set(key) <= _NAME_CHARS]
        if bad:
            problems.append(
                SpecError(
                    f"row {number} of {name!r}: {bad[0]!r} is not a valid variable name",
                    span=span,
                    hint="a name is letters, digits and _, not starting with a digit",
                )
            )
            return []
    return rows


def _utterance_turns(root: Mapping[str, object]) -> list[tuple[int, str]]:
    steps = root.get("steps")
    found = []
    for index, turn in enumerate(steps if isinstance(steps, list) else []):
        say = turn.get("say") if isinstance(turn, Mapping) else None
        if isinstance(say, Mapping) and isinstance(say.get("one_of_file"), str):
            found.append((index, str(say["one_of_file"])))
    return found


def _utterances(
    root: Mapping[str, object], path: str, problems: list[SpecError]
) -> list[list[tuple[int, str, str]]]:
    """Per one_of_file turn: its (turn index, line, id) choices, blank lines and repeats left out."""
    result = []
    for index, name in _utterance_turns(root):
        location: tuple[PathPart, ...] = ("steps", index, "say", "one_of_file")
        text = _read(name, path, root, location, problems, "one_of_file")
        if text is None:
            continue
        lines = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
        if not lines:
            problems.append(
                SpecError(f"one_of_file {name!r} holds no utterance", span=node_span(path, root, location))
            )
            continue
        result.append([(index, line, _label(line)) for line in lines])
    return result


def _label(line: str) -> str:
    return line if len(line) <= _MAX_ID_CHARS else line[: _MAX_ID_CHARS - 1] + "…"


def _sample(
    choices: list[list[tuple[int, str, str]]], cap: int, seed: str
) -> list[tuple[tuple[int, str, str], ...]]:
    """Every combination of the utterance choices, or a seeded sample of ``cap`` of them, in list order."""
    total = math.prod(len(options) for options in choices)
    if total <= cap:
        return list(itertools.product(*choices))
    # Picked by number, so a product of two 10 000-line files is never built.
    picked = sorted(random.Random(seed).sample(range(total), cap))
    result = []
    for number in picked:
        combination = []
        for options in reversed(choices):
            number, at = divmod(number, len(options))
            combination.append(options[at])
        result.append(tuple(reversed(combination)))
    return result


def _read(
    name: str,
    path: str,
    root: Mapping[str, object],
    location: tuple[PathPart, ...],
    problems: list[SpecError],
    what: str,
) -> str | None:
    target = _relative(name, path)
    try:
        with open(target, encoding="utf-8") as stream:
            return stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problems.append(
            SpecError(
                f"{what} {name!r}: cannot read {target!r}: {reason}",
                span=node_span(path, root, location),
                hint="the path is relative to the spec file",
            )
        )
        return None


def _relative(name: str, path: str) -> str:
    """A file named in a spec, relative to the spec's folder."""
    return os.path.join(os.path.dirname(path), name) if not os.path.isabs(name) else name


def _plain(value: object) -> dict[str, JSON]:
    data = plain_json(value)
    return data if isinstance(data, dict) else {}


__all__ = ["Variant", "expands", "row_names", "variants"]
