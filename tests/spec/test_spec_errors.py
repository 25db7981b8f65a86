"""Each kind of spec error: YAML text in, the exact line, column, message and hint out."""

from __future__ import annotations

import textwrap

import pytest

from pytest_flowai.errors import SpecError, SpecSchemaError, SpecSyntaxError
from pytest_flowai.spec import load_spec, load_spec_text

PATH = "test_orders.flowai.yaml"


def problems(text: str) -> list[SpecError]:
    """The problems a spec text is rejected with (the test fails if it loads)."""
    with pytest.raises(SpecSchemaError) as info:
        load_spec_text(textwrap.dedent(text), PATH)
    return list(info.value.problems)


def only_problem(text: str) -> tuple[int, int, str, str | None]:
    """The single problem of a spec text as (line, column, message, hint)."""
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    problem = found[0]
    assert problem.span is not None
    assert problem.span.path == PATH
    return problem.span.line, problem.span.column, problem.message, problem.hint


def test_unknown_top_level_key_suggests_the_closest() -> None:
    """A misspelt top-level key is reported at its line with a did-you-mean."""
    assert only_problem(
        """\
        name: soda
        transprt: rest
        steps:
          - say: hi
        """
    ) == (2, 1, "unknown key 'transprt' in the spec", "did you mean 'transport'?")


def test_unknown_expect_key_suggests_the_closest() -> None:
    """A misspelt key of an expect entry names the entry and the turn, with a did-you-mean."""
    assert only_problem(
        """\
        steps:
          - say: hi
          - say: hello
            expect:
              - text: Hello!
                quickreplies: [Yes, No]
        """
    ) == (6, 9, "unknown key 'quickreplies' in expect entry 1 of turn 2", "did you mean 'quickReplies'?")


def test_unknown_turn_key_suggests_expect() -> None:
    """`expext` on a turn is one error (no second 'no action' error) pointing at the key."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expext: [{text: Hello}]
        """
    ) == (3, 5, "unknown key 'expext' in turn 1", "did you mean 'expect'?")


def test_misspelt_action_is_reported_once() -> None:
    """A turn whose only action is misspelt gets the did-you-mean, not also a 'has no action' error."""
    assert only_problem(
        """\
        steps:
          - sya: hi
        """
    ) == (2, 5, "unknown key 'sya' in turn 1", "did you mean 'say'?")


def test_turn_option_written_inside_an_entry_says_where_it_goes() -> None:
    """`extra:` inside an expect entry says it is a turn option, not a misspelt entry key."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: hello
                extra: ignore
        """
    ) == (
        5,
        9,
        "unknown key 'extra' in expect entry 1 of turn 1",
        "'extra' is an option of the turn: write it beside expect, not inside an entry",
    )


def test_expectation_key_written_on_the_turn_hints_at_expect() -> None:
    """`text:` directly on a turn says that expectations go under `expect`."""
    line, column, message, hint = only_problem(
        """\
        steps:
          - say: hi
            text: Hello
        """
    )
    assert (line, column, message) == (3, 5, "unknown key 'text' in turn 1")
    assert hint is not None
    assert "expect" in hint


def test_unknown_key_in_a_nested_mapping_names_where() -> None:
    """An unknown key inside a card names the card, its entry and its turn."""
    assert only_problem(
        """\
        transport: rest
        steps:
          - say: menu
            expect:
              - card: {titel: Menu}
        """
    ) == (5, 16, "unknown key 'titel' in 'card' of expect entry 1 of turn 1", "did you mean 'title'?")


def test_two_actions_in_one_turn() -> None:
    """A turn with both `say` and `event` is reported at the second action."""
    assert only_problem(
        """\
        steps:
          - say: hi
          - say: hi
          - say: hello
            event: ORDER_SHIPPED
        """
    ) == (
        5,
        5,
        "turn 3 has both 'say' and 'event': a turn holds exactly one action",
        "split it into one turn per action",
    )


def test_turn_without_action() -> None:
    """A turn with only options and no action lists the actions it may hold."""
    line, column, message, _ = only_problem(
        """\
        steps:
          - timeout: 3
            expect: none
        """
    )
    assert (line, column) == (2, 5)
    assert message == (
        "turn 1 has no action: a turn holds exactly one of say, event, location, media, pause, resume, "
        "handover, wait, include"
    )


def test_say_must_be_a_string_with_a_quote_hint() -> None:
    """`say: 12` is a number: the error says so at the value and suggests quoting it."""
    assert only_problem(
        """\
        steps:
          - say: 12
        """
    ) == (2, 10, "'say' must be a string, got 12", 'quote it: say: "12"')


