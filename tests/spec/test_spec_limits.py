"""Files that cannot be specs, and files too big to load, are SpecErrors at their place, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_flowai.errors import SpecError, SpecSchemaError, SpecSyntaxError
from pytest_flowai.spec import SpecLimits, load_spec, load_spec_text
from pytest_flowai.spec.model import Say

PATH = "test_orders.flowai.yaml"
GOOD = "name: soda\nsteps:\n  - say: hello\n"


def refused(text: str, limits: SpecLimits | None = None) -> SpecError:
    """The error a spec text is refused with (the test fails if it loads)."""
    with pytest.raises(SpecError) as info:
        load_spec_text(text, PATH, limits or SpecLimits())
    error = info.value
    if isinstance(error, SpecSchemaError):
        assert len(error.problems) == 1, str(error)
        error = error.problems[0]
    return error


def place(error: SpecError) -> tuple[int, int]:
    """The error's line and column."""
    assert error.span is not None
    assert error.span.path == PATH
    return error.span.line, error.span.column


def write(tmp_path: Path, data: bytes) -> Path:
    """A spec file holding exactly these bytes."""
    path = tmp_path / PATH
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("char", "named", "escape"),
    [
        ("\x00", "U+0000 (NUL)", '"\\0"'),
        ("\x1b", "U+001B (ESC)", '"\\e"'),
        ("\x0c", "U+000C (form feed)", '"\\f"'),
        ("\x7f", "U+007F (DEL)", '"\\x7f"'),
        ("\x9b", "U+009B", '"\\x9b"'),
    ],
)
def test_control_character_is_named_at_its_place(char: str, named: str, escape: str) -> None:
    """A control character YAML refuses is reported at its line and column with the escape to write."""
    error = refused(f"name: soda\nsteps:\n  - say: he{char}llo\n")
    assert isinstance(error, SpecSyntaxError)
    assert place(error) == (3, 12)
    assert error.message == f"the file holds the control character {named}, which YAML does not allow"
    assert error.hint == f"remove it, or write it as an escape inside double quotes: {escape}"


def test_escaped_control_character_is_fine() -> None:
    """The same character written as an escape in double quotes is an ordinary part of the text."""
    spec = load_spec_text('name: soda\nsteps:\n  - say: "he\\ello"\n', PATH)
    assert spec.conversations[0].turns[0].action == Say(text="he\x1bllo")


def test_lone_surrogate_in_text_is_refused() -> None:
    """Text given to load_spec_text with a lone surrogate is refused at its place, not by the encoder."""
    error = refused("name: soda\nsteps:\n  - say: a\ud800\n")
    assert place(error) == (3, 11)
    assert "lone surrogate U+D800" in error.message


def test_invalid_utf8_names_the_byte_and_its_place(tmp_path: Path) -> None:
    """A byte that is not UTF-8 is named with its line and column."""
    with pytest.raises(SpecSyntaxError) as info:
        load_spec(write(tmp_path, b"name: soda\nsteps:\n  - say: caf\xe9\n"))
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (3, 13)
    assert info.value.message == "the file is not UTF-8 text: byte 0xE9 (invalid continuation byte)"
    assert info.value.hint == "save it as UTF-8"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_named(tmp_path: Path, encoding: str) -> None:
    """A file saved as UTF-16 or UTF-32 (with a byte-order mark) is told apart from garbage."""
    with pytest.raises(SpecSyntaxError) as info:
        load_spec(write(tmp_path, GOOD.encode(encoding)))
    name = encoding.upper()
    assert (
        info.value.message == f"the file is {name} text (it starts with a {name} byte-order mark), not UTF-8"
    )


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_utf16_without_a_byte_order_mark_is_named(tmp_path: Path, encoding: str) -> None:
    """UTF-16 or UTF-32 without a mark is said to be full of NUL bytes, not a control-character error."""
    with pytest.raises(SpecSyntaxError, match="full of NUL bytes") as info:
        load_spec(write(tmp_path, GOOD.encode(encoding)))
    assert info.value.span is not None
    assert info.value.span.line == 1


