"""Reuse in specs: `include` turns, `parametrize` rows and `say: {one_of_file: FILE}` utterances."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_flowai.errors import SpecError, SpecSchemaError
from pytest_flowai.spec import SpecLimits, load_spec
from pytest_flowai.spec.model import Say


def write(folder: Path, name: str, text: str) -> Path:
    """Write a dedented file into ``folder`` and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path, limits: SpecLimits | None = None) -> list[SpecError]:
    """The problems a spec file is rejected with (the test fails if it loads)."""
    with pytest.raises(SpecSchemaError) as info:
        load_spec(path, limits or SpecLimits())
    return list(info.value.problems)


def test_include_splices_turns_with_spans_in_the_included_file(tmp_path: Path) -> None:
    """An include turn is replaced by the other conversation's turns, numbered on, spans in their own file."""
    write(
        tmp_path,
        "shared/login.flowai.yaml",
        """
        name: log in
        vars: {user: ann}
        steps:
          - say: "I am {user}"
        """,
    )
    spec = write(
        tmp_path,
        "a.flowai.yaml",
        """
        name: order
        steps:
          - say: hi
          - include: shared/login.flowai.yaml#log in
          - say: bye
        """,
    )
    (conversation,) = load_spec(spec).conversations
    assert [(t.index, t.action, t.span.path, t.span.line) for t in conversation.turns] == [
        (1, Say(text="hi"), str(spec), 3),
        (2, Say(text="I am {user}"), str(tmp_path / "shared/login.flowai.yaml"), 4),
        (3, Say(text="bye"), str(spec), 5),
    ]
    assert conversation.vars == {"user": "ann"}


def test_include_of_the_same_file_by_hash_name(tmp_path: Path) -> None:
    """`include: '#name'` splices a conversation of the same file."""
    spec = write(
        tmp_path,
        "a.flowai.yaml",
        """
        name: greet
        steps:
          - say: hello
        ---
        name: twice
        steps:
          - include: "#greet"
          - include: "#greet"
        """,
    )
    conversations = load_spec(spec).conversations
    assert [t.action for t in conversations[1].turns] == [Say(text="hello"), Say(text="hello")]


def test_include_cycle_is_reported_at_the_first_include_with_the_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle through two files is one error at the including turn, showing the whole chain."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "b.flowai.yaml", "name: y\nsteps:\n  - include: a.flowai.yaml#x\n")
    spec = write(tmp_path, "a.flowai.yaml", "name: x\nsteps:\n  - say: hi\n  - include: b.flowai.yaml#y\n")
    (problem,) = problems_of(spec)
    assert str(problem) == (
        "a.flowai.yaml:4:14: include cycle: a.flowai.yaml#x -> b.flowai.yaml#y -> a.flowai.yaml#x\n"
        "  hint: an include must not lead back to itself"
    )


def test_include_of_a_missing_file_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An include of a file that does not exist is an error at the include, naming the reference."""
    monkeypatch.chdir(tmp_path)
    spec = write(tmp_path, "a.flowai.yaml", "steps:\n  - include: nope.flowai.yaml#x\n")
    (problem,) = problems_of(spec)
    assert str(problem).startswith(
        "a.flowai.yaml:2:14: include 'nope.flowai.yaml#x': cannot read the spec file: No such file"
    )


def test_include_of_a_missing_name_suggests_the_closest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An include of a conversation the file lacks names the file and suggests one of its names."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "b.flowai.yaml", "name: log in\nsteps:\n  - say: hi\n")
    spec = write(tmp_path, "a.flowai.yaml", "steps:\n  - include: b.flowai.yaml#login\n")
    (problem,) = problems_of(spec)
    assert str(problem) == (
        "a.flowai.yaml:2:14: include: b.flowai.yaml has no conversation 'login'\n"
        "  hint: did you mean 'log in'?"
    )


def test_errors_inside_an_included_file_point_into_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken included conversation is reported at its own file's line."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "b.flowai.yaml", "name: y\nsteps:\n  - sya: hi\n")
    spec = write(tmp_path, "a.flowai.yaml", "steps:\n  - include: b.flowai.yaml#y\n")
    (problem,) = problems_of(spec)
    assert str(problem).startswith("b.flowai.yaml:3:5: unknown key 'sya' in turn 1")


def test_include_turn_takes_no_other_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`expect` beside `include` is refused at the key."""
    monkeypatch.chdir(tmp_path)
    spec = write(
        tmp_path,
        "a.flowai.yaml",
        "steps:\n  - include: '#x'\n    expect: none\n---\nname: x\nsteps: [{say: hi}]\n",
    )
    (problem,) = problems_of(spec)
    assert str(problem).startswith("a.flowai.yaml:3:5: 'expect' has no place in an include turn")