def test_say_true_is_a_boolean() -> None:
    """`say: true` is a YAML boolean, reported in YAML words."""
    assert (
        only_problem(
            """\
        steps:
          - say: true
        """
        )[2]
        == "'say' must be a string, got true"
    )


def test_timeout_must_be_seconds() -> None:
    """A timeout that is not a positive number is worded in seconds."""
    assert only_problem(
        """\
        timeout: ten
        steps:
          - say: hi
        """
    ) == (1, 10, "'timeout' must be a number of seconds > 0, got 'ten'", None)


def test_patience_must_be_seconds() -> None:
    """A patience of 0 is refused like a timeout of 0: a bot needs some moment to go on typing."""
    assert (
        only_problem(
            """\
        steps:
          - say: hi
            patience: 0
        """
        )[2]
        == "'patience' must be a number of seconds > 0, got 0"
    )


def test_negative_wait_is_rejected() -> None:
    """`wait: -1` is not a number of seconds > 0."""
    assert only_problem(
        """\
        steps:
          - wait: -1
        """
    )[:3] == (2, 11, "'wait' must be a number of seconds > 0, got -1")


def test_enum_value_suggests_the_closest() -> None:
    """A misspelt transport lists the allowed values and suggests one."""
    assert only_problem(
        """\
        transport: sockte
        steps:
          - say: hi
        """
    ) == (
        1,
        12,
        "'transport' must be one of socket, rest, webhook, messaging, got 'sockte'",
        "did you mean 'socket'?",
    )


def test_text_mapping_needs_exactly_one_matcher() -> None:
    """A text mapping with two matchers names them, at the second one."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {equals: Hi, contains: H}
        """
    )[:3] == (
        4,
        28,
        "text: a mapping needs exactly one of equals, contains, regex, one_of, not, similar, all_of, "
        "any_of, got 'equals' and 'contains'",
    )


def test_text_mapping_with_only_icase() -> None:
    """`{icase: true}` alone is not a text matcher."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {icase: true}
        """
    )[:3] == (
        4,
        15,
        "text: a mapping needs exactly one of equals, contains, regex, one_of, not, similar, all_of, any_of",
    )


def test_text_of_a_wrong_type() -> None:
    """`text: 12` says what a text expectation may be."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: 12
        """
    )[:3] == (
        4,
        15,
        "'text' must be a string (exact match) or a mapping with one of equals, contains, regex, "
        "one_of, not, similar, all_of, any_of, got 12",
    )


def test_wrong_value_inside_a_union_is_reported_where_it_is() -> None:
    """Inside `text: {...}` a bad `one_of` item is reported at the item, not as a vague union error."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {one_of: [Hi, 3]}
        """
    )[:3] == (4, 29, "item 2 of 'one_of' must be a string, got 3")


def test_handover_false() -> None:
    """`handover: false` says what handover accepts."""
    assert only_problem(
        """\
        steps:
          - handover: false
        """
    )[:3] == (2, 15, "'handover' must be true or {secondsToPause: N}, got false")


def test_expect_must_be_a_list_or_none() -> None:
    """`expect: nothing` is neither a list of entries nor none."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect: nothing
        """
    )[:3] == (3, 13, "'expect' must be a list of expectation entries, or none, got 'nothing'")


def test_empty_expect_suggests_none() -> None:
    """`expect: []` is an error that points to `expect: none`."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect: []
        """
    ) == (3, 13, "'expect' must not be empty", "for a silent bot write expect: none")


def test_missing_required_key() -> None:
    """A media turn without url names the missing key."""
    assert only_problem(
        """\
        transport: rest
        steps:
          - media: {mediaType: image}
        """
    )[:3] == (3, 12, "missing key 'url' in 'media' of turn 1")


def test_no_steps() -> None:
    """A spec without steps is an error saying a conversation needs turns."""
    line, column, message, hint = only_problem(
        """\
        name: empty
        """
    )
    assert (line, column, message) == (1, 1, "the spec has no 'steps'")
    assert hint is not None


def test_empty_steps() -> None:
    """`steps: []` is an error at the list."""
    assert only_problem(
        """\
        name: empty
        steps: []
        """
    )[:3] == (2, 8, "'steps' must not be empty")


def test_invalid_variable_name() -> None:
    """A vars key that is not an identifier is reported at the key."""
    assert only_problem(
        """\
        vars:
          city: Amsterdam
          order-id: 42
        steps:
          - say: hi
        """
    )[:3] == (3, 3, "'order-id' is not a valid variable name in 'vars'")