def test_utf8_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    """A UTF-8 file that starts with a byte-order mark loads as without it."""
    spec = load_spec(write(tmp_path, b"\xef\xbb\xbf" + GOOD.encode()))
    assert spec.conversations[0].name == "soda"


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        ("a{4294967296}", "the repetition number is too large"),
        ("(" * 3000 + ")" * 3000, "its groups are nested too deep"),
        ("a{3,2}", "min repeat greater than max repeat at position 2"),
    ],
    ids=["huge repeat", "deep groups", "re.error"],
)
def test_regex_that_does_not_compile(regex: str, reason: str) -> None:
    """A regex re.compile refuses in any way is an invalid-regex error at the regex."""
    error = refused(f"name: soda\nsteps:\n  - say: hello\n    expect:\n      - text: {{regex: '{regex}'}}\n")
    assert place(error) == (5, 23)
    assert error.message.startswith("invalid regex '")
    assert error.message.endswith(f": {reason}")


@pytest.mark.parametrize(
    ("schema", "where", "regex"),
    [
        ("{pattern: 'a{4294967296}'}", "pattern", "'a{4294967296}'"),
        (
            "{properties: {payload: {pattern: 'a{99999999999}'}}}",
            "properties.payload.pattern",
            "'a{99999999999}'",
        ),
        ("{patternProperties: {'x{4294967296}': {}}}", "patternProperties", "'x{4294967296}'"),
    ],
)
def test_schema_pattern_that_does_not_compile(schema: str, where: str, regex: str) -> None:
    """An inline schema's pattern that overflows re.compile is named with its place inside the schema."""
    error = refused(f"name: soda\nsteps:\n  - say: hello\n    expect:\n      - schema: {schema}\n")
    assert place(error) == (5, 17)
    assert error.message == (
        f"'schema' is not a valid JSON Schema at {where}: {regex} is not a regex "
        "(the repetition number is too large)"
    )


def test_schema_pattern_nested_too_deep() -> None:
    """An inline schema's pattern with thousands of nested groups is an error, not a RecursionError."""
    pattern = "(" * 3000 + ")" * 3000
    error = refused(
        f"name: soda\nsteps:\n  - say: hello\n    expect:\n      - schema: {{pattern: '{pattern}'}}\n"
    )
    assert error.message.startswith("'schema' is not a valid JSON Schema at pattern: '((((")
    assert error.message.endswith("is not a regex (its groups are nested too deep)")


@pytest.mark.parametrize("number", ["1" + "0" * 400, "0x" + "f" * 400, "-" + "9" * 320])
@pytest.mark.parametrize("key", ["timeout", "wait", "say"])
def test_number_too_large_for_a_float(number: str, key: str) -> None:
    """An integer past the float range is refused at its place (it could be neither seconds nor printed)."""
    text = (
        f"timeout: {number}\nsteps:\n  - say: hi\n" if key == "timeout" else f"steps:\n  - {key}: {number}\n"
    )
    error = refused(text)
    assert isinstance(error, SpecSyntaxError)
    assert place(error) == ((1, 10) if key == "timeout" else (2, 5 + len(key) + 2))
    assert error.message.startswith(f"invalid YAML: '{number[:20]}")
    assert error.message.endswith("is too large a number")


def test_large_numbers_within_the_float_range_load() -> None:
    """A long integer that a float can still hold loads as the exact integer."""
    spec = load_spec_text(
        "steps:\n  - say: hi\n    expect: [{payload: {id: 123456789012345678901234567890}}]\n"
    )
    assert spec.conversations[0].turns[0].expect is not None
    assert spec.conversations[0].turns[0].expect[0].data["payload"] == {"id": 123456789012345678901234567890}


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    """A file over the size limit is refused without being read, naming its size and the limit."""
    path = write(tmp_path, GOOD.encode() + b"#" * 2_000_000)
    with pytest.raises(SpecSyntaxError) as info:
        load_spec(path)
    assert (
        info.value.message == f"the spec file is {path.stat().st_size} bytes, over the limit of 1048576 bytes"
    )
    assert (
        info.value.hint == "split it into smaller spec files, or raise the ini option flowai_max_spec_bytes"
    )


def test_size_limit_is_configurable(tmp_path: Path) -> None:
    """A file just at the limit loads; one byte more is refused, for files and for text alike."""
    data = GOOD.encode()
    path = write(tmp_path, data)
    assert load_spec(path, SpecLimits(max_bytes=len(data))).conversations[0].name == "soda"
    with pytest.raises(SpecSyntaxError, match=f"over the limit of {len(data) - 1} bytes"):
        load_spec(path, SpecLimits(max_bytes=len(data) - 1))
    with pytest.raises(SpecSyntaxError, match=f"is {len(data) + 2} bytes, over the limit"):
        load_spec_text(GOOD + "é", PATH, SpecLimits(max_bytes=len(data)))


