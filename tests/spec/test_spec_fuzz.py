"""Fuzzing the spec loader: mutated example specs and generated spec-like YAML load or fail as a SpecError.

Hypothesis runs derandomized (the same inputs every run) and without its example database, so a run
reproduces. Each input must end in a SpecFile or a SpecError (a collection error) and never take seconds.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pytest_flowai.errors import SpecError, SpecSchemaError
from pytest_flowai.spec import SpecFile, load_spec

ROOT = Path(__file__).resolve().parents[2]
# Far above what any input here needs (a few milliseconds): only a hang or a blow-up goes past it.
MAX_SECONDS = 5.0
MUTATED_EXAMPLES = 800
GENERATED_EXAMPLES = 300


def _seeds() -> list[bytes]:
    """The example suite's spec files and the README's YAML blocks, as bytes."""
    files = [path.read_bytes() for path in sorted((ROOT / "example_specs").glob("*.flowai.yaml"))]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [block.encode() for block in re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)]
    return files + blocks


def _grammar_keys() -> list[str]:
    """Every key the spec grammar names, so that mutations and generated specs get past unknown-key errors."""
    schema = json.loads((ROOT / "pytest_flowai" / "spec" / "schema.json").read_text(encoding="utf-8"))
    keys: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                keys.update(properties)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return sorted(keys)


SEEDS = _seeds()
KEYS = _grammar_keys()
NESTED_GROUPS = "(" * 3000 + ")" * 3000
# Bytes worth inserting anywhere: control characters and bytes that are not UTF-8 (each stops the load at
# once, so they are drawn less often), then YAML syntax, aliases and tags.
BAD_BYTES = [
    b"\x00",
    b"\x1b",
    b"\x0c",
    b"\x7f",
    b"\x08",
    b"\xc2\x85",
    b"\xc2\x9b",
    b"\xe2\x80\xa8",
    b"\xef\xbb\xbf",
    b"\xef\xbf\xbe",
    b"\xff",
    b"\xfe\xff",
    b"\xed\xa0\x80",
    b"\xe9",
]
TOKENS = [
    b"\t",
    b"\r",
    b"\r\n",
    b"&a ",
    b"*a",
    b"*a\n",
    b"<<: *a\n",
    b"? ",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"%TAG ! tag:example.com,2000:\n",
    b"!!binary ",
    b"!!python/object/apply:os.system ",
    b"!x ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"'",
    b'"',
    b"\\",
    b"{{",
    b"{env.HOME}",
    b"{order}",
    b"|",
    b">-",
    b"- ",
    b": ",
    b"#",
    b",",
]
# Values worth putting after a key: YAML 1.1 look-alikes, numbers past any range, odd regexes and schemas.
ODD_VALUES = [
    "",
    "~",
    "null",
    "true",
    "yes",
    "0",
    "-1",
    "1.5",
    "1e400",
    ".inf",
    ".nan",
    "0o777",
    "0x" + "f" * 400,
    "9" * 5000,
    "1" + "0" * 400,
    "[]",
    "{}",
    "[[[]]]",
    "'a{4294967296}'",
    f"'{NESTED_GROUPS}'",
    "{regex: 'a{4294967296}'}",
    f"{{regex: '{NESTED_GROUPS}'}}",
    "{regex: '(('}",
    "{regex: '(?P<env>x)'}",
    "{not: {not: {not: {regex: 'x{99999999999}'}}}}",
    "{pattern: 'x{99999999999}'}",
    f"{{pattern: '{NESTED_GROUPS}'}}",
    "{patternProperties: {'a{4294967296}': {}}}",
    "{type: object, properties: {payload: {pattern: '[z-a]'}}}",
    "*a",
    "&a x",
    "!!binary aGVsbG8=",
    "!!set {a}",
    "!!timestamp 2001-12-14",
    "!!omap [a: 1]",
    "!!python/name:os.system",
    "2024-01-01",
    "1:30",
    "'{undefined}'",
    "'{env.HOME}'",
    "'{{'",
    '"\\x00\\x1b"',
    '"\\ud800"',
    '"\\U0010ffff"',
    "x" * 10000,
    "none",
    "socket",
    "rest",
    "webhook",
    "fail",
    "[" * 70 + "]" * 70,
    "{a: " * 70 + "1" + "}" * 70,
]
BOMB = "\n".join(
    ["b0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"b{n}: &b{n} [{', '.join([f'*b{n - 1}'] * 9)}]" for n in range(1, 9)]
)
LONG_ALIAS = "s: &s " + "x" * 50_000 + "\nt: [" + ", ".join(["*s"] * 40) + "]"
BLOCKS = [
    BOMB,
    LONG_ALIAS,
    "r: &r [*r]",
    "vars: &v {a: *v}",
    "- " * 200 + "x",
    "  " * 300 + "deep: 1",
    "a: " + "[" * 2000 + "]" * 2000,
    "".join(f"---\nsteps: [{{say: x{n}}}]\n" for n in range(1100)),
]
VALUE = re.compile(rb"^(\s*(?:- )?[\w\"']+: ?)(.*)$")
KEY = re.compile(rb"^(\s*(?:- )?)([\w\"']+)(:)")


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _mutate(draw: st.DrawFn, data: bytes) -> bytes:
    """One random change to a spec's bytes, lines, keys or values."""
    kind = draw(st.sampled_from(MUTATIONS))
    return kind(draw, data)