def test_bad_regex() -> None:
    """A regex that does not compile is reported at the regex's line and column."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {regex: "Order (\\\\d+"}
        """
    )[:3] == (4, 23, "invalid regex 'Order (\\\\d+': missing ), unterminated subpattern at position 6")


def test_regex_with_placeholder_is_checked_with_a_stand_in() -> None:
    """A regex with a `{var}` placeholder is still compiled at load (the placeholder as a literal)."""
    assert only_problem(
        """\
        vars: {name: Bob}
        steps:
          - say: hi
            expect:
              - text: {regex: "Hi {name}["}
        """
    )[:2] == (5, 23)


def test_regex_inside_not_is_checked() -> None:
    """A bad regex under `not` is reported too."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {not: {regex: "a)"}}
        """
    )[:2] == (4, 29)


def test_undefined_variable_names_the_turn() -> None:
    """A variable that nothing earlier defines is reported at its turn, naming the turn."""
    line, column, message, hint = only_problem(
        """\
        vars: {city: Amsterdam}
        steps:
          - say: weather in {city}
          - say: status of {order}
            expect:
              - text: {regex: "Order (?P<order>\\\\d+)"}
        """
    )
    assert (line, column, message) == (4, 5, "undefined variable 'order' in turn 2")
    assert hint is not None
    assert "save" in hint


def test_undefined_variable_suggests_a_defined_one() -> None:
    """A misspelt variable suggests the defined name closest to it."""
    assert only_problem(
        """\
        vars: {city: Amsterdam}
        steps:
          - say: weather in {cty}
        """
    )[2:] == ("undefined variable 'cty' in turn 1", "did you mean 'city'?")


def test_env_placeholders_are_not_checked_at_load() -> None:
    """`{env.NAME}` is left for run time, even when the variable is not set now."""
    spec = load_spec_text("steps:\n  - say: 'key {env.FLOWAI_SURELY_UNSET_VAR}'\n", PATH)
    assert spec.conversations[0].turns[0].variables == frozenset({"env.FLOWAI_SURELY_UNSET_VAR"})


def test_location_needs_rest_transport() -> None:
    """A location turn in a socket spec (the default transport) is reported at the action key."""
    assert only_problem(
        """\
        steps:
          - say: where?
          - location: {lat: 52.37, long: 4.89}
        """
    )[:3] == (
        3,
        5,
        "location turns need transport: rest, webhook or messaging (the Web socket API carries text and"
        " events only)",
    )


def test_media_with_explicit_socket_transport() -> None:
    """A media turn with `transport: socket` is reported the same way."""
    assert (
        only_problem(
            """\
        transport: socket
        steps:
          - media: {mediaType: image, url: "https://example.org/a.png"}
        """
        )[2]
        == "media turns need transport: rest, webhook or messaging (the Web socket API carries text and"
        " events only)"
    )


@pytest.mark.parametrize("transport", ["webhook", "messaging"])
def test_asynchronous_transports_carry_location_turns(transport: str) -> None:
    """`transport: webhook` and `transport: messaging` are accepted, and carry location turns."""
    spec = load_spec_text(
        f"transport: {transport}\nsteps:\n  - location: {{lat: '1', long: '2'}}\n", "t.flowai.yaml"
    )
    assert spec.conversations[0].transport == transport


def test_params_on_a_say_turn() -> None:
    """`params` belongs to event turns; elsewhere it points to metadata.params."""
    line, column, message, hint = only_problem(
        """\
        steps:
          - say: hi
            params: {a: "1"}
        """
    )
    assert (line, column, message) == (3, 5, "'params' belongs to an event turn, not a say turn")
    assert hint is not None
    assert "metadata" in hint


def test_invalid_inline_schema() -> None:
    """An expect `schema` that is not a JSON Schema is reported at its line."""
    line, column, message, _ = only_problem(
        """\
        steps:
          - say: hi
            expect:
              - schema: {type: strnig}
        """
    )
    assert (line, column) == (4, 17)
    assert message.startswith("'schema' is not a valid JSON Schema at type: ")


def test_reserved_variable_name_env() -> None:
    """`env` cannot be a variable: `{env.NAME}` reads the environment."""
    assert only_problem(
        """\
        vars: {env: prod}
        steps:
          - say: hi
        """
    )[:2] == (1, 8)


def test_duplicate_keys() -> None:
    """A key given twice in one mapping is an error at the second, naming the first line."""
    assert only_problem(
        """\
        steps:
          - say: hi
            timeout: 3
            timeout: 4
        """
    )[:3] == (4, 5, "duplicate key 'timeout' (first given at line 3)")