def test_variables_defined_by_included_turns_count_as_defined(tmp_path: Path) -> None:
    """A value captured by an included turn may be used by the turns after the include."""
    write(
        tmp_path,
        "b.flowai.yaml",
        "name: y\nsteps:\n  - say: hi\n    expect: [{save: {greeting: payload.text}}]\n",
    )
    spec = write(tmp_path, "a.flowai.yaml", "steps:\n  - include: b.flowai.yaml#y\n  - say: '{greeting}'\n")
    (conversation,) = load_spec(spec).conversations
    assert len(conversation.turns) == 2


def test_parametrize_rows_make_one_conversation_each_named_by_id(tmp_path: Path) -> None:
    """Each row runs the conversation once, named `name[id]`, its variables over the spec's vars."""
    spec = write(
        tmp_path,
        "a.flowai.yaml",
        """
        name: order
        vars: {size: small, crust: thin}
        parametrize:
          ids: [big, mid]
          rows: [{size: large}, {size: medium}]
        steps:
          - say: "a {size} {crust} pizza"
        """,
    )
    conversations = load_spec(spec).conversations
    assert [(c.name, dict(c.vars)) for c in conversations] == [
        ("order[big]", {"size": "large", "crust": "thin"}),
        ("order[mid]", {"size": "medium", "crust": "thin"}),
    ]


def test_parametrize_default_ids_are_the_values_or_the_row_number(tmp_path: Path) -> None:
    """Without ids, a row is named by its values joined with '-'; rows whose values clash by their number."""
    spec = write(
        tmp_path,
        "a.flowai.yaml",
        """
        name: a
        parametrize: {rows: [{size: large, n: 2}, {size: small, n: 1}]}
        steps: [{say: "{size} {n}"}]
        ---
        name: b
        parametrize: {rows: [{x: same}, {x: same}]}
        steps: [{say: "{x}"}]
        """,
    )
    assert [c.name for c in load_spec(spec).conversations] == ["a[large-2]", "a[small-1]", "b[0]", "b[1]"]


def test_parametrize_from_csv_and_yaml_files(tmp_path: Path) -> None:
    """`parametrize: {file: rows.csv}` reads a header row of names; a YAML file a list of mappings."""
    (tmp_path / "rows.csv").write_text("size,qty\nlarge,2\nsmall,1\n", encoding="utf-8")
    (tmp_path / "rows.yaml").write_text("- {size: large}\n- {size: small}\n", encoding="utf-8")
    spec = write(
        tmp_path,
        "a.flowai.yaml",
        """
        name: csv
        parametrize: {file: rows.csv}
        steps: [{say: "{size} {qty}"}]
        ---
        name: yaml
        parametrize: {file: rows.yaml, ids: [L, S]}
        steps: [{say: "{size}"}]
        """,
    )
    conversations = load_spec(spec).conversations
    assert [(c.name, dict(c.vars)) for c in conversations] == [
        ("csv[large-2]", {"size": "large", "qty": "2"}),
        ("csv[small-1]", {"size": "small", "qty": "1"}),
        ("yaml[L]", {"size": "large"}),
        ("yaml[S]", {"size": "small"}),
    ]