def _insert(draw: st.DrawFn, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.sampled_from(TOKENS)) + data[at:]


def _insert_bad(draw: st.DrawFn, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    piece = draw(st.sampled_from(BAD_BYTES) | st.binary(min_size=1, max_size=6))
    return data[:at] + piece + data[at:]


def _delete(draw: st.DrawFn, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    return data[:at] + data[at + draw(st.integers(1, 40)) :]


def _replace_byte(draw: st.DrawFn, data: bytes) -> bytes:
    if not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    byte = draw(st.integers(32, 126) | st.integers(0, 255))
    return data[:at] + bytes([byte]) + data[at + 1 :]


def _line_op(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    at = draw(st.integers(0, len(lines) - 1))
    match draw(st.sampled_from(["copy", "drop", "swap", "indent", "dedent", "tab", "repeat"])):
        case "copy":
            lines.insert(at, lines[at])
        case "drop":
            del lines[at]
        case "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        case "indent":
            lines[at] = b"  " + lines[at]
        case "dedent":
            lines[at] = lines[at][2:]
        case "tab":
            lines[at] = b"\t" + lines[at].lstrip(b" ")
        case _:
            lines[at:at] = [lines[at]] * draw(st.sampled_from([10, 200, 2000]))
    return b"\n".join(lines)


def _value(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    at = draw(st.integers(0, len(lines) - 1))
    found = VALUE.match(lines[at])
    odd = draw(st.sampled_from(ODD_VALUES)).encode()
    lines[at] = found.group(1).rstrip(b" ") + b" " + odd if found else lines[at] + b" " + odd
    return b"\n".join(lines)


def _key(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    at = draw(st.integers(0, len(lines) - 1))
    found = KEY.match(lines[at])
    if found:
        key = draw(st.sampled_from(KEYS) | st.text(max_size=6)).encode("utf-8", "surrogatepass")
        lines[at] = found.group(1) + key + lines[at][found.end(2) :]
    return b"\n".join(lines)


def _nest(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    at = draw(st.integers(0, len(lines) - 1))
    found = VALUE.match(lines[at])
    if found:
        depth = draw(st.sampled_from([10, 40, 63, 64, 65, 200, 2000]))
        opening, closing = draw(st.sampled_from([(b"[", b"]"), (b"{a: ", b"}")]))
        lines[at] = found.group(1).rstrip(b" ") + b" " + opening * depth + found.group(2) + closing * depth
    return b"\n".join(lines)


def _alias(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    at = draw(st.integers(0, len(lines) - 1))
    found = VALUE.match(lines[at])
    if not found:
        return data
    # Anchor one value, then alias it from other values of the file.
    lines[at] = found.group(1).rstrip(b" ") + b" &a " + found.group(2)
    for _ in range(draw(st.integers(1, 5))):
        other = draw(st.integers(0, len(lines) - 1))
        again = VALUE.match(lines[other])
        if again and other != at:
            lines[other] = again.group(1).rstrip(b" ") + b" *a"
    return b"\n".join(lines)


def _block(draw: st.DrawFn, data: bytes) -> bytes:
    block = draw(st.sampled_from(BLOCKS)).encode()
    return data + b"\n" + block + b"\n" if draw(st.booleans()) else block + b"\n" + data


MUTATIONS: list[Callable[[st.DrawFn, bytes], bytes]] = [
    _insert,
    _insert,
    _insert_bad,
    _delete,
    _replace_byte,
    _line_op,
    _value,
    _value,
    _key,
    _nest,
    _alias,
    _block,
]


@st.composite
def mutated_specs(draw: st.DrawFn) -> bytes:
    """An example spec or README block with one to five mutations."""
    data = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 5))):
        data = _mutate(draw, data)
    return data


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        ["hello", "{x}", "{env.HOME}", "a{4294967296}", NESTED_GROUPS, "(?P<env>x)", "x" * 5000]
    )
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner)
    ),
    max_leaves=6,
)
TEXT_MATCHERS = st.fixed_dictionaries(
    {},
    optional={
        "regex": st.sampled_from(["x", "(?P<order>\\d+)", "a{4294967296}", NESTED_GROUPS, "((", "{x}"]),
        "contains": st.text(max_size=5),
        "one_of": st.lists(st.text(max_size=4), max_size=3),
        "not": st.sampled_from(["x", {"regex": "x{99999999999}"}]),
        "icase": st.booleans(),
    },
)
ENTRIES = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=8) | TEXT_MATCHERS,
        "schema": st.sampled_from(
            [{"type": "object"}, {"pattern": "a{4294967296}"}, {"pattern": NESTED_GROUPS}, {"type": 5}]
        )
        | VALUES,
        "save": st.dictionaries(st.sampled_from(["order", "env", "x", "1bad"]), st.text(max_size=10)),
        "quickReplies": st.lists(st.text(max_size=5) | VALUES, max_size=3),
        "payload": VALUES,
        "type": st.sampled_from(["text", "card", 5]),
        "fallback": st.booleans(),
    },
)
TURN_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "expect": st.lists(ENTRIES, max_size=3) | st.just("none") | VALUES,
        "timeout": st.integers() | st.floats(),
        "params": VALUES,
        "metadata": VALUES,
        "unordered": st.booleans(),
    },
)
ACTIONS = st.sampled_from(["say", "event", "location", "media", "pause", "wait", "handover", "sya"])
ACTION_VALUES = st.text(max_size=8) | st.just(True) | st.floats(0, 2) | VALUES
TURNS = st.builds(
    lambda action, value, options: {action: value, **options}, ACTIONS, ACTION_VALUES, TURN_OPTIONS
)
SPECS = st.fixed_dictionaries(
    {"steps": st.lists(TURNS, max_size=3)},
    optional={
        "name": st.text(max_size=10),
        "marks": st.lists(st.text(max_size=6), max_size=3),
        "transport": st.sampled_from(["socket", "rest", "webhook", "pigeon"]),
        "vars": st.dictionaries(st.sampled_from(["x", "order", "env"]) | st.text(max_size=4), VALUES),
        "metadata": VALUES,
        "originator": VALUES,
        "timeout": st.integers() | st.floats(),
        "extra": st.sampled_from(["fail", "warn", "ignore", "loud"]),
    },
)