def test_merge_keys_may_be_overridden() -> None:
    """A key overriding one merged in with `<<` is not a duplicate."""
    spec = load_spec_text(
        textwrap.dedent(
            """\
            steps:
              - &greet {say: hi, timeout: 3}
              - <<: *greet
                timeout: 4
            """
        ),
        PATH,
    )
    assert spec.conversations[0].turns[1].timeout == 4.0


def test_non_string_key() -> None:
    """A YAML key that is not a string (here a boolean) is reported at the key."""
    assert only_problem(
        """\
        steps:
          - say: hi
            true: 1
        """
    )[:3] == (3, 5, "keys must be strings, got true")


def test_duplicate_conversation_names() -> None:
    """Two documents with one name: an error at the second name."""
    assert only_problem(
        """\
        name: greeting
        steps:
          - say: hi
        ---
        name: greeting
        steps:
          - say: hello
        """
    )[:3] == (5, 7, "duplicate conversation name 'greeting' (first at line 1)")


def test_document_that_is_not_a_mapping() -> None:
    """A document holding a list is reported at its start."""
    assert only_problem(
        """\
        - say: hi
        """
    )[:3] == (1, 1, "a spec document must be a mapping, got a list")


def test_file_without_documents() -> None:
    """A file with only comments holds no conversation: an error, not an empty test file."""
    assert only_problem("# nothing yet\n")[:3] == (1, 1, "the file holds no conversation")


def test_yaml_syntax_error_gives_pyyaml_position() -> None:
    """Broken YAML raises SpecSyntaxError at pyyaml's line and column with its problem text."""
    with pytest.raises(SpecSyntaxError) as info:
        load_spec_text("steps:\n  - say: hi: there\n", PATH)
    error = info.value
    assert error.span is not None
    assert (error.span.line, error.span.column) == (2, 12)
    # libyaml says "... allowed in this context", pure-Python pyyaml "... allowed here".
    assert str(error).startswith(f"{PATH}:2:12: invalid YAML: mapping values are not allowed")


def test_unclosed_quote_is_a_syntax_error() -> None:
    """An unterminated quoted string is a syntax error, not a traceback."""
    with pytest.raises(SpecSyntaxError) as info:
        load_spec_text('steps:\n  - say: "hi\n', PATH)
    assert "end of stream" in info.value.message


def test_python_tags_are_rejected() -> None:
    """A pyyaml Python tag is refused (safe loading), reported where it is written."""
    with pytest.raises(SpecSyntaxError) as info:
        load_spec_text("steps:\n  - say: !!python/object:os.system hi\n", PATH)
    assert info.value.span is not None
    assert info.value.span.line == 2


def test_every_problem_reported_together_sorted_by_line() -> None:
    """Grammar, rule and duplicate-key errors of several documents come in one error, sorted by line."""
    text = textwrap.dedent(
        """\
        name: one
        steps:
          - say: hi
            expext: []
          - say: 3
            timeout: 1
            timeout: 2
        ---
        name: two
        steps:
          - say: "{nope}"
        ---
        name: three
        transprt: rest
        steps: []
        """
    )
    with pytest.raises(SpecSchemaError) as info:
        load_spec_text(text, PATH)
    found = [(p.span.line if p.span else 0, p.message) for p in info.value.problems]
    assert found == [
        (4, "unknown key 'expext' in turn 1"),
        (5, "'say' must be a string, got 3"),
        (7, "duplicate key 'timeout' (first given at line 6)"),
        (11, "undefined variable 'nope' in turn 1"),
        (14, "unknown key 'transprt' in the spec"),
        (15, "'steps' must not be empty"),
    ]
    rendered = str(info.value).splitlines()
    assert rendered[0] == f"{PATH}:4:5: unknown key 'expext' in turn 1"
    assert rendered[1] == "  hint: did you mean 'expect'?"


def test_unreadable_file(tmp_path: pytest.TempPathFactory) -> None:
    """A missing file is a SpecSyntaxError naming the file, not an OSError traceback."""
    missing = f"{tmp_path}/test_missing.flowai.yaml"
    with pytest.raises(SpecSyntaxError) as info:
        load_spec(missing)
    assert info.value.span is not None
    assert info.value.span.path == missing