def test_parametrize_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids that do not fit the rows, and a missing rows file, are errors at their place."""
    monkeypatch.chdir(tmp_path)
    spec = write(
        tmp_path,
        "a.flowai.yaml",
        """
        name: a
        parametrize: {ids: [one], rows: [{x: 1}, {x: 2}]}
        steps: [{say: "{x}"}]
        ---
        name: b
        parametrize: {file: missing.csv}
        steps: [{say: hi}]
        ---
        name: c
        parametrize: {ids: [same, same], rows: [{x: 1}, {x: 2}]}
        steps: [{say: "{x}"}]
        """,
    )
    assert [str(p).split("\n")[0] for p in problems_of(spec)] == [
        "a.flowai.yaml:2:20: parametrize has 2 rows but 1 ids",
        "a.flowai.yaml:6:21: parametrize file 'missing.csv': cannot read "
        f"{str(tmp_path / 'missing.csv')!r}: No such file or directory",
        "a.flowai.yaml:10:27: duplicate parametrize id 'same'",
    ]


def test_undefined_variable_is_still_found_with_parametrize(tmp_path: Path) -> None:
    """Row variables count as defined; a name no row or var sets is still an error."""
    spec = write(tmp_path, "a.flowai.yaml", "parametrize: {rows: [{x: 1}]}\nsteps: [{say: '{x} {y}'}]\n")
    (problem,) = problems_of(spec)
    assert problem.message == "undefined variable 'y' in turn 1"


def test_one_of_file_expands_one_conversation_per_line(tmp_path: Path) -> None:
    """Each non-blank, distinct line of the file is one conversation, named by the line."""
    (tmp_path / "greetings.txt").write_text("hello\nhi there\n\nhello\n", encoding="utf-8")
    spec = write(tmp_path, "a.flowai.yaml", "name: greet\nsteps:\n  - say: {one_of_file: greetings.txt}\n")
    conversations = load_spec(spec).conversations
    assert [(c.name, c.turns[0].action) for c in conversations] == [
        ("greet[hello]", Say(text="hello")),
        ("greet[hi there]", Say(text="hi there")),
    ]


def test_one_of_file_is_capped_by_a_sample_seeded_by_path_and_name(tmp_path: Path) -> None:
    """Past max_expansions a sample is taken; loading again, or from another folder, picks the same lines."""
    lines = "".join(f"line {n}\n" for n in range(100))
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "many.txt").write_text(lines, encoding="utf-8")
        write(tmp_path / folder, "a.flowai.yaml", "name: g\nsteps:\n  - say: {one_of_file: many.txt}\n")
    limits = SpecLimits(max_expansions=5)
    first = [c.name for c in load_spec(tmp_path / "one/a.flowai.yaml", limits).conversations]
    again = [c.name for c in load_spec(tmp_path / "one/a.flowai.yaml", limits).conversations]
    elsewhere = [c.name for c in load_spec(tmp_path / "two/a.flowai.yaml", limits).conversations]
    assert len(first) == 5
    assert first == again == elsewhere
    assert first == sorted(first, key=lambda name: int(name[7:-1]))
    assert first != [f"g[line {n}]" for n in range(5)]


def test_one_of_file_missing_or_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing utterance file, or one with no line, is an error at the file name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    spec = write(
        tmp_path,
        "a.flowai.yaml",
        "steps:\n  - say: {one_of_file: empty.txt}\n---\nsteps:\n  - say: {one_of_file: nope.txt}\n",
    )
    messages = [str(p).split("\n")[0] for p in problems_of(spec)]
    assert messages[0] == "a.flowai.yaml:2:24: one_of_file 'empty.txt' holds no utterance"
    assert messages[1].startswith("a.flowai.yaml:5:24: one_of_file 'nope.txt': cannot read")