@st.composite
def generated_specs(draw: st.DrawFn) -> bytes:
    """Spec-like documents dumped to YAML; a turn repeated is the same object, so yaml writes aliases."""
    documents = draw(st.lists(SPECS, min_size=1, max_size=2))
    for document in documents:
        steps = document["steps"]
        if steps and draw(st.booleans()):
            assert isinstance(steps, list)
            document["steps"] = steps * draw(st.sampled_from([2, 30, 100]))
    text = yaml.dump_all(
        documents,
        Dumper=yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper,
        allow_unicode=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from([None, False, True])),
        width=draw(st.sampled_from([80, 10_000])),
    )
    return text.encode("utf-8", "surrogatepass")


def _check(path: Path, data: bytes) -> None:
    """The file loads into a SpecFile or is refused with a located SpecError, within the time bound."""
    path.write_bytes(data)
    started = time.perf_counter()
    outcome: SpecFile | SpecError
    try:
        outcome = load_spec(path)
    except SpecError as exc:
        outcome = exc
    elapsed = time.perf_counter() - started
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s for one input of {len(data)} bytes"
    if isinstance(outcome, SpecError):
        # What the collection error shows: every problem printable and placed in this file.
        problems = outcome.problems if isinstance(outcome, SpecSchemaError) else (outcome,)
        assert problems
        for problem in problems:
            assert problem.span is not None
            assert problem.span.path == str(path)
            assert problem.span.line >= 1
        assert str(outcome)
    else:
        assert isinstance(outcome, SpecFile)


FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    """Where each fuzzed input is written, as a spec file would be."""
    return tmp_path / "test_fuzz.flowai.yaml"


def test_mutated_specs_load_or_fail_cleanly(spec_path: Path) -> None:
    """800 mutated example specs each load or give a located SpecError, none taking seconds."""
    seen: list[int] = []

    @settings(FUZZ, max_examples=MUTATED_EXAMPLES)
    @given(mutated_specs())
    def check(data: bytes) -> None:
        seen.append(len(data))
        _check(spec_path, data)

    check()
    assert len(seen) >= MUTATED_EXAMPLES


def test_generated_specs_load_or_fail_cleanly(spec_path: Path) -> None:
    """300 generated spec-like YAML files each load or give a located SpecError, none taking seconds."""
    seen: list[int] = []

    @settings(FUZZ, max_examples=GENERATED_EXAMPLES)
    @given(generated_specs())
    def check(data: bytes) -> None:
        seen.append(len(data))
        _check(spec_path, data)

    check()
    assert len(seen) >= GENERATED_EXAMPLES