def test_file_that_is_not_utf8(tmp_path: pytest.TempPathFactory) -> None:
    """Bytes that are not UTF-8 give a SpecSyntaxError, not a UnicodeDecodeError."""
    path = f"{tmp_path}/test_latin.flowai.yaml"
    with open(path, "wb") as stream:
        stream.write(b"steps:\n  - say: caf\xe9\n")
    with pytest.raises(SpecSyntaxError, match="not UTF-8"):
        load_spec(path)


def test_recursive_alias_is_refused() -> None:
    """An alias inside the node it names is an error, not an endless walk."""
    with pytest.raises(SpecSyntaxError) as info:
        load_spec_text("vars: &v {a: *v}\nsteps:\n  - say: hi\n", PATH)
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (1, 7)
    assert "recursive alias" in info.value.message


def test_alias_bomb_is_refused() -> None:
    """Aliases that expand to millions of values are refused quickly instead of hanging collection."""
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 8)]
    with pytest.raises(SpecSyntaxError, match="expands to more than"):
        load_spec_text("\n".join(lines) + "\nsteps:\n  - say: hi\n", PATH)


def test_deep_nesting_is_refused() -> None:
    """YAML nested hundreds of levels deep is an error at the place it gets too deep."""
    with pytest.raises(SpecSyntaxError, match="nested more than"):
        load_spec_text("vars: {x: " + "[" * 300 + "]" * 300 + "}\nsteps:\n  - say: hi\n", PATH)


@pytest.mark.parametrize("number", [".nan", ".inf", "-.inf", "1e999"])
def test_non_finite_numbers_are_refused(number: str) -> None:
    """NaN and infinities are not JSON (and a NaN timeout never expires): refused at their place."""
    with pytest.raises(SpecSyntaxError, match="not a finite number") as info:
        load_spec_text(f"timeout: {number}\nsteps:\n  - say: hi\n", PATH)
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (1, 10)


def test_turn_that_is_not_a_mapping() -> None:
    """A turn written as a bare string gets one clear type error."""
    assert only_problem(
        """\
        steps:
          - hello
        """
    )[:3] == (2, 5, "turn 1 must be a mapping, got 'hello'")


def test_mark_name_must_start_with_a_letter() -> None:
    """pytest refuses mark names starting with '_', so the grammar does too, at the mark's line."""
    line, column, message, _ = only_problem(
        """\
        name: soda
        marks: [smoke, _private]
        steps:
          - say: hi
        """
    )
    assert (line, column) == (2, 16)
    expected = "item 2 of 'marks' must be a mark name (a letter, then letters, digits and _), got '_private'"
    assert message == expected


def test_mark_arguments_must_be_a_mapping_or_a_list() -> None:
    """A mark with arguments takes keyword arguments (a mapping) or positional ones (a list), not a scalar."""
    line, column, message, _ = only_problem(
        """\
        name: soda
        marks: [{flaky: 2}]
        steps:
          - say: hi
        """
    )
    assert (line, column) == (2, 17)
    assert message == (
        "'flaky' must be the mark's keyword arguments (a mapping) or positional arguments (a list), got 2"
    )


def test_mark_with_arguments_needs_a_valid_name() -> None:
    """The name of a mark with arguments follows the rule of plain mark names, at the key's place."""
    line, column, message, hint = only_problem(
        """\
        name: soda
        marks: [{_flaky: {reruns: 2}}]
        steps:
          - say: hi
        """
    )
    assert (line, column, message) == (2, 10, "'_flaky' is not a valid mark name in item 1 of 'marks'")
    assert hint == "a mark name is a letter, then letters, digits and _"


def test_tab_indentation_says_to_use_spaces() -> None:
    """A tab where YAML expects indentation is a syntax error at the tab, with a hint to use spaces."""
    with pytest.raises(SpecSyntaxError) as info:
        load_spec_text("steps:\n\t- say: hi\n", PATH)
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (2, 1)
    assert info.value.hint == "YAML indents with spaces only: replace the tab"


def test_number_quick_reply_labels_get_the_quote_hint() -> None:
    """`quickReplies: [5, 4]` are numbers in YAML; each is reported with the hint to quote it."""
    found = [
        (p.span.line if p.span else 0, p.span.column if p.span else 0, p.message, p.hint)
        for p in problems(
            """\
            name: rating
            steps:
              - say: thanks
                expect:
                  - quickReplies: [5, 4]
            """
        )
    ]
    label = "must be a label or a quick reply mapping"
    assert found == [
        (5, 24, f"item 1 of 'quickReplies' {label}, got 5", 'quote it: "5"'),
        (5, 27, f"item 2 of 'quickReplies' {label}, got 4", 'quote it: "4"'),
    ]