def test_too_many_documents() -> None:
    """A file with more documents than the limit is refused at the first one over it."""
    text = "".join(f"---\nname: c{n}\nsteps: [{{say: hi}}]\n" for n in range(4))
    assert len(load_spec_text(text, PATH, SpecLimits(max_documents=4)).conversations) == 4
    error = refused(text, SpecLimits(max_documents=3))
    assert place(error) == (11, 1)  # where the fourth document's content starts
    assert error.message == "the file holds more than 3 YAML documents (the limit per file)"
    assert error.hint == "split its conversations over several spec files"


def test_default_document_limit() -> None:
    """By default a file holds at most 1000 documents."""
    text = "---\nsteps: [{say: hi}]\n" * 1001
    assert refused(text).message == "the file holds more than 1000 YAML documents (the limit per file)"


def test_aliases_of_one_long_string_are_counted_in_characters() -> None:
    """Aliasing a long string many times is refused by the characters it adds, not by its node count."""
    text = f"vars: {{s: &s {'x' * 100_000}}}\nsteps:\n" + "  - say: *s\n" * 11
    error = refused(text)
    assert place(error) == (1, 11)
    assert error.message == (
        "the document expands to more than 1000000 characters through aliases "
        "(the limit of what aliases may add)"
    )
    assert len(load_spec_text(text, PATH, SpecLimits(max_alias_chars=2_000_000)).conversations[0].turns) == 11


def test_few_aliases_are_fine() -> None:
    """Ordinary aliases and merge keys, well within the limit, load as before."""
    text = "vars: {who: &w {name: Ann}}\noriginator: *w\nsteps:\n"
    text += "  - say: hi\n    originator: {<<: *w, role: moderator}\n"
    turn = load_spec_text(text, PATH).conversations[0].turns[0]
    assert turn.originator == {"name": "Ann", "role": "moderator"}


def test_nesting_through_aliases_is_counted() -> None:
    """Nesting that grows past the limit only through aliases is refused like nesting written out."""
    lines = ["vars:", "  a0: &a0 " + "[" * 30 + "]" * 30]
    lines += [f"  a{n}: &a{n} " + "[" * 30 + f"*a{n - 1}" + "]" * 30 for n in range(1, 4)]
    error = refused("\n".join(lines) + "\nsteps:\n  - say: hi\n")
    assert error.message == "the YAML is nested more than 64 levels deep"
    assert place(error)[0] == 3


def test_spec_metadata_reaches_each_turn() -> None:
    """A spec's metadata reaches every turn that does not override it, and so do its variables."""
    text = "vars: {lang: nl}\nmetadata: {language: '{lang}', contexts: [a, b]}\nsteps:\n"
    text += "  - say: hi\n  - say: hi\n    metadata: {language: '{nope}'}\n"
    error = refused(text)
    assert error.message == "undefined variable 'nope' in turn 2"
    turns = load_spec_text(text.replace("{nope}", "en"), PATH).conversations[0].turns
    assert [turn.metadata for turn in turns] == [
        {"language": "{lang}", "contexts": ["a", "b"]},
        {"language": "en", "contexts": ["a", "b"]},
    ]
    assert [turn.variables for turn in turns] == [frozenset({"lang"}), frozenset()]


def test_problems_are_capped_per_file() -> None:
    """A file with thousands of problems reports the first ones by place and says that checking stopped."""
    text = "steps:\n" + "  - say: 5\n" * 5000
    with pytest.raises(SpecSchemaError) as info:
        load_spec_text(text, PATH, SpecLimits(max_problems=3))
    found = [(p.span.line if p.span else 0, p.message) for p in info.value.problems]
    assert found == [
        (2, "'say' must be a string, got 5"),
        (3, "'say' must be a string, got 5"),
        (4, "'say' must be a string, got 5"),
        (4, "checking stopped after 3 problems (the limit per file); more may follow"),
    ]


def test_problems_up_to_the_cap_are_all_reported() -> None:
    """A file with exactly as many problems as the cap reports them all, with no note."""
    text = "steps:\n" + "  - say: 5\n" * 3
    with pytest.raises(SpecSchemaError) as info:
        load_spec_text(text, PATH, SpecLimits(max_problems=3))
    assert len(info.value.problems) == 3
